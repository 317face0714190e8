import { basicAuthUser, genericAnswer } from './answers.js';
import type { CmsAdapter } from './types.js';

/*
 * Any JSON, form-encoded, XML or text body not claimed by a CMS-specific adapter. Its bytes decide
 * what happens (intercept.ts): text is read whole and every picture inside it, as a `data:` URI or
 * base64 in any spelling, is sanitised in place or the body refused (src/proxy/inspect/text-pass.ts).
 * This is where an image pasted into a rich-text editor goes when the editor is not set up to
 * upload it (TinyMCE with paste_data_images, for one). This adapter only names the door for the
 * logs and answers in plain text or JSON; the raw-body adapter would treat the body the same way.
 */
const TEXT_BODY = /^\s*(?:application\/(?:[\w.+-]*\+)?json|application\/x-www-form-urlencoded|application\/(?:[\w.+-]*\+)?xml|text\/[\w.+-]+)\s*(?:;|$)/i;

export const textBodyAdapter: CmsAdapter = {
  name: 'text-body',
  match(req) {
    if (!TEXT_BODY.test(req.headers.get('content-type') ?? '')) return undefined;
    return { body: 'raw', user: basicAuthUser(req.headers), respond: genericAnswer };
  },
};
