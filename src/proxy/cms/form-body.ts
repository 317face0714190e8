import { VeilError } from '../../pipeline/errors.js';
import { findEmbeddedImages, replaceEmbeddedImages, type EmbeddedImage } from '../inspect/embedded-images.js';
import { imageKind } from '../inspect/looks-like-image.js';
import type { EmbeddedFiles } from './types.js';

/*
 * Pictures inside an application/x-www-form-urlencoded body, looked for in each field's value
 * as PHP decodes it into $_POST (`+` a space, `%XX` a byte), so a `data:` picture in a pasted
 * post (WordPress's heartbeat autosave), in JSON inside a field (page builders such as
 * Elementor save `actions` that way) or percent-encoded twice is found whatever its spelling, and
 * a field whose decoded bytes are themselves a picture (a script posting the file percent-encoded)
 * is sanitised whole.
 * A changed field is written back percent-encoded; every other byte of the body stays as it came.
 */

interface Field {
  /** Where the value starts and ends in the body (after the "="). */
  start: number;
  end: number;
  value: Uint8Array;
  /** Pictures inside the value, or `whole` when the value itself is one. */
  found: EmbeddedImage[] | 'whole';
}

export function picturesInForm(body: Uint8Array): EmbeddedFiles {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  const fields: Field[] = [];
  let at = 0;
  for (const pair of text.split('&')) {
    const start = at;
    at += pair.length + 1;
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    if (findEmbeddedImages(formDecode(rawName)).length > 0) throw new VeilError('BAD_REQUEST', 'Veil could not read this form: a picture is hidden in a field name.');
    if (eq === -1) continue;
    const value = formDecode(pair.slice(eq + 1));
    if (imageKind(value.subarray(0, 4096))) {
      fields.push({ start: start + eq + 1, end: start + pair.length, value, found: 'whole' });
      continue;
    }
    const found = findEmbeddedImages(value);
    // A picture Veil sees in the encoded value but not in the decoded one is spelled in a way
    // it cannot put back: refused rather than forwarded.
    if (found.length === 0 && findEmbeddedImages(body.subarray(start + eq + 1, start + pair.length)).length > 0) {
      throw new VeilError('BAD_REQUEST', 'Veil could not read a picture in this form with confidence, so it was not sent to the website.');
    }
    if (found.some((image) => continuesAfterSpace(value, image.end))) {
      throw new VeilError('BAD_REQUEST', 'Veil could not read a picture in this form with confidence (its text is broken by spaces), so it was not sent to the website.');
    }
    if (found.length > 0) fields.push({ start: start + eq + 1, end: start + pair.length, value, found });
  }
  return {
    images: fields.flatMap((field) => (field.found === 'whole' ? [{ bytes: field.value }] : field.found.map((image) => ({ bytes: image.bytes })))),
    rebuild(sanitised) {
      const pieces: Buffer[] = [];
      let next = 0;
      let from = 0;
      for (const field of fields) {
        const count = field.found === 'whole' ? 1 : field.found.length;
        const files = sanitised.slice(next, next + count);
        next += count;
        const replaced = field.found === 'whole' ? files[0]!.bytes : replaceEmbeddedImages(field.value, field.found, files);
        pieces.push(Buffer.from(body.subarray(from, field.start)), Buffer.from(formEncode(replaced), 'latin1'));
        from = field.end;
      }
      pieces.push(Buffer.from(body.subarray(from)));
      return { body: new Uint8Array(Buffer.concat(pieces)) };
    },
  };
}

/** Base64 that goes on after whitespace (an unencoded "+" a form turned into a space): part of the picture Veil did not see. */
function continuesAfterSpace(value: Uint8Array, end: number): boolean {
  let i = end;
  while (i < value.length && (value[i] === 0x20 || value[i] === 0x09 || value[i] === 0x0a || value[i] === 0x0d)) i++;
  return i > end && i < value.length && /[A-Za-z0-9+/]/.test(String.fromCharCode(value[i]!));
}

/** PHP's urldecode() on bytes: `+` a space, `%XX` (two hex digits) a byte, anything else as it is. */
export function formDecode(text: string): Uint8Array {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2b) out[n++] = 0x20;
    else if (ch === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = ch & 0xff;
  }
  return new Uint8Array(out.subarray(0, n));
}

/** As a browser encodes a form field (every byte but unreserved ones as %XX, space as "+"). */
function formEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x2a) out += String.fromCharCode(b);
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
