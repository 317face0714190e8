import { VeilError, isVeilError } from '../../pipeline/errors.js';
import type { ChunkAssemblies } from './assemblies.js';
import { formData } from './form-body.js';
import { intParam, phpName } from './form-params.js';
import type { ChunkedFormContext } from './index.js';
import { ownerKey } from './owner.js';
import { judgeWholeFile } from './whole-file.js';

/**
 * Upload libraries that send a file as numbered multipart pieces, one after another: Plupload,
 * resumable.js, flow.js, Dropzone and Fine Uploader. Veil answers every piece but the last
 * itself (200 `{"success":true}`, which each of them takes as "next piece"), puts the file
 * together privately, sanitises it, and sends the site's server the sanitised file as what each
 * library sends for a file small enough for one piece: piece 1 of 1, sizes to match. Server-side
 * handlers for these libraries treat that as a complete upload. Pieces must arrive in order
 * (resumable.js and flow.js send three at once unless told otherwise: the refusal says so).
 */
interface PieceProtocol {
  protocol: string;
  index: string;
  count: string;
  first: 0 | 1;
  /** Fields naming the upload, so pieces of two files at once are kept apart. */
  ids: string[];
  /** The field declaring the whole file's size, when the library sends one. */
  size?: string;
  /** What the library sends for a file that fits in one piece of `size` bytes. */
  single(size: number): Record<string, string>;
  advice: string;
}

const PROTOCOLS: PieceProtocol[] = [
  { protocol: 'Plupload', index: 'chunk', count: 'chunks', first: 0, ids: ['name'], single: () => ({ chunk: '0', chunks: '1' }), advice: 'turn off chunking in Plupload (chunk_size: 0)' },
  {
    protocol: 'resumable.js',
    index: 'resumableChunkNumber',
    count: 'resumableTotalChunks',
    first: 1,
    ids: ['resumableIdentifier'],
    size: 'resumableTotalSize',
    single: (n) => ({ resumableChunkNumber: '1', resumableTotalChunks: '1', resumableChunkSize: String(n), resumableCurrentChunkSize: String(n), resumableTotalSize: String(n) }),
    advice: 'set resumable.js to send one piece at a time (simultaneousUploads: 1), or give it a chunkSize larger than the largest photo',
  },
  {
    protocol: 'flow.js',
    index: 'flowChunkNumber',
    count: 'flowTotalChunks',
    first: 1,
    ids: ['flowIdentifier'],
    size: 'flowTotalSize',
    single: (n) => ({ flowChunkNumber: '1', flowTotalChunks: '1', flowChunkSize: String(n), flowCurrentChunkSize: String(n), flowTotalSize: String(n) }),
    advice: 'set flow.js to send one piece at a time (simultaneousUploads: 1), or give it a chunkSize larger than the largest photo',
  },
  {
    protocol: 'Dropzone',
    index: 'dzchunkindex',
    count: 'dztotalchunkcount',
    first: 0,
    ids: ['dzuuid'],
    size: 'dztotalfilesize',
    single: (n) => ({ dzchunkindex: '0', dztotalchunkcount: '1', dzchunksize: String(n), dztotalfilesize: String(n), dzchunkbyteoffset: '0' }),
    advice: 'turn off Dropzone\'s parallelChunkUploads, or its "chunking" option',
  },
  {
    protocol: 'Fine Uploader',
    index: 'qqpartindex',
    count: 'qqtotalparts',
    first: 0,
    ids: ['qquuid'],
    size: 'qqtotalfilesize',
    single: (n) => ({ qqpartindex: '0', qqtotalparts: '1', qqchunksize: String(n), qqtotalfilesize: String(n), qqpartbyteoffset: '0' }),
    advice: 'turn off Fine Uploader\'s concurrent chunking, or chunking altogether (chunking.enabled: false)',
  },
];

/** Cookies that name a session or a signed-in user: others (analytics, preferences) may change between pieces. */
const SESSION_COOKIE = /sess|sid|auth|logged|login|token|user|moodle|joomla/i;

export async function answerFormPieces(context: ChunkedFormContext, params: Readonly<Record<string, string>>, refuse: (error: VeilError) => Response): Promise<Response | undefined> {
  const p = PROTOCOLS.find((candidate) => params[phpName(candidate.index)] !== undefined && params[phpName(candidate.count)] !== undefined);
  if (!p) return undefined;
  const index = intParam(params[phpName(p.index)]);
  const count = intParam(params[phpName(p.count)]);
  if (index === undefined || count === undefined || count < 1 || index < p.first || index - p.first >= count) {
    return refuse(new VeilError('BAD_REQUEST', `This piece of a ${p.protocol} upload is not numbered in a way Veil can follow, so it was not uploaded.`));
  }
  if (count === 1) return undefined;
  const { assemblies } = context;
  if (!assemblies) return refuse(piecesUnavailable(p));
  const files = context.upload.parts.filter((part) => part.isFile);
  if (files.length !== 1) return refuse(new VeilError('BAD_REQUEST', `This piece of a ${p.protocol} upload carries ${files.length} files; Veil can put together only one file per request.`));
  const file = files[0]!;
  try {
    return await addPiece(context, assemblies, p, params, { index: index - p.first, count }, file);
  } catch (err) {
    if (isVeilError(err)) return refuse(err);
    throw err;
  }
}

async function addPiece(
  context: ChunkedFormContext,
  assemblies: ChunkAssemblies,
  p: PieceProtocol,
  params: Readonly<Record<string, string>>,
  at: { index: number; count: number },
  file: ChunkedFormContext['upload']['parts'][number],
): Promise<Response> {
  const owner = await ownerKey(context.req.headers, SESSION_COOKIE, context.clientIp ?? '');
  const label = `${p.protocol}\n${p.ids.map((id) => params[phpName(id)] ?? '').join('\n')}\n${file.filename ?? ''}`;
  const declared = p.size ? intParam(params[phpName(p.size)]) : undefined;
  const assembly = at.index === 0 ? await assemblies.start(owner, declared, label) : await assemblies.findByLabel(owner, label);
  if (!assembly) throw new VeilError('BAD_REQUEST', `Veil has no earlier pieces of this ${p.protocol} upload (they may have expired). Please upload the file again.`);
  if (assembly.pieces !== at.index) {
    await assemblies.drop(assembly.id);
    throw new VeilError('BAD_REQUEST', `The pieces of this ${p.protocol} upload arrived out of order, which Veil cannot check, so it was not uploaded. Please upload it again; the site's administrator can ${p.advice}.`);
  }
  const bytes = await context.upload.spool.read(file.dataStart, file.dataEnd);
  try {
    await assemblies.append(assembly, assembly.size, bytes);
  } catch (err) {
    await assemblies.drop(assembly.id);
    throw err;
  }
  if (at.index < at.count - 1) return new Response('{"success":true}', { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });

  const whole = await assemblies.take(assembly);
  if (declared !== undefined && declared !== whole.byteLength) throw new VeilError('BAD_REQUEST', `The pieces of this ${p.protocol} upload do not add up to the size it announced, so it was not uploaded.`);
  const judged = await judgeWholeFile(whole);
  if (judged.kind === 'refused') throw judged.error;
  let out = { bytes: whole as Uint8Array, filename: file.filename ?? 'file', contentType: file.mimeType || 'application/octet-stream' };
  if (judged.kind === 'picture') {
    const result = await context.sanitise({ bytes: whole, filename: file.filename, declaredType: file.mimeType, field: file.name });
    if (!result.ok) return context.problem(result.problem, file.filename);
    out = result.outcomes[0]!;
  }
  return context.forward(await singlePieceRequest(context, p, file.name, out));
}

/** The final request again, with the whole (sanitised) file as the only piece. */
async function singlePieceRequest(context: ChunkedFormContext, p: PieceProtocol, field: string, file: { bytes: Uint8Array; filename: string; contentType: string }): Promise<Request> {
  const single = p.single(file.bytes.byteLength);
  const fields: Array<[string, string]> = [];
  for (const part of context.upload.parts) {
    if (part.isFile) continue;
    const name = phpName(part.name);
    const value = name in single ? single[name]! : (await context.upload.spool.read(part.dataStart, part.dataEnd)).toString('utf8');
    fields.push([part.name, value]);
  }
  const sent = new Set(fields.map(([name]) => phpName(name)));
  for (const [name, value] of Object.entries(single)) if (!sent.has(name) && !context.url.searchParams.has(name)) fields.push([name, value]);
  const url = new URL(context.req.url);
  for (const [name, value] of Object.entries(single)) if (url.searchParams.has(name)) url.searchParams.set(name, value);
  const { body, contentType } = formData(fields, { name: field, filename: file.filename, contentType: file.contentType, bytes: file.bytes });
  const headers = new Headers(context.req.headers);
  for (const name of ['content-length', 'transfer-encoding', 'content-type', 'content-md5', 'digest', 'content-digest', 'repr-digest', 'expect', 'content-range']) headers.delete(name);
  headers.set('content-type', contentType);
  headers.set('content-length', String(body.byteLength));
  return new Request(url, { method: context.req.method, headers, body, signal: context.req.signal } as RequestInit);
}

function piecesUnavailable(p: PieceProtocol): VeilError {
  return new VeilError('UNSUPPORTED_FORMAT', `This file was sent in pieces (${p.protocol}), which this Veil cannot put together, so it was not uploaded. Please upload it again in one piece; the site's administrator can ${p.advice}.`);
}
