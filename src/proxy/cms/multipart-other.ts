import { VeilError } from '../../pipeline/errors.js';
import { ImageStartGuard } from '../inspect/image-start-guard.js';
import { imageKind } from '../inspect/looks-like-image.js';
import { basicAuthUser, genericAnswer } from './answers.js';
import type { CmsAdapter } from './types.js';

/*
 * multipart/related, /mixed and other multipart bodies that are not forms (some APIs upload a
 * file with its JSON description this way). Veil does not rebuild them, and a raw-body sniff
 * would see only the first boundary: so the body is read whole and refused if any part is a
 * picture (binary, as the multipart form guard sees them, or base64); without one it goes on
 * unchanged.
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

/** Refused when any part's content (what follows a blank line) starts a picture, raw or in base64. */
function refuseImageParts(body: Uint8Array): VeilError | undefined {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const guard = new ImageStartGuard();
  guard.push(bytes);
  guard.end();
  if (guard.found) return refusal();
  // The guard knows raw signatures; a part may also carry its picture base64-encoded
  // (Content-Transfer-Encoding: base64), as mail-style multipart does.
  for (const blank of bytes.toString('latin1').matchAll(/\n\r?\n/g)) {
    if (startsBase64Picture(bytes, blank.index + blank[0].length)) return refusal();
  }
  return undefined;
}

function startsBase64Picture(body: Buffer, from: number): boolean {
  const text = body.subarray(from, from + 6000).toString('latin1');
  const base64 = /^[A-Za-z0-9+/=\s]+/.exec(text)?.[0].replace(/\s+/g, '') ?? '';
  return base64.length >= 16 && imageKind(Buffer.from(base64.slice(0, base64.length - (base64.length % 4)), 'base64')) !== undefined;
}

function refusal(): VeilError {
  return new VeilError('UNSUPPORTED_FORMAT', "Pictures cannot be sent this way (a multipart body that is not a form) through Veil, because it cannot rebuild such requests. Please upload them in the website's media library.");
}
