import busboy from 'busboy';
import { ImageStartGuard } from '../inspect/image-start-guard.js';
import { MultipartLayout, type PartLayout } from './multipart-layout.js';
import type { Spool, SpoolFactory } from '../spool/spool.js';
import { bodyTooLarge, unreadableForm } from '../upload-errors.js';

/** A part as busboy names it, placed where MultipartLayout found it. */
export interface FormPart extends PartLayout {
  name: string;
  filename?: string;
  /** Declared type without parameters: untrusted. */
  mimeType: string;
  /** A file part (it has a filename, or is application/octet-stream) rather than a text field. */
  isFile: boolean;
  /** Content-Transfer-Encoding, lower case ('7bit' when absent). */
  encoding: string;
}

export interface MultipartUpload {
  /** The whole original body, to replay or to copy parts from. Owned by the caller: close it. */
  spool: Spool;
  /** Every part in order; empty when the form could not be read but holds no picture. */
  parts: FormPart[];
  /** The parts whose content is a picture, to be sanitised. */
  images: FormPart[];
  size: number;
}

export interface MultipartFormOptions {
  maxUploadBytes: number;
  maxBodyBytes: number;
  /** Where the body is kept while it is parsed (disk on Node, memory at the edge). */
  spool: SpoolFactory;
  /** Short text fields as they are parsed (adapters pick their answer format from them). */
  onField?: (name: string, value: string) => void;
  /** Each file part's client filename as its headers are parsed (for an answer naming it). */
  onFile?: (name: string, filename: string | undefined) => void;
}

const SHORT_FIELD = 1024;
/** Content-Transfer-Encoding values that leave the bytes as they are; others hide the content. */
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);

/**
 * Reads a multipart/form-data body once, as a stream: spools it, finds every part's byte
 * range, parses names with busboy, and measures image parts against maxUploadBytes while they
 * arrive (non-image parts may be of any size: only their offsets are kept). Throws a VeilError
 * (FILE_TOO_LARGE, BAD_REQUEST) when the upload must not go on; nothing has been sent anywhere then.
 */
export async function readMultipartForm(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  options: MultipartFormOptions,
): Promise<MultipartUpload> {
  const boundary = formBoundary(contentType);
  const parser = new FormNames(contentType, options);
  const spool = await options.spool();
  const reader = body.getReader();
  try {
    const layout = new MultipartLayout(boundary, { maxImageBytes: options.maxUploadBytes, maxParts: 10_000, maxHeaderBytes: 16 * 1024 });
    const guard = new ImageStartGuard();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (spool.size + value.byteLength > options.maxBodyBytes) throw bodyTooLarge(options.maxBodyBytes);
      await spool.append(value);
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      // busboy first: it names the part whose size the layout may then refuse.
      await parser.write(chunk);
      layout.push(chunk);
      guard.push(chunk);
    }
    layout.end();
    guard.end();
    await parser.end();
    const parts = placeNames(layout, parser);
    const images = parts?.filter((part) => part.kind && (part.isFile || part.kind !== 'svg')) ?? [];
    if (!parts && (layout.parts.some((part) => part.kind) || guard.found)) {
      throw unreadableForm(layout.malformed ?? parser.error?.message ?? 'its parts could not be matched up');
    }
    const encoded = parts?.find((part) => !IDENTITY_ENCODINGS.has(part.encoding));
    if (encoded) throw unreadableForm(`a part is sent with Content-Transfer-Encoding: ${encoded.encoding}`);
    const fieldImage = images.find((part) => !part.isFile);
    if (fieldImage) throw unreadableForm(`the form field "${fieldImage.name}" holds a picture but is not sent as a file`);
    if (images.length === 0 && guard.found) throw unreadableForm('a picture was found outside any readable form part');
    return { spool, parts: parts ?? [], images, size: spool.size };
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    await spool.close();
    parser.destroy();
    throw err;
  }
}

/**
 * Pairs busboy's names with the byte ranges, in order. Returns undefined when the two readings
 * disagree (busboy skips parts PHP would read, e.g. without Content-Disposition: form-data).
 */
function placeNames(layout: MultipartLayout, parser: FormNames): FormPart[] | undefined {
  if (layout.malformed || parser.error || parser.parts.length !== layout.parts.length) return undefined;
  return layout.parts.map((part, i) => ({ ...part, ...parser.parts[i]! }));
}

/**
 * The boundary parameter. Refused when missing, or when PHP would take a different one: PHP uses
 * the first "boundary" substring of the header (e.g. inside `xboundary=`), not the parameter.
 */
export function formBoundary(contentType: string): string {
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;,"]{1,70}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary || boundary !== phpBoundary(contentType)) throw unreadableForm('its multipart boundary is missing or ambiguous');
  return boundary;
}

/** main/rfc1867.c: first "boundary" (case-sensitive, else any case), then after its "=". */
function phpBoundary(contentType: string): string | undefined {
  let at = contentType.indexOf('boundary');
  if (at === -1) at = contentType.toLowerCase().indexOf('boundary');
  const eq = at === -1 ? -1 : contentType.indexOf('=', at);
  if (eq === -1) return undefined;
  const value = contentType.slice(eq + 1);
  if (value.startsWith('"')) {
    const end = value.indexOf('"', 1);
    return end === -1 ? undefined : value.slice(1, end);
  }
  return value.split(/[,;]/, 1)[0];
}

type NamedPart = Omit<FormPart, keyof PartLayout>;

/** busboy, driven chunk by chunk with backpressure, collecting each part's name and type. */
class FormNames {
  readonly parts: NamedPart[] = [];
  error?: Error;
  private readonly parser: busboy.Busboy;
  private readonly finished: Promise<void>;

  constructor(contentType: string, listeners: Pick<MultipartFormOptions, 'onField' | 'onFile'>) {
    try {
      this.parser = busboy({
        headers: { 'content-type': contentType },
        preservePath: true,
        defParamCharset: 'utf8',
        limits: { fieldSize: 64 * 1024 },
      });
    } catch (err) {
      throw unreadableForm((err as Error).message);
    }
    this.parser.on('file', (name, stream, info) => {
      this.parts.push({ name, filename: info.filename, mimeType: info.mimeType, isFile: true, encoding: info.encoding.toLowerCase() });
      listeners.onFile?.(name, info.filename);
      // The bytes are in the spool already; busboy only has to get past them.
      stream.on('error', () => undefined);
      stream.resume();
    });
    this.parser.on('field', (name, value, info) => {
      this.parts.push({ name, mimeType: info.mimeType, isFile: false, encoding: info.encoding.toLowerCase() });
      if (value.length <= SHORT_FIELD) listeners.onField?.(name, value);
    });
    this.finished = new Promise<void>((resolve) => {
      this.parser.once('error', (err: Error) => {
        this.error ??= err;
        resolve();
      });
      this.parser.once('close', () => resolve());
    });
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.error) return;
    await new Promise<void>((resolve) => {
      this.parser.write(chunk, (err) => {
        if (err) this.error ??= err;
        resolve();
      });
    });
  }

  async end(): Promise<void> {
    if (!this.error) this.parser.end();
    await this.finished;
  }

  destroy(): void {
    this.parser.destroy();
  }
}
