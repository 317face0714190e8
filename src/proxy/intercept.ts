import { VeilError, isVeilError, toVeilError } from '../pipeline/errors.js';
import { readBounded } from './inspect/read-bounded.js';
import type { ProblemDetails, UploadMatch, UploadProblem } from './cms/types.js';
import { looksLikeImage } from './inspect/looks-like-image.js';
import { readMultipartForm, type FormPart } from './multipart/multipart-form.js';
import { rebuildMultipart, type PartReplacement } from './multipart/multipart-rebuild.js';
import { sniffRawBody } from './inspect/raw-read.js';
import { sanitiseAll } from './run-sanitiser.js';
import type { SpoolFactory } from './spool/spool.js';
import { bodyTooLarge, compressedBody } from './upload-errors.js';
import type { ProxyLimits, SanitiseUpload, UploadContext, UploadEvent, UploadFile } from './types.js';

export interface InterceptOptions {
  sanitise: SanitiseUpload;
  /** Sends a request to the CMS (hints already bound). */
  forward: (req: Request) => Promise<Response>;
  limits: ProxyLimits;
  /** Where multipart bodies are kept while parsed: disk on Node, memory at the edge. */
  spool: SpoolFactory;
  onUpload?: (event: UploadEvent) => void;
}

/** Room for the JSON (or other text) around base64 files in an `embedded` body. */
const EMBEDDED_BODY_SLACK = 64 * 1024;

/** Headers that describe the old body and would be wrong for the rebuilt one. */
const BODY_HEADERS = ['content-length', 'transfer-encoding', 'content-type', 'content-disposition', 'content-md5', 'digest', 'content-digest', 'repr-digest'];

/**
 * Handles a request an adapter claimed: a body without pictures goes on untouched; pictures are
 * sanitised and the request rebuilt around the sanitised bytes; anything held, refused or failed
 * is answered in the CMS's own format and nothing is forwarded. Never throws.
 */
export async function interceptUpload(req: Request, url: URL, match: UploadMatch, ctx: UploadContext, options: InterceptOptions): Promise<Response> {
  const run = new UploadRun(req, url, match, ctx, options);
  try {
    const encoding = req.headers.get('content-encoding');
    if (encoding && encoding.trim().toLowerCase() !== 'identity') throw compressedBody(encoding);
    if (match.body === 'multipart') return await run.multipart();
    if (match.body === 'embedded') return await run.embedded();
    return match.body === 'inspect' ? await run.inspected() : await run.raw();
  } catch (err) {
    // A body that stopped arriving because the client left is a cancellation, not Veil's fault.
    const error = req.signal.aborted && !isVeilError(err) ? new VeilError('CANCELLED', 'The upload was cancelled: the connection closed before it arrived.', { cause: err }) : toVeilError(err);
    return run.refuse(error);
  }
}

class UploadRun {
  private readonly started = performance.now();
  private readonly fields: Record<string, string> = {};
  private filename?: string;
  private images = 0;

  constructor(
    private readonly req: Request,
    private readonly url: URL,
    private readonly match: UploadMatch,
    private readonly ctx: UploadContext,
    private readonly options: InterceptOptions,
  ) {}

  async multipart(): Promise<Response> {
    const { limits } = this.options;
    if (declaredLength(this.req) > limits.maxBodyBytes) throw bodyTooLarge(limits.maxBodyBytes);
    const upload = await readMultipartForm(this.req.body!, this.req.headers.get('content-type') ?? '', {
      maxUploadBytes: limits.maxUploadBytes,
      maxBodyBytes: limits.maxBodyBytes,
      spool: this.options.spool,
      onField: (name, value) => {
        this.fields[name] ??= value;
      },
      onFile: (_name, filename) => {
        this.filename = filename;
      },
    });
    let handedOver = false;
    try {
      this.images = upload.images.length;
      if (upload.images.length > 0) this.filename = upload.images[0]!.filename;
      if (upload.images.length === 0) {
        handedOver = true;
        // No picture: the original bytes, with the original headers.
        return await this.options.forward(this.withBody(this.req.headers, upload.spool.stream([{ start: 0, end: upload.size }])));
      }
      const files: UploadFile[] = [];
      for (const part of upload.images) {
        files.push({ bytes: await upload.spool.read(part.dataStart, part.dataEnd), filename: part.filename, declaredType: part.mimeType, field: part.name });
      }
      const result = await sanitiseAll(files, this.ctx, this.options.sanitise, this.options.limits.uploadTimeoutMs, this.req.signal);
      if (!result.ok) return this.answerProblem(result.problem, result.outcomes, fileOf(upload.images, result.outcomes, result.problem));
      const replacements = new Map<FormPart, PartReplacement>();
      upload.images.forEach((part, i) => replacements.set(part, result.outcomes[i]!));
      const renamed = this.match.renamed?.(result.outcomes, this.url) ?? {};
      const fieldValues = new Map<FormPart, string>();
      for (const part of upload.parts) {
        const value = !part.isFile ? renamed.fields?.[part.name] : undefined;
        if (value !== undefined) fieldValues.set(part, value);
      }
      const rebuilt = rebuildMultipart(upload, replacements, fieldValues);
      handedOver = true;
      const headers = replaceBodyHeaders(this.req.headers, { ...renamed.headers, 'content-type': rebuilt.contentType, 'content-length': String(rebuilt.contentLength) });
      return await this.forwardSanitised(headers, rebuilt.body, result.outcomes, renamed.url);
    } finally {
      if (!handedOver) await upload.spool.close();
    }
  }

  async raw(): Promise<Response> {
    const { limits } = this.options;
    const sniffed = await sniffRawBody(this.req.body!, { maxUploadBytes: limits.maxUploadBytes, declaredLength: declaredLength(this.req) });
    if (sniffed.kind === 'not-image') return this.options.forward(this.withBody(this.req.headers, sniffed.body));

    this.images = 1;
    this.filename = dispositionFilename(this.req.headers.get('content-disposition')) ?? this.match.filename;
    const file: UploadFile = { bytes: sniffed.bytes, filename: this.filename, declaredType: this.req.headers.get('content-type') ?? undefined };
    const result = await sanitiseAll([file], this.ctx, this.options.sanitise, limits.uploadTimeoutMs, this.req.signal);
    if (!result.ok) return this.answerProblem(result.problem, result.outcomes, this.filename);
    const sanitised = result.outcomes[0]!;
    const renamed = this.match.renamed?.(result.outcomes, this.url) ?? {};
    const headers = replaceBodyHeaders(this.req.headers, {
      ...renamed.headers,
      'content-type': sanitised.contentType.replace(/[\r\n]/g, ''),
      'content-length': String(sanitised.bytes.byteLength),
      'content-disposition': attachmentDisposition(sanitised.filename),
    });
    return this.forwardSanitised(headers, sanitised.bytes, [sanitised], renamed.url);
  }

  async inspected(): Promise<Response> {
    const bytes = await readWhole(this.req.body!, this.options.limits.maxUploadBytes);
    if (looksLikeImage(bytes)) throw new VeilError('UNSUPPORTED_FORMAT', 'Pictures cannot be uploaded this way through Veil; please use the website\'s media library.');
    const refusal = this.match.inspect?.(bytes);
    if (refusal) throw refusal;
    return this.options.forward(this.withBody(this.req.headers, bytes));
  }

  async embedded(): Promise<Response> {
    const { limits } = this.options;
    // Base64 is 4/3 of the file, and the JSON around it is small.
    const bytes = await readWhole(this.req.body!, Math.ceil((limits.maxUploadBytes * 4) / 3) + EMBEDDED_BODY_SLACK);
    const found = this.match.embedded!(bytes);
    if (found.images.length === 0) return this.options.forward(this.withBody(this.req.headers, bytes));

    this.images = found.images.length;
    this.filename = found.images[0]!.filename;
    const result = await sanitiseAll(found.images, this.ctx, this.options.sanitise, limits.uploadTimeoutMs, this.req.signal);
    if (!result.ok) return this.answerProblem(result.problem, result.outcomes, this.filename);
    const rebuilt = found.rebuild(result.outcomes);
    const headers = replaceBodyHeaders(this.req.headers, {
      'content-type': rebuilt.contentType ?? this.req.headers.get('content-type') ?? 'application/octet-stream',
      'content-length': String(rebuilt.body.byteLength),
    });
    return this.forwardSanitised(headers, rebuilt.body, result.outcomes);
  }

  /** Sends the rebuilt request on, and records the upload as sanitised with the CMS's status. */
  private async forwardSanitised(headers: Headers, body: Uint8Array | ReadableStream<Uint8Array>, outcomes: { uploadId: string }[], url?: URL): Promise<Response> {
    const res = await this.options.forward(this.withBody(headers, body, url));
    this.emit('sanitised', outcomes.map((o) => o.uploadId), { upstreamStatus: res.status });
    return res;
  }

  refuse(error: VeilError): Response {
    return this.answerProblem({ kind: 'refused', error }, [], this.filename);
  }

  private answerProblem(problem: UploadProblem, outcomes: Array<{ uploadId?: string }>, filename: string | undefined): Response {
    const uploadIds = outcomes.map((o) => o.uploadId).filter((id): id is string => Boolean(id));
    this.emit(problem.kind, uploadIds, problem.kind === 'refused' ? { error: { code: problem.error.code, message: problem.error.message } } : {});
    const details: ProblemDetails = { url: this.url, fields: this.fields, filename, accept: this.req.headers.get('accept') };
    return this.match.respond(problem, details);
  }

  /** The request to forward; with `url` (a renamed file in the query) the CMS sees that URL instead. */
  private withBody(headers: Headers, body: ReadableStream<Uint8Array> | Uint8Array, url?: URL): Request {
    return new Request(url?.href ?? this.req.url, { method: this.req.method, headers, body, duplex: 'half', signal: this.req.signal } as RequestInit);
  }

  private emit(result: UploadEvent['result'], uploadIds: string[], extra: Pick<UploadEvent, 'error' | 'upstreamStatus'>): void {
    if (!this.options.onUpload) return;
    try {
      this.options.onUpload({ ...this.ctx, result, images: this.images, uploadIds, ...extra, durationMs: Math.round(performance.now() - this.started) });
    } catch {
      // A logging hook must never change what happens to an upload.
    }
  }
}

/** The client's filename of the picture whose outcome is the problem, for the answer. */
function fileOf(parts: FormPart[], outcomes: unknown[], problem: unknown): string | undefined {
  const at = outcomes.indexOf(problem);
  return parts[at >= 0 ? at : 0]?.filename;
}

/** The whole body, refused with FILE_TOO_LARGE past `max` bytes. */
async function readWhole(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const bytes = await readBounded(body, max);
  if (!bytes) throw bodyTooLarge(max);
  return bytes;
}

function declaredLength(req: Request): number {
  const value = Number(req.headers.get('content-length') ?? '');
  return Number.isFinite(value) ? value : 0;
}

function replaceBodyHeaders(original: Headers, replacements: Record<string, string>): Headers {
  const headers = new Headers(original);
  for (const name of BODY_HEADERS) headers.delete(name);
  for (const [name, value] of Object.entries(replacements)) headers.set(name, value);
  return headers;
}

/** `attachment; filename="..."`, with an RFC 5987 form too when the name is not plain ASCII. */
function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const value = `attachment; filename="${ascii}"`;
  return ascii === filename ? value : `${value}; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** The filename a raw upload declares (`filename*` preferred, as WordPress and RFC 6266 do). */
export function dispositionFilename(header: string | null): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*([\w-]+)'[^']*'([^;\s]+)/i.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[2]!);
    } catch {
      // fall back to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(header);
  if (!plain) return undefined;
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2];
}
