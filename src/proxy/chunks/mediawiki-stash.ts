import { isVeilError } from '../../pipeline/errors.js';
import type { UploadOutcome } from '../types.js';
import { ChunkOffsetError, type Assembly } from './assemblies.js';
import { formData } from './form-body.js';
import { intParam } from './form-params.js';
import { ownerKey } from './owner.js';
import type { ChunkProtocol, ChunkRequest } from './types.js';
import { judgeWholeFile } from './whole-file.js';

/**
 * MediaWiki's stash chunks (ApiUpload::getChunkResult), as UploadWizard, mw.Upload and
 * VisualEditor send them: `action=upload&stash=1&filename&filesize&offset` and the piece in a
 * `chunk` file part, with `filekey` from the second piece on. No piece reaches the wiki as sent.
 * Veil answers every piece but the last itself, as MediaWiki would (`result: Continue` with the
 * next offset and a file key of Veil's own). With the last piece in, the whole file is
 * sanitised and uploaded to the wiki as stash chunks of the client's own chunk size (the size
 * the wiki accepts), with the client's parameters and session; the wiki's answer to the last of
 * those goes back to the client. It carries the wiki's own file key, which the client's final
 * `action=upload&filekey=...` (the commit, with no file) then uses.
 */
export interface MediaWikiAnswers {
  /** An API error in the format the request asked for (`errorformat`, `formatversion`). */
  apiError(params: Record<string, string>, code: string, info: string, extra?: Record<string, unknown>): Response;
  apiResult(value: unknown): Response;
}

export function mediawikiStashChunks(answers: MediaWikiAnswers): ChunkProtocol {
  return async (request) => {
    const { params } = request;
    if (params.action !== 'upload') return undefined;
    const chunks = request.upload.parts.filter((part) => part.isFile && part.name === 'chunk');
    if (chunks.length === 0) return undefined;
    // PHP and Veil might not pick the same one of two.
    if (chunks.length > 1) return answers.apiError(params, 'invalid-chunk', 'This request carries more than one chunk. Please send one piece per request.');
    const chunk = chunks[0]!;
    try {
      return await stashChunk(request, answers, await request.upload.spool.read(chunk.dataStart, chunk.dataEnd));
    } catch (err) {
      if (err instanceof ChunkOffsetError) return answers.apiError(params, 'stashfailed', err.message, { offset: err.expected });
      if (isVeilError(err)) return request.refuse(err);
      throw err;
    }
  };
}

async function stashChunk(request: ChunkRequest, answers: MediaWikiAnswers, bytes: Buffer): Promise<Response> {
  const { params, assemblies } = request;
  if (!assemblies) return answers.apiError(params, 'stashfailed', 'Uploads in pieces are not available on this site. Please upload the file in one piece.');
  const offset = intParam(params.offset);
  const filesize = intParam(params.filesize);
  if (offset === undefined) return answers.apiError(params, 'missingparam', 'The "offset" parameter must be set.');
  if (filesize === undefined) return answers.apiError(params, 'missingparam', 'The "filesize" parameter must be set.');
  if (offset + bytes.byteLength > filesize) return answers.apiError(params, 'invalid-chunk', 'Offset plus current chunk is greater than claimed file size.');
  const owner = await ownerKey(request.req.headers, /_session$/i, params.token);

  let assembly: Assembly | undefined;
  if (offset === 0) {
    assembly = await assemblies.start(owner, filesize);
  } else {
    assembly = params.filekey ? await assemblies.find(params.filekey, owner) : undefined;
    if (!assembly) return answers.apiError(params, 'stashfailed', 'Veil has no upload in progress under this file key (it may have expired). Please start the upload again.');
    if (assembly.total !== filesize) return answers.apiError(params, 'invalid-chunk', 'The file size given with this piece differs from the one given with the first piece.');
  }
  let complete: boolean;
  try {
    complete = await assemblies.append(assembly, offset, bytes);
  } catch (err) {
    // A fresh assembly that could not take its first piece is of no use to anyone.
    if (offset === 0) await assemblies.drop(assembly.id);
    throw err;
  }
  if (!complete) return answers.apiResult({ upload: { result: 'Continue', offset: assembly.size, filekey: assembly.id } });

  const chunkSize = assembly.chunkSize;
  const whole = await assemblies.take(assembly);
  const judged = await judgeWholeFile(whole);
  if (judged.kind === 'refused') return request.refuse(judged.error);
  if (judged.kind === 'other') {
    return stashInChunks(request, answers, { bytes: whole, filename: params.filename ?? 'file', contentType: 'application/octet-stream' }, chunkSize);
  }
  const result = await request.sanitise({ bytes: whole, filename: params.filename, declaredType: declaredType(request), field: 'chunk' });
  if (!result.ok) return request.problem(result.problem, params.filename);
  const sanitised = result.outcomes[0]!;
  return stashInChunks(request, answers, { bytes: sanitised.bytes, filename: withExtensionOf(params.filename, sanitised), contentType: sanitised.contentType }, chunkSize);
}

interface StashFile {
  bytes: Uint8Array;
  /** The wiki page name asked for (`filename`), with the extension of what is sent. */
  filename: string;
  contentType: string;
}

/**
 * Uploads the file to the wiki as stash chunks. The pieces before the last are asked for in
 * plain JSON so Veil can read the wiki's file key; the last uses the client's own format, and
 * its answer is the client's.
 */
async function stashInChunks(request: ChunkRequest, answers: MediaWikiAnswers, file: StashFile, chunkSize: number): Promise<Response> {
  const size = file.bytes.byteLength;
  const step = Math.max(1, chunkSize);
  const clientParams = { ...request.params };
  for (const name of ['chunk', 'file', 'offset', 'filekey', 'filesize', 'url']) delete clientParams[name];
  let filekey: string | undefined;
  for (let offset = 0; ; offset += step) {
    const piece = file.bytes.subarray(offset, Math.min(size, offset + step));
    const last = offset + piece.byteLength >= size;
    const fields: Record<string, string> = { ...clientParams, filename: file.filename, filesize: String(size), offset: String(offset), stash: '1' };
    if (filekey) fields.filekey = filekey;
    if (!last) Object.assign(fields, { format: 'json', formatversion: '2', errorformat: 'bc' });
    const res = await request.forward(wikiRequest(request.req, fields, { name: 'chunk', filename: file.filename, contentType: file.contentType, bytes: piece }));
    if (last) return res;
    const answer = (await res.json().catch(() => undefined)) as WikiAnswer | undefined;
    if (answer?.upload?.result === 'Continue' && typeof answer.upload.filekey === 'string') {
      filekey = answer.upload.filekey;
      continue;
    }
    const code = answer?.error?.code ?? 'stashfailed';
    const info = answer?.error?.info ?? `The wiki did not accept the checked file (HTTP ${res.status}).`;
    return answers.apiError(request.params, code, info);
  }
}

interface WikiAnswer {
  upload?: { result?: string; filekey?: unknown };
  error?: { code?: string; info?: string };
}

function wikiRequest(original: Request, fields: Record<string, string>, file: Parameters<typeof formData>[1]): Request {
  const { body, contentType } = formData(fields, file);
  const headers = new Headers(original.headers);
  for (const name of ['content-length', 'transfer-encoding', 'content-type', 'content-md5', 'digest', 'content-digest', 'repr-digest', 'expect']) headers.delete(name);
  headers.set('content-type', contentType);
  headers.set('content-length', String(body.byteLength));
  return new Request(original.url, { method: 'POST', headers, body, signal: original.signal } as RequestInit);
}

function declaredType(request: ChunkRequest): string | undefined {
  return request.upload.parts.find((part) => part.isFile && part.name === 'chunk')?.mimeType;
}

/** The wiki refuses a name whose extension does not match the file: keep the name, fix the extension. */
function withExtensionOf(filename: string | undefined, sanitised: Extract<UploadOutcome, { kind: 'sanitised' }>): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(sanitised.filename)?.[1] ?? 'jpg';
  const name = filename?.trim() || sanitised.filename;
  const current = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  if (current === ext.toLowerCase() || (current === 'jpeg' && ext === 'jpg')) return name;
  return `${name.replace(/\.[A-Za-z0-9]+$/, '')}.${ext}`;
}

