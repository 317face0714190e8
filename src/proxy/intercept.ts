import { VeilError, isVeilError, toVeilError } from '../pipeline/errors.js';
import { answerChunkedForm, refuseChunkedRequest, type ChunkAssemblies } from './chunks/index.js';
import { readBounded } from './inspect/read-bounded.js';
import type { ProblemDetails, UploadMatch, UploadProblem } from './cms/types.js';
import { looksLikeImage } from './inspect/looks-like-image.js';
import { readMultipartForm, type FormPart, type MultipartUpload } from './multipart/multipart-form.js';
import { rebuildMultipart, type PartReplacement } from './multipart/multipart-rebuild.js';
import { bodyNature, NATURE_BYTES, type ContainerKind } from './inspect/body-nature.js';
import { containerRefusal, hasPictureSignature, scanContainer, type BodyBytes } from './inspect/containers.js';
import type { ImageKind } from './inspect/looks-like-image.js';
import { peekBody } from './inspect/peek.js';
import { SignatureGuard } from './inspect/signature-guard.js';
import { textPass, type TextPass } from './inspect/text-pass.js';
import { isPictureTail } from './inspect/picture-signatures.js';
import { sanitiseAll } from './run-sanitiser.js';
import type { SpoolFactory } from './spool/spool.js';
import { bodyTooLarge, compressedBody, hiddenPicture, imageTooLarge, unreadableForm } from './upload-errors.js';
import type { ProxyLimits, SanitiseUpload, UploadContext, UploadEvent, UploadFile } from './types.js';

export interface InterceptOptions {
  sanitise: SanitiseUpload;
  /** Sends a request to the CMS (hints already bound). */
  forward: (req: Request) => Promise<Response>;
  limits: ProxyLimits;
  /** Where multipart bodies are kept while parsed: disk on Node, memory at the edge. */
  spool: SpoolFactory;
  onUpload?: (event: UploadEvent) => void;
  /** Files arriving in pieces, kept between requests (src/proxy/chunks/). */
  chunks?: ChunkAssemblies;
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
    const chunked = refuseChunkedRequest(req, url, match);
    if (chunked) throw chunked;
    return await run.decide();
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

  /**
   * One decision per body, made from what its first bytes ARE before any adapter reads it as a
   * form or as text: a picture is sanitised whatever its Content-Type; a body that starts inside a
   * picture or hides one after padding is refused; documents, archives and videos are looked
   * inside; everything else is read the way the adapter knows, then checked for pictures in any
   * spelling before it goes on.
   */
  async decide(): Promise<Response> {
    const peeked = await peekBody(this.req.body!, NATURE_BYTES);
    const nature = bodyNature(peeked.head, peeked.ended);
    const body = peeked.body;
    if (this.match.body === 'multipart' || this.match.body === 'inspect') {
      // A multipart body starts with its boundary; a picture (or part of one) there is no form.
      if (nature.kind === 'picture') throw unreadableForm('it is a picture sent as if it were a form');
      return this.match.body === 'multipart' ? this.multipart(body) : this.inspected(body);
    }
    if (nature.kind === 'picture') return this.raw(body, nature.format);
    if (nature.kind === 'hidden-picture') throw hiddenPicture();
    if (this.match.body === 'embedded') return this.embedded(body);
    if (nature.kind === 'container') return this.container(body, nature.format);
    if (nature.kind === 'text') return this.text(body);
    return this.binary(body);
  }

  async multipart(body: ReadableStream<Uint8Array>): Promise<Response> {
    const { limits } = this.options;
    if (declaredLength(this.req) > limits.maxBodyBytes) throw bodyTooLarge(limits.maxBodyBytes);
    const upload = await readMultipartForm(body, this.req.headers.get('content-type') ?? '', {
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
      const chunk = await this.chunked(upload);
      if (chunk) return chunk;
      // Text fields and other parts may carry pictures too (a pasted image in a node's body field,
      // a cropper's base64 field, a PDF): each is looked at as a body of its own would be.
      const inner = await this.picturesInOtherParts(upload);
      const innerImages = inner.flatMap((entry) => entry.pass.images);
      this.images = upload.images.length + innerImages.length;
      if (upload.images.length > 0) this.filename = upload.images[0]!.filename;
      if (this.images === 0) {
        handedOver = true;
        // No picture: the original bytes, with the original headers.
        return await this.options.forward(this.withBody(this.req.headers, upload.spool.stream([{ start: 0, end: upload.size }])));
      }
      const files: UploadFile[] = [];
      for (const part of upload.images) {
        files.push({ bytes: await upload.spool.read(part.dataStart, part.dataEnd), filename: part.filename, declaredType: part.mimeType, field: part.name });
      }
      for (const bytes of innerImages) files.push({ bytes });
      const result = await sanitiseAll(files, this.ctx, this.options.sanitise, this.options.limits.uploadTimeoutMs, this.req.signal);
      if (!result.ok) return this.answerProblem(result.problem, result.outcomes, fileOf(upload.images, result.outcomes, result.problem));
      const replacements = new Map<FormPart, PartReplacement>();
      upload.images.forEach((part, i) => replacements.set(part, result.outcomes[i]!));
      let next = upload.images.length;
      for (const { part, pass } of inner) {
        const sanitised = result.outcomes.slice(next, next + pass.images.length);
        next += pass.images.length;
        replacements.set(part, { bytes: pass.rebuild(sanitised), keepHeaders: true });
      }
      // An adapter may rename the file in other fields too (DokuWiki's mediaid): their own headers, the new value.
      const renamed = this.match.renamed?.(result.outcomes.slice(0, upload.images.length), this.url) ?? {};
      for (const part of upload.parts) {
        const value = !part.isFile ? renamed.fields?.[part.name] : undefined;
        if (value !== undefined) replacements.set(part, { bytes: Buffer.from(value, 'utf8'), keepHeaders: true });
      }
      const rebuilt = rebuildMultipart(upload, replacements);
      handedOver = true;
      const headers = replaceBodyHeaders(this.req.headers, { ...renamed.headers, 'content-type': rebuilt.contentType, 'content-length': String(rebuilt.contentLength) });
      return await this.forwardSanitised(headers, rebuilt.body, result.outcomes, renamed.url);
    } finally {
      if (!handedOver) await upload.spool.close();
    }
  }

  /** The form's parts that are not pictures themselves but hold some; refuses what it cannot rewrite. */
  private async picturesInOtherParts(upload: MultipartUpload): Promise<{ part: FormPart; pass: TextPass }[]> {
    const found: { part: FormPart; pass: TextPass }[] = [];
    const limit = this.textLimit();
    for (const part of upload.parts) {
      if (upload.images.includes(part)) continue;
      const range: BodyBytes = { size: part.dataEnd - part.dataStart, read: (start, end) => upload.spool.read(part.dataStart + start, part.dataStart + end) };
      const head = await range.read(0, Math.min(range.size, NATURE_BYTES));
      const nature = bodyNature(head, range.size <= NATURE_BYTES);
      // SVG markup in a text field is common (icons in page builders); rasters inside it are found below.
      if (nature.kind === 'hidden-picture' || (nature.kind === 'picture' && nature.format !== 'svg')) throw hiddenPicture();
      if (nature.kind === 'container') {
        const finding = await scanContainer(nature.format, range, { maxInMemoryBytes: limit });
        if (finding) throw containerRefusal(nature.format, finding);
        continue;
      }
      if (range.size > limit) {
        if (await hasPictureSignature(range)) throw hiddenPicture();
        continue;
      }
      const pass = await textPass(await range.read(0, range.size), { maxInMemoryBytes: limit });
      if (pass.images.length > 0) found.push({ part, pass });
    }
    return found;
  }

  /** A piece of a file (src/proxy/chunks/): answered there, or undefined for an ordinary form. */
  private chunked(upload: Awaited<ReturnType<typeof readMultipartForm>>): Promise<Response | undefined> {
    const { limits, sanitise } = this.options;
    return answerChunkedForm({
      req: this.req,
      url: this.url,
      match: this.match,
      upload,
      assemblies: this.options.chunks,
      limits,
      clientIp: this.ctx.clientIp,
      sanitise: async (file) => {
        this.images = 1;
        this.filename = file.filename;
        const result = await sanitiseAll([file], this.ctx, sanitise, limits.uploadTimeoutMs, this.req.signal);
        if (result.ok) this.emit('sanitised', result.outcomes.map((o) => o.uploadId), {});
        return result;
      },
      forward: this.options.forward,
      problem: (problem, filename) => this.answerProblem(problem, problem.uploadId ? [{ uploadId: problem.uploadId }] : [], filename ?? this.filename),
    });
  }

  /** The body is one picture: sanitised, and sent on as the body of the same request. */
  async raw(body: ReadableStream<Uint8Array>, _format: ImageKind): Promise<Response> {
    const { limits } = this.options;
    if (declaredLength(this.req) > limits.maxUploadBytes) {
      await body.cancel().catch(() => undefined);
      throw imageTooLarge(limits.maxUploadBytes);
    }
    const bytes = await readWhole(body, limits.maxUploadBytes, imageTooLarge);
    this.images = 1;
    this.filename = dispositionFilename(this.req.headers.get('content-disposition')) ?? this.match.filename;
    const file: UploadFile = { bytes, filename: this.filename, declaredType: this.req.headers.get('content-type') ?? undefined };
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

  async inspected(body: ReadableStream<Uint8Array>): Promise<Response> {
    const bytes = await readWhole(body, this.options.limits.maxUploadBytes);
    if (looksLikeImage(bytes)) throw new VeilError('UNSUPPORTED_FORMAT', 'Pictures cannot be uploaded this way through Veil; please use the website\'s media library.');
    const refusal = this.match.inspect?.(bytes);
    if (refusal) throw refusal;
    // Pictures spelled as text inside its parts are rewritten in place like any text body's.
    return this.text(bytes);
  }

  /** A body whose adapter knows where its files are (base64 in JSON, XML-RPC), then the generic pass. */
  async embedded(body: ReadableStream<Uint8Array>): Promise<Response> {
    const bytes = await readWhole(body, this.textLimit());
    const found = this.match.embedded!(bytes);
    if (found.images.length === 0) return this.text(bytes);

    this.images = found.images.length;
    this.filename = found.images[0]!.filename;
    const result = await sanitiseAll(found.images, this.ctx, this.options.sanitise, this.options.limits.uploadTimeoutMs, this.req.signal);
    if (!result.ok) return this.answerProblem(result.problem, result.outcomes, this.filename);
    const rebuilt = found.rebuild(result.outcomes);
    const contentType = rebuilt.contentType ?? this.req.headers.get('content-type') ?? 'application/octet-stream';
    return this.text(rebuilt.body, { contentType, ours: result.outcomes });
  }

  /**
   * A body read whole and passed on with every picture in it sanitised in place, or refused when a
   * picture is spelled in a way Veil cannot rewrite. `previous`: an adapter's pass already
   * sanitised some pictures into these bytes.
   */
  async text(body: ReadableStream<Uint8Array> | Uint8Array, previous?: { contentType: string; ours: { uploadId: string; bytes: Uint8Array }[] }): Promise<Response> {
    const bytes = body instanceof Uint8Array ? body : await readWhole(body, this.textLimit());
    const pass = await textPass(bytes, { maxInMemoryBytes: this.textLimit() }, previous?.ours.map((o) => o.bytes));
    const earlier = previous?.ours ?? [];
    if (pass.images.length === 0) {
      if (!previous) return this.options.forward(this.withBody(this.req.headers, bytes));
      return this.forwardSanitised(this.rebuiltHeaders(previous.contentType, bytes.byteLength), bytes, earlier);
    }
    this.images += pass.images.length;
    const files: UploadFile[] = pass.images.map((image) => ({ bytes: image }));
    const result = await sanitiseAll(files, this.ctx, this.options.sanitise, this.options.limits.uploadTimeoutMs, this.req.signal);
    if (!result.ok) return this.answerProblem(result.problem, [...earlier, ...result.outcomes], this.filename);
    const rebuilt = pass.rebuild(result.outcomes);
    const contentType = previous?.contentType ?? this.req.headers.get('content-type') ?? 'application/octet-stream';
    return this.forwardSanitised(this.rebuiltHeaders(contentType, rebuilt.byteLength), rebuilt, [...earlier, ...result.outcomes]);
  }

  /** A document, archive or video: kept whole, looked inside, then sent on unchanged or refused. */
  async container(body: ReadableStream<Uint8Array>, kind: ContainerKind): Promise<Response> {
    const { limits } = this.options;
    if (declaredLength(this.req) > limits.maxBodyBytes) throw bodyTooLarge(limits.maxBodyBytes);
    const spool = await this.options.spool();
    let handedOver = false;
    try {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (spool.size + value.byteLength > limits.maxBodyBytes) {
          await reader.cancel().catch(() => undefined);
          throw bodyTooLarge(limits.maxBodyBytes);
        }
        await spool.append(value);
      }
      const finding = await scanContainer(kind, { size: spool.size, read: (start, end) => spool.read(start, end) }, { maxInMemoryBytes: this.textLimit() });
      if (finding) throw containerRefusal(kind, finding);
      handedOver = true;
      return await this.options.forward(this.withBody(this.req.headers, spool.stream([{ start: 0, end: spool.size }])));
    } finally {
      if (!handedOver) await spool.close();
    }
  }

  /**
   * Any other binary body streams on while every byte is checked for a picture signature before
   * it is sent; at the first one the CMS's request is cut off and the upload refused.
   */
  async binary(body: ReadableStream<Uint8Array>): Promise<Response> {
    // Up to the text limit the body is judged whole before a byte is sent: a JPEG's tail (its
    // scan data, ending with EOI) only shows itself at the end.
    // A body that says it is larger streams at once rather than waiting in memory.
    const peeked = declaredLength(this.req) > this.textLimit() ? { ended: false, head: new Uint8Array(0), body } : await peekBody(body, this.textLimit() + 1);
    if (peeked.ended) {
      const bytes = peeked.head;
      if (isPictureTail(bytes)) throw hiddenPicture();
      return this.text(bytes);
    }
    const guard = new SignatureGuard();
    const guarded = guard.wrap(peeked.body, () => hiddenPicture());
    const res = await this.options.forward(this.withBody(this.req.headers, guarded));
    if (guard.found) {
      await res.body?.cancel().catch(() => undefined);
      throw hiddenPicture();
    }
    return res;
  }

  /** Text bodies are read whole: base64 is 4/3 of the picture, and the text around it is small. */
  private textLimit(): number {
    return Math.ceil((this.options.limits.maxUploadBytes * 4) / 3) + EMBEDDED_BODY_SLACK;
  }

  private rebuiltHeaders(contentType: string, length: number): Headers {
    return replaceBodyHeaders(this.req.headers, { 'content-type': contentType, 'content-length': String(length) });
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

/** The whole body, refused with FILE_TOO_LARGE (worded by `tooLarge`) past `max` bytes. */
async function readWhole(body: ReadableStream<Uint8Array>, max: number, tooLarge: (max: number) => VeilError = bodyTooLarge): Promise<Uint8Array> {
  const bytes = await readBounded(body, max);
  if (!bytes) throw tooLarge(max);
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
