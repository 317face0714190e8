import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { ERROR_CODES, VeilError, type ErrorCode } from '../pipeline/errors.js';
import { UPLOAD_QUEUE, type UploadJobData, type UploadJobResult } from './jobs.js';
import { createRedis } from './redis.js';

/** Retries cover a worker crashing or the store blinking; a refused image is a result, not a failure. */
const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * The proxy's side of the queue: submit an upload and wait for its result. One QueueEvents
 * connection serves every waiting upload.
 */
export class UploadQueue {
  private constructor(
    readonly queue: Queue<UploadJobData, UploadJobResult>,
    private readonly events: QueueEvents,
    private readonly connections: Redis[],
  ) {}

  static create(redisUrl: string, prefix: string): UploadQueue {
    const producer = createRedis(redisUrl, 'producer');
    const listener = createRedis(redisUrl, 'blocking');
    const queue = new Queue<UploadJobData, UploadJobResult>(UPLOAD_QUEUE, { connection: producer, prefix });
    const events = new QueueEvents(UPLOAD_QUEUE, { connection: listener, prefix });
    queue.on('error', () => {});
    events.on('error', () => {});
    return new UploadQueue(queue, events, [producer, listener]);
  }

  /**
   * Adds the job (its id is the upload id, so submitting twice is harmless) and waits for the
   * worker's result, up to `timeoutMs`.
   */
  async submit(data: UploadJobData, timeoutMs: number, signal?: AbortSignal): Promise<UploadJobResult> {
    let job;
    try {
      job = await this.queue.add('sanitise', data, { ...JOB_OPTIONS, jobId: data.uploadId });
    } catch (err) {
      throw new VeilError('QUEUE_UNAVAILABLE', `The upload queue (Redis) is not available: ${reason(err)}.`, { cause: err });
    }
    const finished = job.waitUntilFinished(this.events, timeoutMs).then(
      (result) => result,
      (err: unknown) => {
        throw failureOf(err, timeoutMs);
      },
    );
    if (!signal) return finished;
    return Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        const abort = () => reject(new VeilError('TIMEOUT', 'The upload was cancelled before the photo was processed.'));
        if (signal.aborted) abort();
        else signal.addEventListener('abort', abort, { once: true });
      }),
    ]);
  }

  /** Waiting, active, delayed and failed jobs: for health and metrics. */
  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  /** Resolves when Redis answers; rejects at once when it is down (the producer never queues commands). */
  async ping(): Promise<void> {
    await this.connections[0]!.ping();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const c of this.connections) c.disconnect();
  }
}

/**
 * Workers throw `CODE: message` for failures worth retrying (storage down, a crash); after the
 * last retry that text arrives here.
 */
function failureOf(err: unknown, timeoutMs: number): VeilError {
  const message = reason(err);
  if (/timed out before finishing/i.test(message)) {
    return new VeilError('TIMEOUT', `The photo was not processed within ${Math.round(timeoutMs / 1000)} s (UPLOAD_TIMEOUT_MS). It was not published; please try again.`);
  }
  const coded = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  if (coded && coded[1]! in ERROR_CODES) return new VeilError(coded[1] as ErrorCode, coded[2]!);
  return new VeilError('INTERNAL', `Processing the photo failed: ${message}`);
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
