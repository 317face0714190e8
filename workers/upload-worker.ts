import { Worker, type Job } from 'bullmq';
import { VeilError, toVeilError } from '../src/pipeline/errors.js';
import { parseRedactionPlan, type RedactionPlan } from '../src/pipeline/reviewer-boxes.js';
import { fromQueuedJob, STALLS, toQueuedResult, UPLOAD_QUEUE, uploadKeys, type QueuedJob, type QueuedResult, type UploadJobData, type UploadJobResult } from '../src/queue/jobs.js';
import { createRedis } from '../src/queue/redis.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { PipelinePool, type PipelineSettings } from './pipeline-pool.js';

/** Errors that another attempt may cure; anything else about the image is a final answer. */
const RETRYABLE = new Set(['STORAGE_UNAVAILABLE', 'QUEUE_UNAVAILABLE', 'INTERNAL', 'MODEL_UNAVAILABLE']);

export interface UploadWorkerOptions {
  redisUrl: string;
  prefix: string;
  store: ObjectStore;
  settings: PipelineSettings;
  concurrency: number;
  /** Told about each finished upload: held items go to the review queue, everything to the audit log. */
  onResult?: (job: UploadJobData, result: UploadJobResult) => Promise<void>;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface RunningWorker {
  worker: Worker<QueuedJob, QueuedResult>;
  /** Stops taking jobs, lets running ones finish, then stops the threads. */
  close(): Promise<void>;
}

/**
 * The BullMQ worker: reads the private original, runs the pipeline in a thread, writes the
 * sanitised file (or the reviewer's preview) to the store, and returns the result to the proxy.
 */
export function startUploadWorker(options: UploadWorkerOptions): RunningWorker {
  const { store, settings, log = () => {} } = options;
  const pool = new PipelinePool(options.concurrency, settings);
  const connection = createRedis(options.redisUrl, 'blocking');

  const processJob = async (job: Job<QueuedJob, QueuedResult>): Promise<QueuedResult> => {
    const { uploadId } = job.data;
    const keys = uploadKeys(uploadId);
    const original = await store.get(job.data.originalKey);
    if (!original) {
      return { outcome: 'refused', uploadId, error: { code: 'NOT_FOUND', message: 'The original upload is no longer in storage.' } };
    }
    // The file name and the request's details never went through Redis: they are the original's metadata.
    const upload: UploadJobData = fromQueuedJob(job.data, original.metadata);
    let result: UploadJobResult;
    try {
      const plan = job.data.redactionKey ? await readPlan(store, job.data.redactionKey) : undefined;
      const outcome = await pool.run({
        plan,
        bytes: original.bytes,
        originalName: upload.originalName,
        holdReason: upload.holdReason,
        policyOverride: upload.policyOverride,
      });
      if (outcome.outcome === 'sanitised') {
        const key = keys.sanitised(outcome.filename);
        await store.put(key, outcome.bytes, { contentType: outcome.contentType });
        await store.put(keys.report, Buffer.from(JSON.stringify(outcome.report)), { contentType: 'application/json' });
        result = { outcome: 'sanitised', uploadId, sanitisedKey: key, filename: outcome.filename, contentType: outcome.contentType, bytes: outcome.bytes.length, report: outcome.report };
      } else {
        await store.put(keys.preview, outcome.preview, { contentType: 'image/jpeg' });
        result = { outcome: 'held', uploadId, reasons: outcome.reasons, previewKey: keys.preview, report: outcome.report };
      }
    } catch (err) {
      const error = toVeilError(err);
      if (RETRYABLE.has(error.code)) throw new Error(`${error.code}: ${error.message}`);
      result = { outcome: 'refused', uploadId, error: error.toJSON() };
    }
    await options.onResult?.(upload, result);
    log('info', 'upload processed', { uploadId, outcome: result.outcome, attempt: job.attemptsMade + 1 });
    // Redis (and Bull Board) keep counts and codes only; the whole report is in the store.
    return toQueuedResult(result);
  };

  const worker = new Worker<QueuedJob, QueuedResult>(UPLOAD_QUEUE, processJob, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    // A photo normally takes under a second; the lock is renewed from the main thread, which the
    // pipeline threads never block, so a short lock finds a killed worker's job within seconds.
    lockDuration: STALLS.lockMs,
    stalledInterval: STALLS.checkEveryMs,
    maxStalledCount: STALLS.maxStalledCount,
  });
  worker.on('failed', (job, err) => log('warn', 'upload attempt failed', { uploadId: job?.id, attempt: job?.attemptsMade, error: err.message }));
  worker.on('error', (err) => log('error', 'worker error', { error: err.message }));

  return {
    worker,
    async close() {
      await worker.close();
      await pool.close();
      connection.disconnect();
    },
  };
}

/** A reviewer's plan that cannot be read fails the upload: publishing without it could show a face they boxed. */
async function readPlan(store: ObjectStore, key: string): Promise<RedactionPlan> {
  const object = await store.get(key);
  if (!object) throw new VeilError('NOT_FOUND', "The reviewer's face boxes for this photo are missing from storage; it was not published.");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(object.bytes).toString('utf8'));
  } catch {
    value = null;
  }
  return parseRedactionPlan(value);
}
