import { createHash, randomBytes } from 'node:crypto';
import { toVeilError, VeilError } from '../pipeline/errors.js';
import type { SanitiseUpload, UploadContext, UploadFile, UploadOutcome } from '../proxy/types.js';
import type { SanitiseReport } from '../pipeline/sanitise.js';
import { privateDetailsMetadata, uploadKeys, type QueuedResult, type UploadJobData } from '../queue/jobs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readSanitisedReport } from './report.js';

/** The queue as ingest needs it (UploadQueue, or a stand-in in tests of this module alone). */
export interface JobSubmitter {
  submit(data: UploadJobData, timeoutMs: number, signal?: AbortSignal): Promise<QueuedResult>;
}

export interface IngestOptions {
  store: ObjectStore;
  queue: JobSubmitter;
  timeoutMs: number;
  /** Uploads whose path starts with one of these are always held for a person. */
  alwaysReviewPaths?: readonly string[];
  /**
   * Told about every finished upload (metrics, logs, the demo site). `by` says who produced the
   * result: the worker (which audits its own results) or the proxy (queue or store failed first).
   * `report` is the whole report of a sanitised upload, when `readReports` is set.
   */
  onResult?: (result: QueuedResult, data: UploadJobData, ms: number, by: 'worker' | 'proxy', report?: SanitiseReport) => void;
  /** Read each sanitised upload's whole report from the store for onResult (the demo site shows it). */
  readReports?: boolean;
  /** A reviewer's earlier decision for an original with this SHA-256 (a re-upload), if any. */
  priorDecision?: (sha256: string) => Promise<{ policy: 'allow' | 'blur'; redactionKey?: string | undefined } | null>;
}

/** Readable and sortable, so a safeguarding lead can quote it: `20261126-104512-3f9a2c1b`. */
export function newUploadId(now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/**
 * The proxy's sanitising step: keep the original privately, queue it, wait for the worker, and
 * hand back only what the worker produced. Every failure becomes a refusal: the proxy then
 * answers with an error and forwards nothing.
 */
export function createIngest(options: IngestOptions): SanitiseUpload {
  const { store, queue, timeoutMs } = options;
  return async (file: UploadFile, ctx: UploadContext, signal: AbortSignal): Promise<UploadOutcome> => {
    const started = performance.now();
    const uploadId = newUploadId();
    const keys = uploadKeys(uploadId);
    const sha256 = createHash('sha256').update(file.bytes).digest('hex');
    const data: UploadJobData = {
      uploadId,
      originalKey: keys.original,
      sha256,
      bytes: file.bytes.length,
      originalName: file.filename,
      declaredType: file.declaredType,
      origin: { ...ctx, receivedAt: new Date().toISOString() },
      holdReason: alwaysReviewed(ctx.path, options.alwaysReviewPaths),
    };
    try {
      const decision = await options.priorDecision?.(sha256);
      if (decision) {
        // The same original was approved before: publish it as the reviewer decided, without a second hold.
        data.policyOverride = decision.policy;
        data.redactionKey = decision.redactionKey;
        data.holdReason = undefined;
      }
      await store.put(keys.original, file.bytes, {
        contentType: 'application/octet-stream',
        // The file name and the request's details stay here, private and deleted with the original.
        metadata: { sha256, 'upload-id': uploadId, 'received-at': data.origin.receivedAt, ...privateDetailsMetadata(data) },
      });
      const result = await queue.submit(data, timeoutMs, signal);
      const outcome = await toOutcome(result, store);
      const report = options.readReports && result.outcome === 'sanitised' ? ((await readSanitisedReport(store, uploadId).catch(() => null)) ?? undefined) : undefined;
      options.onResult?.(result, data, performance.now() - started, 'worker', report);
      return outcome;
    } catch (err) {
      const error = toVeilError(err);
      options.onResult?.({ outcome: 'refused', uploadId, error: error.toJSON() }, data, performance.now() - started, 'proxy');
      return { kind: 'refused', uploadId, error };
    }
  };
}

async function toOutcome(result: QueuedResult, store: ObjectStore): Promise<UploadOutcome> {
  switch (result.outcome) {
    case 'sanitised': {
      const file = await store.get(result.sanitisedKey);
      if (!file) throw new VeilError('STORAGE_UNAVAILABLE', 'The sanitised photo is missing from storage.');
      return { kind: 'sanitised', uploadId: result.uploadId, bytes: file.bytes, filename: result.filename, contentType: result.contentType };
    }
    case 'held':
      return {
        kind: 'held',
        uploadId: result.uploadId,
        reference: result.uploadId,
        message:
          `This photo is waiting for the safeguarding lead's review before it can be published, because ${joinReasons(result.reasons)}. ` +
          `Reference: ${result.uploadId}.`,
      };
    case 'refused':
      return { kind: 'refused', uploadId: result.uploadId, error: new VeilError(result.error.code as VeilError['code'], result.error.message) };
  }
}

function alwaysReviewed(path: string, prefixes: readonly string[] = []): string | undefined {
  const hit = prefixes.find((p) => p && path.startsWith(p));
  return hit ? `photos uploaded here (${hit}) are always checked by a person` : undefined;
}

function joinReasons(reasons: string[]): string {
  return reasons.length <= 1 ? (reasons[0] ?? 'it needs a person to check it') : `${reasons.slice(0, -1).join(', ')} and ${reasons.at(-1)}`;
}
