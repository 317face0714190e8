/**
 * What each file inside a ZIP-based container is, judged by its bytes, and the photo step for
 * the pictures among them. Shared by the Office, OpenDocument and plain-ZIP sanitisers so that a
 * picture in `word/media/`, in `Pictures/` or loose in an archive is treated the same way.
 */
import { isVeilError, VeilError } from '../errors.js';
import { sanitiseImage, type SanitiseReport, type SanitiseResult } from '../sanitise.js';
import { sniffFormat } from '../sniff.js';
import type { ImageFormat, OutputFormat } from '../types.js';
import type { DocumentOptions, DocumentResult } from './types.js';
import { looksLikeXml } from './xml-text.js';

/** Documents inside documents, counted from the upload (depth 0). */
export const MAX_NESTING_DEPTH = 3;

export type PartKind =
  | { kind: 'picture'; format: ImageFormat }
  | { kind: 'xml' }
  | { kind: 'svg' }
  | { kind: 'document'; description: string; zip?: true }
  | { kind: 'unreadable-picture'; description: string }
  | { kind: 'other' };

const ascii = (b: Uint8Array, at: number, length: number) => String.fromCharCode(...b.subarray(at, at + length));

export function classifyPart(bytes: Uint8Array): PartKind {
  if (bytes.length === 0) return { kind: 'other' };
  try {
    return { kind: 'picture', format: sniffFormat(bytes) };
  } catch {
    // not a picture Veil reads: look further
  }
  if (ascii(bytes, 0, 5) === '%PDF-') return { kind: 'document', description: 'a PDF document' };
  if (ascii(bytes, 0, 4) === 'PK\x03\x04' || ascii(bytes, 0, 4) === 'PK\x05\x06') return { kind: 'document', description: 'a ZIP archive or Office document', zip: true };
  if (ascii(bytes, 4, 4) === 'ftyp') return { kind: 'document', description: 'a video' };
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return { kind: 'document', description: 'a video' };
  const unreadable = unreadablePicture(bytes);
  if (unreadable) return { kind: 'unreadable-picture', description: unreadable };
  if (looksLikeXml(bytes)) return /<svg[\s>]/i.test(Buffer.from(bytes.subarray(0, 4096)).toString('latin1')) ? { kind: 'svg' } : { kind: 'xml' };
  return { kind: 'other' };
}

/** Picture formats that can hold a photo but that Veil cannot decode and re-encode. */
function unreadablePicture(b: Uint8Array): string | undefined {
  if (ascii(b, 0, 2) === 'BM' && b.length >= 26) return 'a BMP bitmap';
  if (b.length >= 44 && b[0] === 1 && b[1] === 0 && b[2] === 0 && b[3] === 0 && ascii(b, 40, 4) === ' EMF') return 'an EMF drawing (Windows metafile)';
  if (b[0] === 0xd7 && b[1] === 0xcd && b[2] === 0xc6 && b[3] === 0x9a) return 'a WMF drawing (Windows metafile)';
  if ((b[0] === 1 || b[0] === 2) && b[1] === 0 && b[2] === 9 && b[3] === 0) return 'a WMF drawing (Windows metafile)';
  if (ascii(b, 0, 4) === '8BPS') return 'a Photoshop document';
  if ((b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 8) === 'JXL \r\n\x87\n') return 'a JPEG XL image';
  if (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0x0c && ascii(b, 4, 4) === 'jP  ') return 'a JPEG 2000 image';
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'a Windows icon';
  return undefined;
}

const HIDDEN_SIGNATURES: [Buffer, string][] = [
  [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'a PNG picture'],
  [Buffer.from('GIF89a'), 'a GIF picture'],
  [Buffer.from('GIF87a'), 'a GIF picture'],
  [Buffer.from('data:image/'), 'a picture written as text (data: URI)'],
  [Buffer.from('ftypheic'), 'a HEIC picture'],
  [Buffer.from('ftypmif1'), 'a HEIF picture'],
  [Buffer.from('ftypavif'), 'an AVIF picture'],
  [Buffer.from('PK\x03\x04'), 'another archive'],
  [Buffer.from('%PDF-'), 'a PDF document'],
];

/**
 * A file Veil keeps as it is (a font, a macro project, a text file) must not carry a picture
 * inside where the photo step cannot reach it. A JPEG is recognised by its start-of-image marker
 * followed by a marker that begins real JPEGs; the others by their signatures.
 */
export function findHiddenPicture(bytes: Uint8Array): string | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = buf.indexOf(0xff); at >= 0 && at + 3 < buf.length; at = buf.indexOf(0xff, at + 1)) {
    if (buf[at + 1] === 0xd8 && buf[at + 2] === 0xff && /^(e[0-9a-f]|db|c[0-2]|c4|fe)$/.test(buf[at + 3]!.toString(16))) return 'a JPEG picture';
  }
  for (const [signature, description] of HIDDEN_SIGNATURES) if (buf.includes(signature)) return description;
  return undefined;
}

/** Pictures written as text (base64), which the photo step cannot reach inside XML or a text file. */
const HIDDEN_TEXT: [RegExp, string][] = [
  [/data:image\//i, 'a picture written as text (data: URI)'],
  [/<(?:[\w.-]+:)?binary-data[\s>]/, 'a picture written as text (binary data)'],
  [/\/9j\/4[AQ]/, 'a JPEG picture written as text (base64)'],
  [/iVBORw0KGgo/, 'a PNG picture written as text (base64)'],
  [/R0lGOD[lo]h/, 'a GIF picture written as text (base64)'],
];

export function findPictureInText(text: string): string | undefined {
  for (const [pattern, description] of HIDDEN_TEXT) if (pattern.test(text)) return description;
  return undefined;
}

/**
 * An SVG (Office keeps icons as SVG beside a PNG fallback) is kept only when it is drawing
 * alone: no embedded or linked picture, no script. Its metadata block goes.
 */
export function cleanSvg(text: string): { text: string; problem?: string } {
  if (/<(?:[\w.-]+:)?image[\s>/]/i.test(text)) return { text, problem: 'an SVG drawing with a picture inside' };
  if (/<(?:[\w.-]+:)?script[\s>/]/i.test(text) || /\son\w+\s*=/i.test(text)) return { text, problem: 'an SVG drawing with a script' };
  const hidden = findPictureInText(text) ?? (/<(?:[\w.-]+:)?foreignObject[\s>/]/i.test(text) ? 'an SVG drawing with foreign content' : undefined);
  if (hidden) return { text, problem: hidden };
  return { text: text.replace(/<(?:[\w.-]+:)?metadata[\s>][\s\S]*?<\/(?:[\w.-]+:)?metadata\s*>/gi, '').replace(/<!--[\s\S]*?-->/g, '') };
}

/** The extensions a sanitised picture may keep; anything else is renamed to the output's. */
const EXTENSIONS_OF: Record<OutputFormat, string[]> = {
  jpeg: ['jpeg', 'jpg', 'jpe', 'jfif'],
  png: ['png'],
  webp: ['webp'],
  gif: ['gif'],
};

/** `word/media/image1.heic` sanitised to JPEG becomes `word/media/image1.jpeg`, never clashing with a name taken. */
export function renamedForFormat(name: string, format: OutputFormat, taken: (candidate: string) => boolean): string {
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const extension = dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
  if (EXTENSIONS_OF[format].includes(extension)) return name;
  const stem = name.slice(0, slash + 1) + (dot > 0 ? base.slice(0, dot) : base);
  const wanted = format === 'jpeg' ? 'jpeg' : format;
  for (let n = 0; ; n++) {
    const candidate = `${stem}${n === 0 ? '' : `-${n}`}.${wanted}`;
    if (!taken(candidate)) return candidate;
  }
}

/** What happened to the pictures and documents inside one container, in counts. */
export class PictureTally {
  found = 0;
  sanitised = 0;
  downscaled = 0;
  facesFound = 0;
  facesRedacted = 0;
  readonly removed = new Set<string>();
  readonly heldReasons = new Set<string>();
  readonly previews: Buffer[] = [];
  readonly nested: DocumentResult['report'][] = [];

  addPicture(result: SanitiseResult): void {
    this.found++;
    this.addFaces(result.report);
    for (const finding of result.report.removed) this.removed.add(finding.label);
    if (result.outcome === 'held') {
      for (const reason of result.reasons) this.heldReasons.add(reason);
      this.previews.push(result.preview);
      return;
    }
    this.sanitised++;
    const { input, output } = result.report;
    if (output && Math.max(output.width, output.height) < Math.max(input.width, input.height)) this.downscaled++;
  }

  addDocument(result: DocumentResult): void {
    const { report } = result;
    this.nested.push(report);
    this.found += report.pictures.found;
    this.sanitised += report.pictures.sanitised;
    this.downscaled += report.pictures.downscaled;
    this.facesFound += report.pictures.facesFound;
    this.facesRedacted += report.pictures.facesRedacted;
    if (result.outcome === 'held') {
      for (const reason of result.reasons) this.heldReasons.add(reason);
      this.previews.push(...result.previews);
    }
  }

  private addFaces(report: SanitiseReport): void {
    if (!report.faces) return;
    this.facesFound += report.faces.identifiable;
    this.facesRedacted += report.faces.redacted;
  }

  get held(): boolean {
    return this.heldReasons.size > 0;
  }
}

/** The photo step for one picture inside a container; a refusal names where the picture was. */
export async function sanitiseInnerPicture(bytes: Buffer, options: DocumentOptions, where: string): Promise<SanitiseResult> {
  try {
    // The part's own name stays out of the report: it can name a pupil.
    return await sanitiseImage(bytes, { ...options.sanitise, originalName: undefined, keepFilename: false });
  } catch (err) {
    if (isVeilError(err)) throw new VeilError(err.code, `A picture inside ${where} could not be used: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Every container checks its own depth too, so a dispatcher that forgets cannot recurse for ever. */
export function checkDepth(options: DocumentOptions, where: string): void {
  if ((options.depth ?? 0) > MAX_NESTING_DEPTH) {
    throw new VeilError('ARCHIVE_UNSAFE', `This file cannot be accepted: it has documents or archives nested more than ${MAX_NESTING_DEPTH} deep inside ${where}. Unpack the inner ones and upload them separately.`);
  }
}

/** A document inside a document goes back through the dispatcher, one level deeper. */
export async function sanitiseInnerDocument(
  bytes: Buffer,
  options: DocumentOptions,
  where: string,
  description: string,
  fallback?: (bytes: Uint8Array, options: DocumentOptions) => Promise<DocumentResult>,
): Promise<DocumentResult> {
  const depth = (options.depth ?? 0) + 1;
  if (depth > MAX_NESTING_DEPTH) {
    throw new VeilError('ARCHIVE_UNSAFE', `This file cannot be accepted: it has documents or archives nested more than ${MAX_NESTING_DEPTH} deep inside ${where}. Unpack the inner ones and upload them separately.`);
  }
  const sanitise = options.nested ?? fallback;
  if (!sanitise) {
    throw new VeilError('CONTAINS_PICTURES', `${capitalise(where)} contains ${description}, which Veil cannot check here. Upload it separately.`);
  }
  // The outer upload's name is not the inner document's.
  return sanitise(bytes, { ...options, depth, sanitise: { ...options.sanitise, originalName: undefined } });
}

export function refuseUnreadable(where: string, description: string): VeilError {
  return new VeilError(
    'CONTAINS_PICTURES',
    `${capitalise(where)} contains ${description}, which can hold a photo that Veil cannot check. ` +
      'Replace it with a JPEG or PNG picture (or remove it) and upload the file again.',
  );
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
