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
  if (Buffer.from(bytes.buffer, bytes.byteOffset + offset, picture.byteLength).equals(picture)) return true;
  // A form field percent-decoded with "+" kept (as callers do, to find more) shows a space as "+".
  for (let i = 0; i < picture.byteLength; i++) {
    const seen = bytes[offset + i]!;
    if (seen !== picture[i] && !(picture[i] === 0x20 && seen === 0x2b)) return false;
  }
  return true;
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
        // JPEG's segment chain may reach past the window: it is followed in all the bytes there are.
        if (kind && confirmed(kind, kind === 'jpeg' ? buf.subarray(start) : window)) {
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
  // Short magic numbers (TIFF's "II*\0", raw formats', JPEG 2000's codestream) need a plausible
  // header behind them before a match in the middle of other data counts.
  if (kind === 'tiff' || kind === 'camera-raw') return tiffOffsetOk(b);
  if (kind === 'jp2' && b[0] === 0xff) return b[4] === 0x00 && b[5]! >= 0x29;
  // "GIF89a" or "IIRS" in a sentence is not a picture: a real header goes on in binary (sizes,
  // offsets, flags) within a few bytes of its signature.
  return Array.from(b.subarray(4, 24)).some((byte) => (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte > 0x7e);
}

/** The first IFD's offset: inside the file, and small (cameras put it at 8 or just after). */
function tiffOffsetOk(b: Uint8Array): boolean {
  if (b.length < 8) return true;
  if (b[0] === 0x46) return true; // FUJIFILMCCD-RAW spells itself out in full
  const little = b[0] === 0x49;
  const offset = little ? b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24) : (b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!;
  return offset >= 8 && offset < 1 << 20;
}

/** What a JPEG's first segment after the SOI is in practice: APPn, DQT, DHT, SOF0-2, COM. */
const FIRST_SEGMENTS = new Set([0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xdb, 0xc4, 0xc0, 0xc1, 0xc2, 0xfe]);

/**
 * SOI, a usual first segment, and its length leading to the next marker, whose length leads to a
 * third (as far as the window reaches). Random data passes this about once in 2^47 positions, so a
 * gigabyte of video does not look like a photo.
 */
function jpegSegmentOk(b: Uint8Array): boolean {
  if (!FIRST_SEGMENTS.has(b[3]!)) return false;
  let at = 2;
  for (let links = 0; links < 2; links++) {
    if (at + 4 > b.length) return true;
    const length = (b[at + 2]! << 8) | b[at + 3]!;
    if (length < 2) return false;
    const next = at + 2 + length;
    if (next + 1 >= b.length) return true;
    const marker = b[next + 1]!;
    if (b[next] !== 0xff || marker < 0xc0 || marker === 0xd8 || marker === 0xff) return false;
    // Entropy-coded data follows SOS: nothing more to chain.
    if (marker === 0xda) return true;
    at = next;
  }
  return true;
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
  // A PNG without its signature (its chunks from IHDR or IDAT on), a WebP without its RIFF header.
  if (b.length >= 8 && PNG_CHUNKS.has(ascii(b, 4, 4))) return true;
  if (ascii(b, 0, 4) === 'WEBP' || /^VP8[ LX]$/.test(ascii(b, 0, 4))) return true;
  return false;
}

const PNG_CHUNKS = new Set(['IHDR', 'IDAT', 'IEND', 'PLTE', 'tEXt', 'zTXt', 'iTXt', 'eXIf', 'iCCP', 'acTL', 'fcTL', 'fdAT', 'pHYs', 'tIME']);

/**
 * JPEG entropy-coded data (a picture from its scan on, the tail of a split upload): every 0xFF in
 * it is followed by a stuffed 0x00 or a restart marker, where in other binary data that is rare.
 * Judged on a whole body.
 */
export function looksLikeJpegScan(b: Uint8Array): boolean {
  let ffs = 0;
  let stuffed = 0;
  for (let at = b.indexOf(0xff); at !== -1 && at + 1 < b.length; at = b.indexOf(0xff, at + 1)) {
    ffs++;
    const next = b[at + 1]!;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xd9) stuffed++;
  }
  return ffs >= 16 && stuffed / ffs >= 0.9;
}

/** The end of a JPEG without its start: its scan data, or a body ending in EOI. Judged on a whole body. */
export function isPictureTail(b: Uint8Array): boolean {
  return endsLikeJpegTail(b) || looksLikeJpegScan(b);
}

/** A binary tail of a JPEG: the last bytes are EOI. Judged on the whole body. */
export function endsLikeJpegTail(b: Uint8Array): boolean {
  return b.length >= 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
}

function ascii(b: Uint8Array, offset: number, length: number): string {
  if (b.length < offset + length) return '';
  return String.fromCharCode(...b.subarray(offset, offset + length));
}
