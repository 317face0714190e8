import { findEmbeddedImages, replaceEmbeddedImages } from '../inspect/embedded-images.js';
import { basicAuthUser, genericAnswer } from './answers.js';
import type { CmsAdapter, EmbeddedFiles } from './types.js';

/*
 * Any JSON, form-encoded, XML or text body not claimed by a CMS-specific adapter: pictures inside
 * it as `data:` URIs or base64 JSON strings are sanitised in place (src/proxy/inspect/embedded-images.ts).
 * This is where an image pasted into a rich-text editor goes when the editor is not set up to
 * upload it (TinyMCE with paste_data_images, for one): a data: URI inside the article's HTML, in
 * an ordinary form post or JSON save, with the camera's metadata. Such bodies are read whole
 * before they are forwarded (byte for byte when there is no picture), up to 4/3 of the largest
 * picture Veil accepts; larger ones are refused rather than passed on unchecked.
 */
const TEXT_BODY = /^\s*(?:application\/(?:[\w.+-]*\+)?json|application\/x-www-form-urlencoded|application\/(?:[\w.+-]*\+)?xml|text\/[\w.+-]+)\s*(?:;|$)/i;

export const textBodyAdapter: CmsAdapter = {
  name: 'text-body',
  match(req) {
    if (!TEXT_BODY.test(req.headers.get('content-type') ?? '')) return undefined;
    return { body: 'embedded', embedded: picturesInText, user: basicAuthUser(req.headers), respond: genericAnswer };
  },
};

function picturesInText(body: Uint8Array): EmbeddedFiles {
  const found = findEmbeddedImages(body);
  return {
    images: found.map((image) => ({ bytes: image.bytes })),
    rebuild: (sanitised) => ({ body: replaceEmbeddedImages(body, found, sanitised) }),
  };
}
