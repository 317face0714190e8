import type { VeilError } from '../../pipeline/errors.js';
import type { UploadProblem } from '../cms/types.js';
import type { MultipartUpload } from '../multipart/multipart-form.js';
import type { SanitiseAllResult } from '../run-sanitiser.js';
import type { ProxyLimits, UploadFile } from '../types.js';
import type { ChunkAssemblies } from './assemblies.js';

/** What a chunk protocol needs to answer one multipart request that carries a piece of a file. */
export interface ChunkRequest {
  req: Request;
  url: URL;
  upload: MultipartUpload;
  /** The request's parameters as PHP reads them: query string, then form fields (last one wins). */
  params: Readonly<Record<string, string>>;
  assemblies?: ChunkAssemblies;
  limits: ProxyLimits;
  /** Sanitises the whole file (bounded by the upload timeout, stopped when the client leaves). */
  sanitise(file: UploadFile): Promise<SanitiseAllResult>;
  /** Sends a request to the CMS. */
  forward(req: Request): Promise<Response>;
  /** Answers a held or refused file in the CMS's own format (the adapter's `respond`). */
  problem(problem: UploadProblem, filename?: string): Response;
  refuse(error: VeilError): Response;
}

/**
 * A CMS's own chunked-upload protocol (an adapter's `chunked`): answers the request when it is
 * a piece of a file, or returns undefined to let the ordinary multipart handling go on.
 */
export type ChunkProtocol = (request: ChunkRequest) => Promise<Response | undefined>;
