import type { ErrorCode, VeilError } from '../pipeline/errors.js';

/** One image the proxy found in an upload, handed to the sanitising step. */
export interface UploadFile {
  /** The whole file (bounded by maxUploadBytes). */
  bytes: Uint8Array;
  /** As the client sent it: untrusted, and often a pupil's name. */
  filename?: string;
  /** The client's Content-Type for the part or body: untrusted. */
  declaredType?: string;
  /** Multipart field name; absent for raw bodies. */
  field?: string;
}

/** Where an upload came from, for the audit trail. Every field is what the request claims. */
export interface UploadContext {
  cms: string;
  method: string;
  path: string;
  clientIp?: string;
  user?: string;
}

export type UploadOutcome =
  | { kind: 'sanitised'; uploadId: string; bytes: Uint8Array; filename: string; contentType: string }
  | { kind: 'held'; uploadId: string; reference: string; message: string }
  | { kind: 'refused'; uploadId?: string; error: VeilError };

/**
 * The sanitising step, injected so the proxy never knows how it is done: in Veil it is the
 * queue-backed ingest (store the original, enqueue, wait for the worker). It must stop work when
 * `signal` aborts (timeout or client gone).
 */
export type SanitiseUpload = (file: UploadFile, ctx: UploadContext, signal: AbortSignal) => Promise<UploadOutcome>;

/** What the proxy knows about a request that a Web Request cannot carry. */
export interface ForwardHints {
  /** The request-target exactly as the client sent it (path + query), before URL normalisation. */
  rawTarget?: string;
  /** Address of the peer that connected to Veil. */
  clientIp?: string;
  /** Scheme the client used to reach Veil. */
  protocol?: 'http' | 'https';
  /** Aborts the upstream exchange, e.g. when the client goes away. Defaults to the request's signal. */
  signal?: AbortSignal;
}

/**
 * Sends a request to the CMS and returns its answer untouched. On Node this is `createNodeForwarder`
 * (node:http, no decompression); the Cloudflare Workers edge passes a fetch-based one, which may
 * ignore the hints.
 */
export type Forwarder = (req: Request, hints?: ForwardHints) => Promise<Response>;

export interface ProxyLimits {
  /** Largest image Veil accepts; image bytes are held in memory, so this bounds memory per image. */
  maxUploadBytes: number;
  /** Largest multipart body Veil parses (spooled: to disk on Node, in memory at the edge, so this bounds either). */
  maxBodyBytes: number;
  /** How long the sanitising step may take per image before the upload is refused with TIMEOUT. */
  uploadTimeoutMs: number;
}

/** One intercepted upload, for logs and metrics. Only requests that carried an image or were refused. */
export interface UploadEvent {
  cms: string;
  method: string;
  path: string;
  clientIp?: string;
  user?: string;
  result: 'sanitised' | 'held' | 'refused';
  /** Image parts found (a multipart request may carry several). */
  images: number;
  uploadIds: string[];
  error?: { code: ErrorCode; message: string };
  /** The CMS's status when the sanitised upload was forwarded. */
  upstreamStatus?: number;
  durationMs: number;
}
