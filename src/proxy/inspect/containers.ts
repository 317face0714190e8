import { VeilError } from '../../pipeline/errors.js';
import { bodyNature, containerKind as containerKindOf, type ContainerKind } from './body-nature.js';
import { findHiddenPicture } from './hidden-pictures.js';
import { findPictureSignature } from './picture-signatures.js';

/**
 * A quick look inside documents, archives and videos until Veil can sanitise them (the pictures
 * in a PDF newsletter, the photos in a DOCX's word/media/, the GPS position a phone writes into a
 * video): one that holds a picture or a location is refused, the rest pass unchanged. Over-
 * inclusive on purpose: a document Veil cannot look inside with confidence is refused too.
 */

/** Random access to a body kept in a spool (the whole body is there before this runs). */
export interface BodyBytes {
  readonly size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

export interface ContainerLimits {
  /** Documents and archives are read whole up to this size; larger ones are refused. */
  maxInMemoryBytes: number;
}

/** Why a container is refused (the message names the kind of file and what it holds). */
export type Finding = 'pictures' | 'location' | 'unreadable' | 'too-large' | 'encrypted';

export async function scanContainer(kind: ContainerKind, body: BodyBytes, limits: ContainerLimits): Promise<Finding | undefined> {
  if (kind === 'iso-bmff') return scanIsoBmff(body, limits);
  if (kind === 'matroska' || kind === 'riff') return scanStreamed(body);
  if (body.size > limits.maxInMemoryBytes) return 'too-large';
  const bytes = await body.read(0, body.size);
  return scanInMemory(kind, bytes, limits, 0);
}

/**
 * Documents and videos found inside text (a base64 PDF in a JSON API call, a data:video/mp4 URI):
 * each is looked inside as if it had been sent on its own. Throws the refusal.
 */
export async function refuseContainersInside(found: readonly Uint8Array[], limits: ContainerLimits): Promise<void> {
  for (const bytes of found) {
    const kind = containerKindOf(bytes);
    if (!kind) continue;
    const finding = await scanContainer(kind, { size: bytes.length, read: async (start, end) => bytes.subarray(start, end) }, limits);
    if (finding) throw containerRefusal(kind, finding);
  }
}

export function containerRefusal(kind: ContainerKind, finding: Finding): VeilError {
  const what = DESCRIPTIONS[kind];
  const why: Record<Finding, string> = {
    pictures: `${what} holds pictures, and Veil cannot yet remove metadata and faces from pictures inside ${what === 'This video' ? 'videos' : 'documents'}`,
    location: `${what} carries the place where it was made (a GPS position), which Veil cannot yet remove`,
    unreadable: `Veil could not look inside ${what.replace(/^This/, 'this')} to check it for pictures`,
    'too-large': `${what} is too large for Veil to check for pictures`,
    encrypted: `${what} is encrypted, so Veil cannot check it for pictures`,
  };
  return new VeilError('CONTAINS_PICTURES', `${why[finding]}, so it was not published. Please upload the pictures on their own, or save the file without them, and try again.`);
}

const DESCRIPTIONS: Record<ContainerKind, string> = {
  pdf: 'This PDF',
  zip: 'This document or archive',
  'iso-bmff': 'This video',
  matroska: 'This video',
  riff: 'This video or sound file',
  ole: 'This Office document',
  rtf: 'This document',
  postscript: 'This PostScript file',
  gzip: 'This compressed file',
  compressed: 'This compressed archive',
};

async function scanInMemory(kind: ContainerKind, bytes: Uint8Array, limits: ContainerLimits, depth: number): Promise<Finding | undefined> {
  if (kind === 'compressed') return 'unreadable';
  if (kind === 'gzip') {
    const inner = await inflate(bytes, 'gzip', limits.maxInMemoryBytes).catch(() => undefined);
    if (!inner) return 'unreadable';
    return depth >= MAX_ZIP_DEPTH ? 'too-large' : scanEntry(inner, limits, depth + 1);
  }
  if (kind === 'pdf') return scanPdf(bytes);
  if (kind === 'zip') return scanZip(bytes, limits, depth);
  if (kind === 'iso-bmff') return scanIsoBmff({ size: bytes.length, read: async (s, e) => bytes.subarray(s, e) }, limits);
  if (kind === 'matroska' || kind === 'riff') return scanStreamed({ size: bytes.length, read: async (s, e) => bytes.subarray(s, e) });
  const text = latin1(bytes);
  if (kind === 'rtf' && /\\(pict|objdata|shppict)\b/.test(text)) return 'pictures';
  if (kind === 'postscript' && /\b(colorimage|imagemask|image)\b|DCTDecode|%%BeginPreview|%ImageData/.test(text)) return 'pictures';
  return findHiddenPicture(bytes) ? 'pictures' : undefined;
}

// --- PDF -------------------------------------------------------------------------------------

const PDF_PICTURE = /\/Subtype\s*\/Image\b|\/(DCTDecode|JPXDecode|JBIG2Decode|CCITTFaxDecode)\b|\/(EmbeddedFiles?|Thumb|RichMedia|Movie|Sound)\b/;
const INLINE_IMAGE = /(^|[\s\]>)])BI\s[\s\S]*?\sID[\s\r\n]/;
const MAX_INFLATED = 256 * 1024 * 1024;

async function scanPdf(bytes: Uint8Array): Promise<Finding | undefined> {
  // Names may spell any character as #xx (/Subtype /#49mage); read them as PDF readers do.
  const text = latin1(bytes).replace(/\/[^\s/[\]<>(){}%]+/g, (name) => name.replace(/#([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  if (/\/Encrypt\b/.test(text)) return 'encrypted';
  if (PDF_PICTURE.test(text) || findPictureSignature(bytes)) return 'pictures';
  if (/GPS(Latitude|Longitude)|exif:GPS/.test(text)) return 'location';
  let budget = MAX_INFLATED;
  for (const stream of pdfStreams(text)) {
    const data = bytes.subarray(stream.start, stream.end);
    const inflated = await inflate(data, 'deflate', budget).catch(() => undefined);
    if (!inflated) continue; // not Flate (or damaged): its raw bytes were searched above
    budget -= inflated.length;
    if (budget < 0) return 'too-large';
    const content = latin1(inflated);
    if (INLINE_IMAGE.test(content) || PDF_PICTURE.test(content) || findPictureSignature(inflated)) return 'pictures';
    if (/GPS(Latitude|Longitude)|exif:GPS/.test(content)) return 'location';
  }
  return undefined;
}

function* pdfStreams(text: string): Generator<{ start: number; end: number }> {
  const re = /stream\r?\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endstream', start);
    if (end === -1) return;
    yield { start, end };
    re.lastIndex = end;
  }
}

// --- ZIP (DOCX, PPTX, XLSX, ODT, EPUB, plain archives) -------------------------------------------

const MEDIA_NAME = /\.(jpe?g|jfif|png|gif|webp|heic|heif|avif|tiff?|bmp|svg|emf|wmf|ico|jxl|jp2|psd|dng|cr2|cr3|nef|arw|mp4|mov|m4v|3gp|avi|mkv|webm)$/i;
const MAX_ENTRIES = 10_000;
const MAX_ZIP_DEPTH = 2;

async function scanZip(bytes: Uint8Array, limits: ContainerLimits, depth: number): Promise<Finding | undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = lastIndexOf(bytes, [0x50, 0x4b, 0x05, 0x06]);
  if (eocd === -1 || eocd + 22 > bytes.length) return 'unreadable';
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  if (count === 0xffff || at === 0xffffffff) return 'unreadable'; // ZIP64: not looked inside yet
  if (count > MAX_ENTRIES) return 'too-large';
  let budget = MAX_INFLATED;
  const listed: { start: number; end: number }[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) return 'unreadable';
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const compressed = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = latin1(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (flags & 1) return 'encrypted';
    if (MEDIA_NAME.test(name)) return 'pictures';
    if (local + 30 > bytes.length) return 'unreadable';
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(dataStart, dataStart + compressed);
    listed.push({ start: local, end: dataStart + compressed });
    let data: Uint8Array | undefined;
    if (method === 0) data = raw;
    else if (method === 8) data = await inflate(raw, 'deflate-raw', budget).catch(() => undefined);
    if (!data) return 'unreadable';
    budget -= data.length;
    if (budget < 0) return 'too-large';
    const finding = await scanEntry(data, limits, depth);
    if (finding) return finding;
  }
  // An entry a reader could find by its local header although the directory does not list it.
  if (localHeaderOutside(bytes, listed)) return 'unreadable';
  return undefined;
}

async function scanEntry(data: Uint8Array, limits: ContainerLimits, depth: number): Promise<Finding | undefined> {
  const nature = bodyNature(data.subarray(0, 4096), data.length <= 4096);
  if (nature.kind === 'picture' || nature.kind === 'hidden-picture') return 'pictures';
  if (nature.kind === 'container') return depth >= MAX_ZIP_DEPTH ? 'too-large' : scanInMemory(nature.format, data, limits, depth + 1);
  // XML parts may carry pictures as base64 (Word 2003 XML's w:binData, flat ODF's office:binary-data).
  if (findHiddenPicture(data)) return 'pictures';
  if (/GPS(Latitude|Longitude)|exif:GPS/.test(latin1(data))) return 'location';
  return undefined;
}

// --- ISO-BMFF video (MP4, MOV, M4V, 3GP) -----------------------------------------------------------

/** Boxes that only hold other boxes; `meta` is a full box (4 bytes of version and flags first). */
const PARENT_BOXES = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'udta', 'meta', 'ilst', 'edts', 'dinf', 'moof', 'traf', 'mvex', 'tref', 'sinf', 'schi']);
/** Where phones and cameras write the place: QuickTime ©xyz, 3GPP loci, Apple's ISO6709 key, XMP. */
const LOCATION_BOXES = new Set(['\xa9xyz', 'loci', '\xa9loc', 'gps ', 'GPS ']);
const PICTURE_BOXES = new Set(['covr', 'thmb', 'CNTH', 'PICT', 'snal']);
/** HEIF's image items: a still picture in ISO-BMFF clothing, whatever its brands say. */
const IMAGE_ITEM_BOXES = new Set(['iinf', 'iloc', 'pitm', 'iprp', 'ipco', 'idat', 'iref']);
const XMP_UUID = 'be7acfcb97a942e89c71999491e3afac';
/** Metadata boxes are small; a larger one is refused rather than read. */
const MAX_BOX_READ = 64 * 1024 * 1024;

async function scanIsoBmff(body: BodyBytes, limits: ContainerLimits): Promise<Finding | undefined> {
  return walkBoxes(body, 0, body.size, 0, limits);
}

async function walkBoxes(body: BodyBytes, start: number, end: number, depth: number, limits: ContainerLimits): Promise<Finding | undefined> {
  let at = start;
  let boxes = 0;
  while (at + 8 <= end) {
    if (++boxes > 100_000 || depth > 12) return 'too-large';
    const header = await body.read(at, Math.min(at + 32, end));
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    let size = view.getUint32(0);
    const type = latin1(header.subarray(4, 8));
    let headerSize = 8;
    if (size === 1) {
      if (header.length < 16) return 'unreadable';
      size = Number(view.getBigUint64(8));
      headerSize = 16;
    } else if (size === 0) size = end - at;
    if (size < headerSize || at + size > end) return depth === 0 && at + size > end && type === 'mdat' ? undefined : 'unreadable';
    if (LOCATION_BOXES.has(type)) return 'location';
    if (PICTURE_BOXES.has(type) || IMAGE_ITEM_BOXES.has(type)) return 'pictures';
    // A `pict` handler makes the file a still image (HEIF/AVIF whose brands were changed).
    if (type === 'hdlr' && latin1(header.subarray(headerSize + 8, headerSize + 12)) === 'pict') return 'pictures';
    if (type === 'mdat' || type === 'free' || type === 'skip' || type === 'wide') {
      // frames and padding
    } else if (PARENT_BOXES.has(type)) {
      const inner = at + headerSize + (type === 'meta' && !isQuickTimeMeta(header, headerSize) ? 4 : 0);
      const finding = await walkBoxes(body, inner, at + size, depth + 1, limits);
      if (finding) return finding;
    } else if (depth > 0 || type === 'uuid' || type === 'XMP_') {
      if (size > MAX_BOX_READ) return 'too-large';
      const content = await body.read(at + headerSize, at + size);
      const finding = metadataFinding(type, content);
      if (finding) return finding;
    }
    at += size;
  }
  return undefined;
}

/** QuickTime's `meta` has no version/flags; ISO's does. QuickTime's first child is `hdlr` at once. */
function isQuickTimeMeta(header: Uint8Array, headerSize: number): boolean {
  return latin1(header.subarray(headerSize + 4, headerSize + 8)) === 'hdlr';
}

function metadataFinding(type: string, content: Uint8Array): Finding | undefined {
  const text = latin1(content);
  if (type === 'uuid' && Buffer.from(content.subarray(0, 16)).toString('hex') !== XMP_UUID) return undefined;
  if (/location|ISO6709|GPS(Latitude|Longitude|Coordinates)|exif:GPS|\xa9xyz/i.test(text)) return 'location';
  if (type !== 'stsd' && findPictureSignature(content)) return 'pictures';
  return undefined;
}

// --- Matroska / WebM, RIFF (AVI, WAV): too large to read whole, scanned in windows ----------------

const WINDOW = 4 * 1024 * 1024;
/** More than any signature's confirmation reads, so one split by a window edge is seen whole. */
const OVERLAP = 8 * 1024;
const STREAMED_LOCATION = /LOCATION|ISO6709|GPS(Latitude|Longitude)|exif:GPS|\xa9xyz/;

/** A body too large to read whole, as overlapping windows. */
async function* windows(body: BodyBytes): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < body.size; at += WINDOW) yield body.read(Math.max(0, at - OVERLAP), Math.min(body.size, at + WINDOW));
}

/** A picture signature anywhere in a body too large to read whole (a large form part). */
export async function hasPictureSignature(body: BodyBytes): Promise<boolean> {
  for await (const window of windows(body)) if (findPictureSignature(window)) return true;
  return false;
}

async function scanStreamed(body: BodyBytes): Promise<Finding | undefined> {
  for await (const window of windows(body)) {
    const text = latin1(window);
    if (STREAMED_LOCATION.test(text)) return 'location';
    // Matroska attachments (cover art) declare an image type; AVI's MJPEG frames are JPEGs.
    if (/image\/[a-z]/.test(text) || findPictureSignature(window)) return 'pictures';
  }
  return undefined;
}

// --- helpers ------------------------------------------------------------------------------------

/** Web-standard decompression (runs at the edge too), stopped once past `limit` bytes. */
async function inflate(data: Uint8Array, format: 'deflate' | 'deflate-raw' | 'gzip', limit: number): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new DecompressionStream(format));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel().catch(() => undefined);
      throw new Error('inflated past the limit');
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function lastIndexOf(bytes: Uint8Array, pattern: number[]): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf(Buffer.from(pattern));
}

function localHeaderOutside(bytes: Uint8Array, listed: { start: number; end: number }[]): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
  for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + 1)) {
    if (!listed.some((range) => at >= range.start && at < range.end)) return true;
  }
  return false;
}
