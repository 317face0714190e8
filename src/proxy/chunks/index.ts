import type { UploadMatch, UploadProblem } from '../cms/types.js';
import type { MultipartUpload } from '../multipart/multipart-form.js';
import type { SanitiseAllResult } from '../run-sanitiser.js';
import type { ProxyLimits, UploadFile } from '../types.js';
import type { VeilError } from '../../pipeline/errors.js';
import type { ChunkAssemblies } from './assemblies.js';
import { phpParams } from './form-params.js';
import { answerFormPieces } from './form-pieces.js';
import { chunkedByHeaders, chunkedByParams, chunkedByQuery, chunkedRefusal, pictureTailRefusal } from './protocols.js';
import { beginsInsidePicture } from './whole-file.js';

export { ChunkAssemblies, DEFAULT_ASSEMBLY_IDLE_MS } from './assemblies.js';
export { beginsInsidePicture } from './whole-file.js';
export type { ChunkProtocol, ChunkRequest } from './types.js';

/**
 * Before any body is read: a request whose headers or query string say it is one piece of a file,
 * in a protocol no adapter puts together, is refused (never forwarded). Multipart bodies are
 * judged again with their form fields by `answerChunkedForm`.
 */
export function refuseChunkedRequest(req: Request, url: URL, match: UploadMatch): VeilError | undefined {
  const byHeaders = chunkedByHeaders(req);
  if (byHeaders) return chunkedRefusal(byHeaders);
  if (match.body === 'multipart') return undefined;
  const byQuery = chunkedByQuery(url);
  return byQuery ? chunkedRefusal(byQuery) : undefined;
}

export interface ChunkedFormContext {
  req: Request;
  url: URL;
  match: UploadMatch;
  upload: MultipartUpload;
  assemblies?: ChunkAssemblies;
  limits: ProxyLimits;
  /** The uploader's address: whose pieces these are, where no session cookie says. */
  clientIp?: string;
  sanitise(file: UploadFile): Promise<SanitiseAllResult>;
  forward(req: Request): Promise<Response>;
  problem(problem: UploadProblem, filename?: string): Response;
}

/**
 * A multipart request that carries a piece of a file: the adapter's own protocol answers it
 * (MediaWiki), then the upload libraries' numbered pieces (form-pieces.ts); anything else that
 * says it is a piece is refused. Undefined for an ordinary form.
 */
export async function answerChunkedForm(context: ChunkedFormContext): Promise<Response | undefined> {
  const params = await phpParams(context.url, context.upload);
  const refuse = (error: VeilError): Response => context.problem({ kind: 'refused', error });
  if (context.match.chunked) {
    const answer = await context.match.chunked({ ...context, params, refuse });
    if (answer) return answer;
  }
  const pieces = await answerFormPieces(context, params, refuse);
  if (pieces) return pieces;
  const other = chunkedByParams(params);
  if (other) return refuse(chunkedRefusal(other));
  return (await startsInsidePicture(context.upload)) ? refuse(pictureTailRefusal()) : undefined;
}

/** A file part that begins inside a JPEG (a segment marker with no SOI): the tail of a split file. */
async function startsInsidePicture(upload: MultipartUpload): Promise<boolean> {
  for (const part of upload.parts) {
    if (part.dataEnd - part.dataStart < 4) continue;
    if (beginsInsidePicture(await upload.spool.read(part.dataStart, part.dataStart + 4))) return true;
  }
  return false;
}
