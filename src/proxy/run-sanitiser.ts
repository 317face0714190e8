import { VeilError, isVeilError, toVeilError } from '../pipeline/errors.js';
import type { SanitiseUpload, UploadContext, UploadFile, UploadOutcome } from './types.js';

type Problem = Exclude<UploadOutcome, { kind: 'sanitised' }>;
type Sanitised = Extract<UploadOutcome, { kind: 'sanitised' }>;

export type SanitiseAllResult = { ok: true; outcomes: Sanitised[] } | { ok: false; problem: Problem; outcomes: UploadOutcome[] };

/**
 * Sanitises every image of one request at once. The first image held or refused decides the
 * answer for the whole request and stops the others: nothing of it is forwarded.
 */
export async function sanitiseAll(
  files: UploadFile[],
  ctx: UploadContext,
  sanitise: SanitiseUpload,
  timeoutMs: number,
  clientSignal: AbortSignal | undefined,
): Promise<SanitiseAllResult> {
  const shared = new AbortController();
  const onClientGone = (): void => shared.abort(cancelled());
  if (clientSignal?.aborted) onClientGone();
  else clientSignal?.addEventListener('abort', onClientGone, { once: true });
  let problem: Problem | undefined;
  try {
    const outcomes = await Promise.all(
      files.map(async (file) => {
        const outcome = await runSanitiser(sanitise, file, ctx, timeoutMs, shared.signal);
        if (outcome.kind !== 'sanitised' && !problem) {
          problem = outcome;
          shared.abort(cancelled('Another picture in the same upload was not accepted.'));
        }
        return outcome;
      }),
    );
    if (problem) return { ok: false, problem, outcomes };
    return { ok: true, outcomes: outcomes as Sanitised[] };
  } finally {
    clientSignal?.removeEventListener('abort', onClientGone);
  }
}

/**
 * One call of the injected step, bounded by `timeoutMs` (its signal is aborted then) and checked
 * before anything is forwarded: whatever goes wrong becomes a refusal, never a pass-through.
 */
export async function runSanitiser(
  sanitise: SanitiseUpload,
  file: UploadFile,
  ctx: UploadContext,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<UploadOutcome> {
  const controller = new AbortController();
  const stop = (): void => controller.abort(signal.reason);
  if (signal.aborted) return { kind: 'refused', error: toVeilError(signal.reason) };
  signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new VeilError(
        'TIMEOUT',
        `Veil could not finish checking this picture within ${Math.round(timeoutMs / 1000)} seconds, so it was not uploaded. Please try again in a few minutes.`,
      ),
    );
  }, timeoutMs);
  const stopped = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  stopped.catch(() => undefined);
  try {
    const outcome = await Promise.race([Promise.resolve().then(() => sanitise(file, ctx, controller.signal)), stopped]);
    return checkOutcome(outcome, file);
  } catch (err) {
    return { kind: 'refused', error: toVeilError(err) };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

/** Fail closed on anything malformed, and on "sanitised" bytes identical to the original. */
function checkOutcome(outcome: unknown, file: UploadFile): UploadOutcome {
  const broken = (why: string): UploadOutcome => ({
    kind: 'refused',
    error: new VeilError('INTERNAL', `Veil's picture check gave an unusable answer (${why}), so the picture was not uploaded.`),
  });
  if (!outcome || typeof outcome !== 'object') return broken('no outcome');
  const o = outcome as Partial<Record<string, unknown>>;
  switch (o.kind) {
    case 'sanitised': {
      if (!(o.bytes instanceof Uint8Array) || o.bytes.byteLength === 0) return broken('no sanitised bytes');
      if (typeof o.filename !== 'string' || !o.filename.trim()) return broken('no filename');
      if (typeof o.contentType !== 'string' || !o.contentType.trim()) return broken('no content type');
      if (asBuffer(o.bytes).equals(asBuffer(file.bytes))) {
        return broken('the original file came back unchanged');
      }
      return outcome as Sanitised;
    }
    case 'held':
      if (typeof o.uploadId !== 'string' || typeof o.reference !== 'string') return broken('a hold without a reference');
      return { kind: 'held', uploadId: o.uploadId, reference: o.reference, message: typeof o.message === 'string' ? o.message : '' };
    case 'refused':
      return { kind: 'refused', uploadId: typeof o.uploadId === 'string' ? o.uploadId : undefined, error: isVeilError(o.error) ? o.error : toVeilError(o.error) };
    default:
      return broken(`unknown kind ${String(o.kind)}`);
  }
}

function cancelled(message = 'The upload was cancelled because the connection closed before Veil finished.'): VeilError {
  return new VeilError('CANCELLED', message);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
