import { rasterKind, type ImageKind } from './looks-like-image.js';

/**
 * Pictures that do not start where a body or a part starts: after padding, deep inside a binary
 * body, inside decoded base64 with junk in front. A server or a script may still find and serve
 * them (PHP's getimagesize does not, but `strpos($body, "\xFF\xD8")` does), so Veil looks for
 * them everywhere in what it refuses to pass on unchecked.
 *
 * Every candidate offset is confirmed by rasterKind plus, for JPEG, one well-formed segment after
 * the SOI, so random binary data (compressed video, encrypted blobs) almost never matches.
 */

export interface FoundSignature {
  kind: ImageKind;
  offset: number;
}

/** How far past a candidate offset the confirmation reads (rasterKind reads ftyp brands that far). */
const CONFIRM_BYTES = 4096;

/**
 * Byte patterns that can begin a picture rasterKind knows, and where the picture starts relative
 * to the pattern. JPEG XL's bare codestream (FF 0A) is too short to look for anywhere but at a start.
 */
const PATTERNS: { bytes: Buffer; back: number }[] = [
  [0xff, 0xd8, 0xff],
  [0x89, 0x50, 0x4e, 0x47],
  'GIF8',
  'RIFF',
  ['ftyp', 4],
  'II*\0',
  'MM\0*',
  'II+\0',
  'MM\0+',
  'IIRO',
  'IIRS',
  'MMOR',
  'IIU\0',
  'FUJIFILMCCD',
  ['JXL \r\n', 4],
  ['jP  \r\n', 4],
  [0xff, 0x4f, 0xff, 0x51],
  '8BPS',
].map((p) => {
  if (Array.isArray(p) && typeof p[0] === 'string') return { bytes: Buffer.from(p[0], 'latin1'), back: p[1] as number };
  return { bytes: typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p as number[]), back: 0 };
});

/**
 * The first confirmed picture signature at or after `from`, if any. `ours`: pictures Veil itself
 * sanitised into these bytes, skipped wherever one appears whole (in whatever spelling the
 * caller decoded).
 */
export function findPictureSignature(bytes: Uint8Array, from = 0, ours: readonly Uint8Array[] = []): FoundSignature | undefined {
  for (let at = from; ; ) {
    const hit = firstSignature(bytes, at);
    if (!hit) return undefined;
    const own = ours.find((picture) => startsWithBytes(bytes, hit.offset, picture));
    if (!own) return hit;
    at = hit.offset + own.byteLength;
  }
}

function startsWithBytes(bytes: Uint8Array, offset: number, picture: Uint8Array): boolean {
  if (offset + picture.byteLength > bytes.byteLength) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, picture.byteLength).equals(picture);
}

function firstSignature(bytes: Uint8Array, from: number): FoundSignature | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let best: FoundSignature | undefined;
  for (const pattern of PATTERNS) {
    let at = buf.indexOf(pattern.bytes, from + pattern.back);
    while (at !== -1 && (!best || at - pattern.back < best.offset)) {
      const start = at - pattern.back;
      if (start >= from) {
        const window = buf.subarray(start, start + CONFIRM_BYTES);
        const kind = rasterKind(window);
        if (kind && confirmed(kind, window)) {
          best = { kind, offset: start };
          break;
        }
      }
      at = buf.indexOf(pattern.bytes, at + 1);
    }
  }
  return best;
}

function confirmed(kind: ImageKind, b: Uint8Array): boolean {
  if (kind === 'jpeg') return jpegSegmentOk(b);
  // "BM" and ICO headers are short and weak; they only count at the start of a body or part.
  if (kind === 'bmp' || kind === 'ico') return false;
  if (kind === 'png') return true;
  // "GIF89a" or "IIRS" in a sentence is not a picture: a real header goes on in binary (sizes,
  // offsets, flags) within a few bytes of its signature.
  return Array.from(b.subarray(4, 24)).some((byte) => (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte > 0x7e);
}

/** SOI, then a marker with a length whose segment ends where another marker begins (or the window ends). */
function jpegSegmentOk(b: Uint8Array): boolean {
  const marker = b[3]!;
  if (marker < 0xc0 || marker === 0xd8 || marker === 0xff) return false;
  if (b.length < 6) return true;
  const length = (b[4]! << 8) | b[5]!;
  if (length < 2) return false;
  const next = 4 + length;
  return next >= b.length || b[next] === 0xff;
}

/** Markers a JPEG's segments start with (after the SOI), and the length-less ones. */
const JPEG_SEGMENT_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xda, 0xdb, 0xdd, 0xfe]);

/**
 * A body that begins inside a picture: a JPEG segment with its SOI cut off (the second chunk of a
 * split upload), a bare SOI too short to sniff, an EXIF block, or an entropy-coded tail that ends
 * with EOI. Such bytes are part of somebody's photo and go no further on their own.
 */
export function startsInsidePicture(b: Uint8Array, complete: boolean): boolean {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xd8) return true;
  if (b.length === 1 && b[0] === 0xff && complete) return true;
  if (b.length >= 4 && b[0] === 0xff && ((b[1]! >= 0xe0 && b[1]! <= 0xef) || JPEG_SEGMENT_MARKERS.has(b[1]!))) {
    const length = (b[2]! << 8) | b[3]!;
    if (length >= 2 && (4 + length - 2 >= b.length || b[2 + length] === 0xff)) return true;
  }
  if (ascii(b, 0, 6) === 'Exif\0\0') return true;
  return false;
}

/** A binary tail of a JPEG: the last bytes are EOI. Judged on the whole body. */
export function endsLikeJpegTail(b: Uint8Array): boolean {
  return b.length >= 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
}

function ascii(b: Uint8Array, offset: number, length: number): string {
  if (b.length < offset + length) return '';
  return String.fromCharCode(...b.subarray(offset, offset + length));
}
