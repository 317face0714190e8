import { VeilError } from '../../pipeline/errors.js';
import { imageKind } from '../looks-like-image.js';
import { basicAuthUser, genericAnswer } from './answers.js';
import type { CmsAdapter } from './types.js';

/*
 * multipart/related, /mixed and other multipart bodies that are not forms (some APIs upload a
 * file with its JSON description this way). Veil does not rebuild them, and a raw-body sniff
 * would see only the first boundary: so the body is read whole and refused if any part is a
 * picture; without one it goes on unchanged.
 */
const OTHER_MULTIPART = /^\s*multipart\/(?!form-data\s*(?:;|$))[\w.+-]+/i;

export const multipartOtherAdapter: CmsAdapter = {
  name: 'multipart-other',
  match(req) {
    const type = req.headers.get('content-type') ?? '';
    if (!OTHER_MULTIPART.test(type)) return undefined;
    return { body: 'inspect', inspect: refuseImageParts, user: basicAuthUser(req.headers), respond: genericAnswer };
  },
};

/** Looks at the start of every part's content (after each blank line ending a header block). */
function refuseImageParts(body: Uint8Array): VeilError | undefined {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  for (let at = text.indexOf('\r\n\r\n'); at !== -1; at = text.indexOf('\r\n\r\n', at + 4)) {
    if (startsPicture(body, at + 4)) return refusal();
  }
  // Bare-LF bodies, which some parsers accept.
  for (let at = text.indexOf('\n\n'); at !== -1; at = text.indexOf('\n\n', at + 2)) {
    if (startsPicture(body, at + 2)) return refusal();
  }
  return undefined;
}

/** Raw bytes, or base64 text (Content-Transfer-Encoding: base64), that begin a picture. */
function startsPicture(body: Uint8Array, from: number): boolean {
  const head = body.subarray(from, from + 4096);
  if (imageKind(head) !== undefined) return true;
  const text = Buffer.from(body.subarray(from, from + 6000)).toString('latin1');
  const base64 = /^[A-Za-z0-9+/=\s]+/.exec(text)?.[0].replace(/\s+/g, '') ?? '';
  return base64.length >= 16 && imageKind(Buffer.from(base64.slice(0, base64.length - (base64.length % 4)), 'base64')) !== undefined;
}

function refusal(): VeilError {
  return new VeilError('UNSUPPORTED_FORMAT', "Pictures cannot be sent this way (a multipart body that is not a form) through Veil, because it cannot rebuild such requests. Please upload them in the website's media library.");
}
