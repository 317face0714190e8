import { ERROR_CODES, VeilError, type ErrorCode } from '../pipeline/errors.js';
import { INGEST_ANSWER_HEADERS, INGEST_HEADERS, signIngestRequest, verifyIngestAnswer, type IngestContext } from '../ingest/signature.js';
import type { SanitiseUpload, UploadOutcome } from '../proxy/types.js';

export interface IngestClientOptions {
  /** VEIL_INGEST_URL: the Node service's `/_veil/ingest`. */
  url: URL;
  /** INGEST_SECRET, shared with the Node service. */
  secret: string;
  /** The platform's fetch by default. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

const NOT_PUBLISHED = 'the photo was not published. Please try again in a few minutes; if it keeps happening, tell whoever looks after the website.';

/**
 * The edge's sanitising step: hand the photo to the Node service's ingest endpoint, signed, and
 * turn its answer into an UploadOutcome the shared proxy code understands. Anything but a good,
 * signed answer is a refusal, so an unreachable or misconfigured service never lets a photo
 * through. Time is bounded by the proxy (UPLOAD_TIMEOUT_MS aborts `signal`).
 */
export function createIngestClient(options: IngestClientOptions): SanitiseUpload {
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const target = options.url.href;
  const path = options.url.pathname;

  return async (file, ctx, signal): Promise<UploadOutcome> => {
    const context: IngestContext = { ...ctx, filename: file.filename, declaredType: file.declaredType, field: file.field };
    const signed = await signIngestRequest({ secret: options.secret, method: 'POST', path, body: file.bytes, context });
    let res: Response;
    try {
      res = await send(target, {
        method: 'POST',
        headers: { ...signed, 'content-type': 'application/octet-stream' },
        body: file.bytes as Uint8Array<ArrayBuffer>,
        redirect: 'manual',
        signal,
      });
    } catch (err) {
      // The proxy's own timeout or the visitor leaving: it words those itself.
      if (signal.aborted) throw signal.reason;
      return refused(unavailable(`Veil's processing service could not be reached; ${NOT_PUBLISHED}`, err));
    }
    if (res.status !== 200) return refused(await statusProblem(res));

    const body = new Uint8Array(await res.arrayBuffer());
    const outcome = res.headers.get(INGEST_ANSWER_HEADERS.outcome) ?? '';
    const uploadId = res.headers.get(INGEST_ANSWER_HEADERS.uploadId) ?? '';
    const filename = res.headers.get(INGEST_ANSWER_HEADERS.filename) ?? '';
    const contentType = res.headers.get('content-type') ?? '';
    const genuine = await verifyIngestAnswer(
      options.secret,
      { nonce: signed[INGEST_HEADERS.nonce]!, status: res.status, outcome, uploadId, filename, contentType, body },
      res.headers.get(INGEST_ANSWER_HEADERS.signature),
    );
    if (!genuine) return refused(unavailable(`Veil's processing service sent an answer that could not be verified; ${NOT_PUBLISHED}`));

    if (outcome === 'sanitised') {
      return { kind: 'sanitised', uploadId, bytes: body, filename: decodeFilename(filename), contentType };
    }
    return fromJson(body, outcome);
  };
}

/** Held and refused photos come back as JSON: `{ outcome, uploadId, reference?, message?, error? }`. */
function fromJson(body: Uint8Array, outcome: string): UploadOutcome {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
  } catch {
    return refused(unavailable(`Veil's processing service sent an answer that could not be read; ${NOT_PUBLISHED}`));
  }
  const uploadId = typeof parsed.uploadId === 'string' ? parsed.uploadId : undefined;
  if (outcome === 'held' && uploadId && typeof parsed.reference === 'string') {
    return { kind: 'held', uploadId, reference: parsed.reference, message: typeof parsed.message === 'string' ? parsed.message : '' };
  }
  if (outcome === 'refused') {
    const error = parsed.error as { code?: unknown; message?: unknown } | undefined;
    const code: ErrorCode = typeof error?.code === 'string' && error.code in ERROR_CODES ? (error.code as ErrorCode) : 'INTERNAL';
    const message = typeof error?.message === 'string' && error.message ? error.message : `Veil could not check this photo, so ${NOT_PUBLISHED}`;
    return { kind: 'refused', uploadId, error: new VeilError(code, message) };
  }
  return refused(unavailable(`Veil's processing service sent an answer that could not be read; ${NOT_PUBLISHED}`));
}

/**
 * Non-200 answers are the service refusing the call itself, not the photo. Their bodies are not
 * signed, so the words shown to the uploader are the edge's own.
 */
async function statusProblem(res: Response): Promise<VeilError> {
  await res.body?.cancel().catch(() => undefined);
  switch (res.status) {
    case 401:
      return unavailable(`Veil's processing service did not accept this site's credentials (INGEST_SECRET differs between the edge and the service, or a clock is wrong); ${NOT_PUBLISHED}`);
    case 413:
      return new VeilError('FILE_TOO_LARGE', "This photo is larger than Veil's processing service accepts. Please make it smaller and upload it again.");
    default:
      return unavailable(`Veil's processing service could not take the photo (HTTP ${res.status}); ${NOT_PUBLISHED}`);
  }
}

function unavailable(message: string, cause?: unknown): VeilError {
  return new VeilError('INGEST_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

function refused(error: VeilError): UploadOutcome {
  return { kind: 'refused', error };
}

function decodeFilename(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
