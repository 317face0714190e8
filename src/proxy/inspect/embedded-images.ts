/**
 * Pictures carried as text inside a request body: `data:` URIs (an image pasted into a rich-text
 * editor is saved that way, original bytes, GPS and all) and bare base64 strings in JSON (APIs
 * that take a file as a JSON field). Found in the raw bytes and replaced in place, so everything
 * around them reaches the CMS byte for byte, whatever the body's format.
 *
 * Three spellings are recognised, each rewritten in its own spelling:
 * - plain: `data:image/jpeg;base64,/9j/...` (HTML, XML, JSON from browsers);
 * - JSON-escaped: `data:image\/jpeg;base64,\/9j\/...` (PHP's json_encode escapes every "/");
 * - percent-encoded: `data%3Aimage%2Fjpeg%3Bbase64%2C%2F9j%2F...` (HTML forms).
 * Whether a match is a picture is decided by its decoded bytes, never by the declared type.
 */
import { imageKind } from './looks-like-image.js';

export type Spelling = 'plain' | 'json' | 'percent';

export interface EmbeddedImage {
  /** Byte range of the whole match in the body (for a bare JSON string: inside the quotes). */
  start: number;
  end: number;
  spelling: Spelling;
  /** Whether it is a `data:` URI (rewritten with the new type) or bare base64. */
  dataUri: boolean;
  bytes: Uint8Array;
}

/** Shorter base64 runs are not looked at: a picture with any metadata worth hiding is longer. */
const MIN_BASE64_CHARS = 64;

// Linear patterns (no nested ambiguity), so a hostile body cannot make them backtrack.
// Case-insensitive, any parameters (`;name=a.jpg`), no type at all (`data:;base64,`), and spaces
// after the comma, as browsers and PHP accept them.
const PLAIN_OR_JSON_URI = /data:(?:[\w.+-]+(?:\\?\/)[\w.+-]+)?(?:;[\w.+-]+=[^;,\s"'<>\\]*)*;base64,[ \t]*((?:[A-Za-z0-9+=]|\\?\/)+)/gi;
const PERCENT_URI = /data%3A(?:[\w.-]+%2F[\w.-]+)?(?:%3B[\w.-]+%3D(?:[\w.-]|%(?!3B|2C)[0-9A-F]{2})*)*%3Bbase64%2C(?:\+|%20)*((?:[A-Za-z0-9]|%2B|%2F|%3D|\+)+)/gi;
const JSON_STRING_BASE64 = new RegExp(`"((?:[A-Za-z0-9+=]|\\\\?/){${MIN_BASE64_CHARS},})"`, 'g');

/** Every picture in the body, in order, none overlapping another. */
export function findEmbeddedImages(body: Uint8Array): EmbeddedImage[] {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  const found: EmbeddedImage[] = [];
  const taken = (start: number, end: number) => found.some((f) => start < f.end && end > f.start);
  const consider = (start: number, end: number, spelling: Spelling, dataUri: boolean, base64: string) => {
    if (base64.length < MIN_BASE64_CHARS || taken(start, end)) return;
    const bytes = Buffer.from(unspell(base64, spelling), 'base64');
    if (imageKind(bytes.subarray(0, 4096))) found.push({ start, end, spelling, dataUri, bytes });
  };
  for (const m of text.matchAll(PLAIN_OR_JSON_URI)) {
    consider(m.index, m.index + m[0].length, m[0].includes('\\/') ? 'json' : 'plain', true, m[1]!);
  }
  for (const m of text.matchAll(PERCENT_URI)) consider(m.index, m.index + m[0].length, 'percent', true, m[1]!);
  for (const m of text.matchAll(JSON_STRING_BASE64)) {
    const start = m.index + 1;
    consider(start, start + m[1]!.length, m[1]!.includes('\\/') ? 'json' : 'plain', false, m[1]!);
  }
  return found.sort((a, b) => a.start - b.start);
}

/** The body with each picture replaced, in order, by the given bytes and type, spelled as before. */
export function replaceEmbeddedImages(body: Uint8Array, images: EmbeddedImage[], replacements: { bytes: Uint8Array; contentType: string }[]): Uint8Array {
  const pieces: Buffer[] = [];
  let at = 0;
  images.forEach((image, i) => {
    const { bytes, contentType } = replacements[i]!;
    const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    const mime = contentType.split(';', 1)[0]!.trim();
    const text = image.dataUri ? `data:${mime};base64,${base64}` : base64;
    pieces.push(Buffer.from(body.subarray(at, image.start)), Buffer.from(spell(text, image.spelling), 'latin1'));
    at = image.end;
  });
  pieces.push(Buffer.from(body.subarray(at)));
  return new Uint8Array(Buffer.concat(pieces));
}

function unspell(base64: string, spelling: Spelling): string {
  if (spelling === 'json') return base64.replace(/\\\//g, '/');
  // In a form, "+" is an encoded space, which base64 decoders skip (as PHP's does).
  if (spelling === 'percent') return base64.replace(/\+/g, '').replace(/%2B/gi, '+').replace(/%2F/gi, '/').replace(/%3D/gi, '=');
  return base64;
}

function spell(text: string, spelling: Spelling): string {
  if (spelling === 'json') return text.replace(/\//g, '\\/');
  if (spelling === 'percent') return text.replace(/[:/;,+=]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return text;
}
