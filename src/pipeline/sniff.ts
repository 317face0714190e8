import { VeilError } from './errors.js';
import type { ImageFormat } from './types.js';

/**
 * What a file is, judged only by its bytes. A name or a declared Content-Type is whatever the
 * uploader (or an attacker) chose, so neither is ever consulted.
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat {
  const found = identify(bytes);
  if (found.kind === 'image') return found.format;
  if (bytes.length === 0) throw new VeilError('EMPTY_FILE', 'The file is empty.');
  throw new VeilError(
    'UNSUPPORTED_FORMAT',
    `This file is ${found.description}, which Veil does not publish. ` +
      'Accepted photo formats: JPEG, PNG, WebP, AVIF, HEIC/HEIF, GIF and TIFF.',
  );
}

/** A short human description of what the bytes look like, e.g. "a ZIP archive". */
export function describeBytes(bytes: Uint8Array): string {
  const found = identify(bytes);
  return found.kind === 'image' ? FORMAT_NAMES[found.format] : found.description;
}

export const FORMAT_NAMES: Record<ImageFormat, string> = {
  jpeg: 'a JPEG image',
  png: 'a PNG image',
  webp: 'a WebP image',
  avif: 'an AVIF image',
  heic: 'a HEIC/HEIF image',
  gif: 'a GIF image',
  tiff: 'a TIFF image',
};

type Identified = { kind: 'image'; format: ImageFormat } | { kind: 'other'; description: string };

function identify(b: Uint8Array): Identified {
  const image = (format: ImageFormat): Identified => ({ kind: 'image', format });
  const other = (description: string): Identified => ({ kind: 'other', description });

  if (b.length === 0) return other('empty');
  if (startsWith(b, [0xff, 0xd8, 0xff])) return image('jpeg');
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('png');
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return image('gif');
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return image('webp');
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return image('tiff');
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return image('tiff'); // BigTIFF
  if (ascii(b, 4, 4) === 'ftyp') return identifyIsoMedia(b);

  if (ascii(b, 0, 2) === 'BM' && b.length >= 26) return other('a BMP bitmap');
  if (startsWith(b, [0x00, 0x00, 0x01, 0x00])) return other('a Windows icon (ICO)');
  if (ascii(b, 0, 5) === '%PDF-') return other('a PDF document');
  if (ascii(b, 0, 4) === '8BPS') return other('a Photoshop document (PSD)');
  if (startsWith(b, [0xff, 0x0a]) || ascii(b, 4, 8) === 'JXL \r\n\x87\n') return other('a JPEG XL image');
  if (startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return other('a JPEG 2000 image');
  if (ascii(b, 0, 4) === 'PK\x03\x04' || ascii(b, 0, 4) === 'PK\x05\x06') return other('a ZIP archive (or an Office document)');
  if (startsWith(b, [0x1f, 0x8b])) return other('a gzip archive');
  if (ascii(b, 0, 4) === 'Rar!') return other('a RAR archive');
  if (startsWith(b, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return other('a 7-Zip archive');
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return other('a video (Matroska/WebM)');
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'AVI ') return other('a video (AVI)');
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WAVE') return other('an audio file (WAV)');
  if (ascii(b, 0, 3) === 'ID3' || startsWith(b, [0xff, 0xfb])) return other('an audio file (MP3)');
  if (ascii(b, 0, 4) === 'OggS') return other('an audio or video file (Ogg)');
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46]) || ascii(b, 0, 2) === 'MZ') return other('a program (executable)');

  const text = leadingText(b);
  if (text !== null) {
    if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(text)) {
      return other('an SVG drawing (SVG files can carry scripts and hidden text)');
    }
    if (/^<!doctype html|^<html/i.test(text)) return other('an HTML page');
    if (/^<\?xml/i.test(text)) return other('an XML document');
    return other('a text file');
  }
  return other(`unrecognised binary data (starting ${hex(b.subarray(0, 8))})`);
}

/** HEIF, AVIF and MP4/MOV share the ISO base media container; the brands tell them apart. */
function identifyIsoMedia(b: Uint8Array): Identified {
  const size = readUint32BE(b, 0);
  // Brands past the first 4 KiB are not read: the proxy decides what is a picture from that much
  // (IMAGE_SNIFF_BYTES), and no camera writes an ftyp box that long.
  const end = Math.min(b.length, size >= 16 ? size : 16, 4096);
  const brands = [ascii(b, 8, 4)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(b, at, 4));
  const major = brands[0];
  const has = (...names: string[]) => names.some((n) => brands.includes(n));

  if (major === 'avif' || major === 'avis') return { kind: 'image', format: 'avif' };
  if (has('heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs')) return { kind: 'image', format: 'heic' };
  if (has('avif', 'avis')) return { kind: 'image', format: 'avif' };
  if (has('mif1', 'msf1', 'miaf')) return { kind: 'image', format: 'heic' };
  if (major === 'qt  ') return { kind: 'other', description: 'a video (QuickTime MOV)' };
  if (major?.startsWith('3g')) return { kind: 'other', description: 'a video (3GP)' };
  if (major === 'crx ') return { kind: 'other', description: 'a camera RAW file (Canon CR3)' };
  return { kind: 'other', description: 'a video or audio file (MP4)' };
}

function startsWith(b: Uint8Array, prefix: number[]): boolean {
  if (b.length < prefix.length) return false;
  return prefix.every((v, i) => b[i] === v);
}

function ascii(b: Uint8Array, at: number, length: number): string {
  if (b.length < at + length) return '';
  return String.fromCharCode(...b.subarray(at, at + length));
}

function readUint32BE(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}

/** The first few hundred bytes as text, or null when they are not plausibly text. */
function leadingText(b: Uint8Array): string | null {
  let head = b.subarray(0, 1024);
  if (startsWith(head, [0xef, 0xbb, 0xbf])) head = head.subarray(3);
  for (const v of head) {
    if (v === 0 || (v < 0x20 && v !== 0x09 && v !== 0x0a && v !== 0x0d)) return null;
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(head).trimStart();
}
