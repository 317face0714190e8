import { inflateSync } from 'node:zlib';
import { describeBytes } from './sniff.js';
import type { ImageFormat } from './types.js';

/**
 * Metadata blocks found by walking a file's container structure. Sharp exposes EXIF/XMP/IPTC/ICC
 * for the formats it decodes, but not comments, PNG text chunks, C2PA manifests or bytes hidden
 * after the image's end marker, and those are exactly where people hide things.
 */
export interface ContainerBlocks {
  exif: Uint8Array[];
  xmp: string[];
  iptc: Uint8Array[];
  icc: boolean;
  comments: string[];
  /** PNG tEXt/zTXt/iTXt chunks other than XMP and raw profiles. */
  textChunks: { keyword: string; text: string }[];
  /** C2PA / JUMBF content-credential manifests (JPEG APP11, PNG caBX, ISO-BMFF boxes). */
  contentCredentials: boolean;
  /** Photoshop image resources (APP13), which may carry a thumbnail and captions. */
  photoshop: boolean;
  /** Bytes after the image's end marker, and what they look like. */
  trailing: { bytes: number; description: string } | null;
}

export function emptyBlocks(): ContainerBlocks {
  return { exif: [], xmp: [], iptc: [], icc: false, comments: [], textChunks: [], contentCredentials: false, photoshop: false, trailing: null };
}

export function walkContainer(bytes: Uint8Array, format: ImageFormat): ContainerBlocks {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A malformed structure must never stop the walk from reporting what it found so far: the
  // decoder decides whether the file is readable, this only reports.
  const blocks = emptyBlocks();
  try {
    switch (format) {
      case 'jpeg': walkJpeg(buf, blocks); break;
      case 'png': walkPng(buf, blocks); break;
      case 'webp': walkWebp(buf, blocks); break;
      case 'gif': walkGif(buf, blocks); break;
      case 'heic':
      case 'avif': walkIsoBmff(buf, blocks); break;
      // A TIFF file is itself an EXIF structure: IFD0 with EXIF and GPS sub-directories.
      case 'tiff': blocks.exif.push(bytes); break;
    }
  } catch {
    // Truncated structure: keep what was found.
  }
  return blocks;
}

function trailingAfter(buf: Buffer, end: number): ContainerBlocks['trailing'] {
  const rest = buf.subarray(end);
  // A few padding bytes (zeros, newlines) after the end marker are common and harmless.
  if (rest.length === 0 || rest.every((v) => v === 0 || v === 0x0a || v === 0x0d || v === 0x20)) return null;
  return { bytes: rest.length, description: describeBytes(rest) };
}

const XMP_SIGNATURE = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_EXTENDED_SIGNATURE = 'http://ns.adobe.com/xmp/extension/\0';

function walkJpeg(buf: Buffer, blocks: ContainerBlocks): void {
  let at = 2;
  while (at + 4 <= buf.length) {
    if (buf[at] !== 0xff) return; // lost sync: structure is corrupt
    const marker = buf[at + 1]!;
    if (marker === 0xff) { at += 1; continue; } // fill byte
    if (marker === 0xd9) { blocks.trailing = trailingAfter(buf, at + 2); return; }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    const length = buf.readUInt16BE(at + 2);
    const body = buf.subarray(at + 4, at + 2 + length);
    readJpegSegment(marker, body, blocks);
    at += 2 + length;
    if (marker === 0xda) at = skipEntropyCodedData(buf, at);
  }
}

function readJpegSegment(marker: number, body: Buffer, blocks: ContainerBlocks): void {
  const head = body.subarray(0, 40).toString('latin1');
  if (marker === 0xfe) blocks.comments.push(body.toString('utf8').replace(/\0+$/, ''));
  else if (marker === 0xe1 && head.startsWith('Exif\0')) blocks.exif.push(body.subarray(6));
  else if (marker === 0xe1 && head.startsWith(XMP_SIGNATURE)) blocks.xmp.push(body.subarray(XMP_SIGNATURE.length).toString('utf8'));
  else if (marker === 0xe1 && head.startsWith(XMP_EXTENDED_SIGNATURE)) blocks.xmp.push(body.subarray(XMP_EXTENDED_SIGNATURE.length + 40).toString('utf8'));
  else if (marker === 0xe2 && head.startsWith('ICC_PROFILE\0')) blocks.icc = true;
  else if (marker === 0xeb && (head.startsWith('JP') || body.includes('jumb'))) blocks.contentCredentials = true;
  else if (marker === 0xed && head.startsWith('Photoshop 3.0\0')) {
    blocks.photoshop = true;
    blocks.iptc.push(...photoshopIptc(body.subarray(14)));
  }
}

/** Entropy-coded data ends at the first marker that is not a stuffed 0xFF00 or a restart marker. */
function skipEntropyCodedData(buf: Buffer, at: number): number {
  while (at + 1 < buf.length) {
    if (buf[at] === 0xff) {
      const next = buf[at + 1]!;
      if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) return at;
    }
    at += 1;
  }
  return buf.length;
}

/** IPTC-NAA records sit inside Photoshop image resource 0x0404. */
function photoshopIptc(irb: Buffer): Buffer[] {
  const found: Buffer[] = [];
  let at = 0;
  while (at + 12 <= irb.length && irb.toString('latin1', at, at + 4) === '8BIM') {
    const id = irb.readUInt16BE(at + 4);
    const nameLength = irb[at + 6]!;
    let p = at + 7 + nameLength;
    if ((nameLength + 1) % 2 === 1) p += 1; // Pascal string padded to even length
    const size = irb.readUInt32BE(p);
    const data = irb.subarray(p + 4, p + 4 + size);
    if (id === 0x0404) found.push(data);
    at = p + 4 + size + (size % 2);
  }
  return found;
}

function walkPng(buf: Buffer, blocks: ContainerBlocks): void {
  let at = 8;
  while (at + 12 <= buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    switch (type) {
      case 'eXIf': blocks.exif.push(data); break;
      case 'iCCP': blocks.icc = true; break;
      case 'caBX': blocks.contentCredentials = true; break;
      case 'tEXt': case 'zTXt': case 'iTXt': readPngText(type, data, blocks); break;
      case 'IEND': blocks.trailing = trailingAfter(buf, at); return;
    }
  }
}

function readPngText(type: string, data: Buffer, blocks: ContainerBlocks): void {
  const nul = data.indexOf(0);
  if (nul < 0) return;
  const keyword = data.toString('latin1', 0, nul);
  let text: string;
  if (type === 'tEXt') text = data.toString('latin1', nul + 1);
  else if (type === 'zTXt') text = inflateSync(data.subarray(nul + 2), { maxOutputLength: 16 << 20 }).toString('latin1');
  else {
    const compressed = data[nul + 1] === 1;
    let p = nul + 3;
    p = data.indexOf(0, p) + 1; // language tag
    p = data.indexOf(0, p) + 1; // translated keyword
    const raw = data.subarray(p);
    text = (compressed ? inflateSync(raw, { maxOutputLength: 16 << 20 }) : raw).toString('utf8');
  }
  if (keyword === 'XML:com.adobe.xmp') blocks.xmp.push(text);
  else if (/^Raw profile type (exif|APP1)$/i.test(keyword)) {
    const exif = rawProfileBytes(text);
    if (exif) blocks.exif.push(exif.subarray(exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0));
  } else if (/^Raw profile type iptc$/i.test(keyword)) {
    const irb = rawProfileBytes(text);
    if (irb) blocks.iptc.push(...(irb.toString('latin1', 0, 4) === '8BIM' ? photoshopIptc(irb) : [irb]));
  } else if (/^Raw profile type (xmp)$/i.test(keyword)) {
    const xmp = rawProfileBytes(text);
    if (xmp) blocks.xmp.push(xmp.toString('utf8'));
  } else if (/^Raw profile type (icc|icm)$/i.test(keyword)) blocks.icc = true;
  else blocks.textChunks.push({ keyword, text });
}

/** ImageMagick's "Raw profile type X" text: "\nname\n   length\nhex hex hex..." */
function rawProfileBytes(text: string): Buffer | null {
  const match = /^\s*\S*\s*\n\s*(\d+)\s*\n([\s0-9a-f]+)$/i.exec(text);
  if (!match) return null;
  return Buffer.from(match[2]!.replace(/\s+/g, ''), 'hex');
}

function walkWebp(buf: Buffer, blocks: ContainerBlocks): void {
  const riffEnd = Math.min(buf.length, 8 + buf.readUInt32LE(4));
  let at = 12;
  while (at + 8 <= riffEnd) {
    const type = buf.toString('latin1', at, at + 4);
    const length = buf.readUInt32LE(at + 4);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === 'EXIF') blocks.exif.push(data.toString('latin1', 0, 6) === 'Exif\0\0' ? data.subarray(6) : data);
    else if (type === 'XMP ') blocks.xmp.push(data.toString('utf8'));
    else if (type === 'ICCP') blocks.icc = true;
    at += 8 + length + (length % 2);
  }
  blocks.trailing = trailingAfter(buf, riffEnd);
}

function walkGif(buf: Buffer, blocks: ContainerBlocks): void {
  const flags = buf[10]!;
  let at = 13 + (flags & 0x80 ? 3 * (1 << ((flags & 7) + 1)) : 0);
  while (at < buf.length) {
    const introducer = buf[at]!;
    if (introducer === 0x3b) { blocks.trailing = trailingAfter(buf, at + 1); return; }
    if (introducer === 0x21) {
      const label = buf[at + 1]!;
      const { data, next } = gifSubBlocks(buf, at + 2);
      if (label === 0xfe) blocks.comments.push(data.toString('latin1'));
      else if (label === 0xff && data.toString('latin1', 0, 11) === 'XMP DataXMP') {
        // XMP in GIF is stored raw with a "magic trailer"; the sub-block lengths are part of it.
        blocks.xmp.push(buf.subarray(at + 2 + 12, next).toString('utf8'));
      }
      at = next;
    } else if (introducer === 0x2c) {
      const localFlags = buf[at + 9]!;
      at += 10 + (localFlags & 0x80 ? 3 * (1 << ((localFlags & 7) + 1)) : 0);
      at = gifSubBlocks(buf, at + 1).next; // LZW minimum code size, then image data
    } else return;
  }
}

function gifSubBlocks(buf: Buffer, at: number): { data: Buffer; next: number } {
  const parts: Buffer[] = [];
  while (at < buf.length) {
    const size = buf[at]!;
    at += 1;
    if (size === 0) break;
    parts.push(buf.subarray(at, at + size));
    at += size;
  }
  return { data: Buffer.concat(parts), next: at };
}

/** HEIF/AVIF: look for C2PA (JUMBF) boxes and data after the last top-level box. */
function walkIsoBmff(buf: Buffer, blocks: ContainerBlocks): void {
  let at = 0;
  while (at + 8 <= buf.length) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    else if (size === 0) size = buf.length - at;
    if (size < 8) return;
    if (type === 'jumb' || (type === 'uuid' && buf.subarray(at, at + size).includes('c2pa'))) blocks.contentCredentials = true;
    at += size;
  }
  if (at < buf.length) blocks.trailing = trailingAfter(buf, at);
}
