import { Hono, type Context } from 'hono';
import { readBounded } from '../proxy/inspect/read-bounded.js';
import { VeilError, type ErrorCode } from '../pipeline/errors.js';
import { runSanitiser } from '../proxy/run-sanitiser.js';
import { formatBytes } from '../pipeline/format-bytes.js';
import type { SanitiseUpload, UploadContext, UploadFile, UploadOutcome } from '../proxy/types.js';
import type { ReplayGuard } from './replay-guard.js';
import { INGEST_ANSWER_HEADERS, MAX_CLOCK_SKEW_SECONDS, signIngestAnswer, verifyIngestRequest } from './signature.js';

export interface IngestRouteOptions {
  /** The Node side's sanitising step (in Veil: createIngest, backed by the object store and queue). */
  sanitise: SanitiseUpload;
  /** INGEST_SECRET, shared with the edge; at least 32 characters. */
  secret: string;
  replay: ReplayGuard;
  /** Largest image accepted (MAX_UPLOAD_BYTES). */
  maxBytes: number;
  /** How long one photo may take before it is refused with TIMEOUT (UPLOAD_TIMEOUT_MS). Default 120 s. */
  timeoutMs?: number;
  maxSkewSeconds?: number;
}

const MIN_SECRET_LENGTH = 32;

/**
 * `POST /_veil/ingest`: where the Cloudflare Worker sends the photos it intercepted, since sharp,
 * ONNX and BullMQ need Node. The body is the image; the upload's context and an HMAC signature
 * travel in headers (src/ingest/signature.ts). Refused: unsigned or forged calls and calls outside
 * the clock window (401), replays (409), bodies over maxBytes (413). Otherwise the photo goes
 * through `sanitise` exactly as a Node-proxied upload would, and the answer is signed for the
 * call it answers: 200 with the sanitised bytes, or 200 JSON for a held or refused photo.
 * The route is `POST /ingest` relative to where it is mounted: mount it at `/_veil`
 * (`app.route('/_veil', createIngestRoute(...))`, as src/app.ts does with `veilRoutes`). The
 * signature covers the path the request arrived at, so no proxy in between may rewrite it.
 */
export function createIngestRoute(options: IngestRouteOptions): Hono {
  if (options.secret.length < MIN_SECRET_LENGTH) {
    throw new VeilError('BAD_REQUEST', `INGEST_SECRET must be at least ${MIN_SECRET_LENGTH} characters long.`);
  }
  const skew = options.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
  // A nonce must be remembered for as long as its timestamp could still be accepted.
  const rememberMs = (2 * skew + 60) * 1000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const app = new Hono();

  app.post('/ingest', async (c) => {
    const req = c.req.raw;
    const declared = Number(req.headers.get('content-length') ?? '');
    if (Number.isFinite(declared) && declared > options.maxBytes) return tooLarge(c, options.maxBytes);
    const body = await readBounded(req.body, options.maxBytes);
    if (!body) return tooLarge(c, options.maxBytes);

    const verified = await verifyIngestRequest({
      secret: options.secret,
      method: req.method,
      path: new URL(req.url).pathname,
      body,
      headers: req.headers,
      maxSkewSeconds: skew,
    });
    if (!verified.ok) return problem(c, 401, 'UNAUTHORIZED', verified.message);

    let fresh: boolean;
    try {
      fresh = await options.replay.claim(verified.nonce, rememberMs);
    } catch (err) {
      const error = err instanceof VeilError ? err : new VeilError('INGEST_UNAVAILABLE', 'Veil could not check this call right now.', { cause: err });
      return problem(c, 503, error.code, error.message);
    }
    if (!fresh) return problem(c, 409, 'CONFLICT', 'This ingest call was already received once; a replayed call is refused.');

    const { context } = verified;
    const file: UploadFile = { bytes: body, filename: context.filename, declaredType: context.declaredType, field: context.field };
    const ctx: UploadContext = { cms: context.cms, method: context.method, path: context.path, clientIp: context.clientIp, user: context.user };
    const outcome = await runSanitiser(options.sanitise, file, ctx, timeoutMs, req.signal);
    return answer(outcome, verified.nonce, options.secret);
  });

  return app;
}

/** The outcome as the edge reads it, signed for the call (nonce) it answers. */
async function answer(outcome: UploadOutcome, nonce: string, secret: string): Promise<Response> {
  let body: Uint8Array;
  let contentType: string;
  let filename = '';
  if (outcome.kind === 'sanitised') {
    body = outcome.bytes;
    contentType = outcome.contentType;
    filename = encodeURIComponent(outcome.filename);
  } else {
    const json =
      outcome.kind === 'held'
        ? { outcome: 'held', uploadId: outcome.uploadId, reference: outcome.reference, message: outcome.message }
        : { outcome: 'refused', uploadId: outcome.uploadId, error: outcome.error.toJSON() };
    body = new TextEncoder().encode(JSON.stringify(json));
    contentType = 'application/json; charset=utf-8';
  }
  const uploadId = outcome.uploadId ?? '';
  const signature = await signIngestAnswer(secret, { nonce, status: 200, outcome: outcome.kind, uploadId, filename, contentType, body });
  const headers: Record<string, string> = {
    'content-type': contentType,
    'cache-control': 'no-store',
    [INGEST_ANSWER_HEADERS.outcome]: outcome.kind,
    [INGEST_ANSWER_HEADERS.uploadId]: uploadId,
    [INGEST_ANSWER_HEADERS.signature]: signature,
  };
  if (filename) headers[INGEST_ANSWER_HEADERS.filename] = filename;
  return new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

function problem(c: Context, status: 401 | 409 | 413 | 503, code: ErrorCode, message: string): Response {
  return c.json({ error: { code, message } }, status, { 'cache-control': 'no-store' });
}

function tooLarge(c: Context, maxBytes: number): Response {
  return problem(c, 413, 'FILE_TOO_LARGE', `The photo is larger than the ${formatBytes(maxBytes)} Veil's processing service accepts.`);
}
