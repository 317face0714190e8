import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ERROR_CODES, VeilError, type ErrorCode } from '../pipeline/errors.js';
import { STALLS, toQueuedJob, UPLOAD_QUEUE, type QueuedJob, type QueuedResult, type UploadJobData } from './jobs.js';
import { createRedis } from './redis.js';

/** Retries cover a worker crashing or the store blinking; a refused image is a result, not a failure. */
const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * A lost Redis connection may be a blink (a restart, a failover); past this the waiting uploads
 * are answered QUEUE_UNAVAILABLE rather than left to their UPLOAD_TIMEOUT_MS.
 */
const REDIS_LOST_AFTER_MS = 2000;

/** How long close() waits for BullMQ to finish its own closing. */
const CLOSE_WAIT_MS = 2000;

/** After its worker died, a job no other worker takes up within this long fails closed. */
const UNCLAIMED_AFTER_STALL_MS = STALLS.lockMs;

interface Waiter {
  fail(error: VeilError): void;
  unclaimed?: NodeJS.Timeout;
}

/**
 * The proxy's side of the queue: submit an upload and wait for its result. One QueueEvents
 * connection serves every waiting upload. It also runs BullMQ's stalled-job check, so the job of
 * a killed worker is recovered even when no other worker is left to notice.
 */
export class UploadQueue {
  private readonly waiters = new Map<string, Waiter>();
  private lostTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly queue: Queue<QueuedJob, QueuedResult>,
    private readonly events: QueueEvents,
    private readonly stallWatch: Worker,
    private readonly connections: Redis[],
  ) {
    const [producer] = connections;
    producer!.on('close', () => this.connectionLost());
    producer!.on('ready', () => {
      clearTimeout(this.lostTimer);
      this.lostTimer = undefined;
    });
    events.on('stalled', ({ jobId }) => this.stalled(jobId));
    events.on('active', ({ jobId }) => {
      const waiter = this.waiters.get(jobId);
      if (waiter) clearTimeout(waiter.unclaimed);
    });
  }

  static create(redisUrl: string, prefix: string): UploadQueue {
    const producer = createRedis(redisUrl, 'producer');
    const listener = createRedis(redisUrl, 'blocking');
    const watcher = createRedis(redisUrl, 'blocking');
    const queue = new Queue<QueuedJob, QueuedResult>(UPLOAD_QUEUE, { connection: producer, prefix });
    const events = new QueueEvents(UPLOAD_QUEUE, { connection: listener, prefix });
    // Takes no jobs (never run): it only moves the jobs of dead workers back to the queue, or fails them.
    const stallWatch = new Worker(UPLOAD_QUEUE, null, {
      connection: watcher,
      prefix,
      autorun: false,
      name: 'stall-watch',
      lockDuration: STALLS.lockMs,
      stalledInterval: STALLS.checkEveryMs,
      maxStalledCount: STALLS.maxStalledCount,
    });
    queue.on('error', () => {});
    events.on('error', () => {});
    stallWatch.on('error', () => {});
    void stallWatch.startStalledCheckTimer().catch(() => {});
    return new UploadQueue(queue, events, stallWatch, [producer, listener, watcher]);
  }

  /**
   * Adds the job (its id is the upload id, so submitting twice is harmless) and waits for the
   * worker's result, up to `timeoutMs`; sooner a QUEUE_UNAVAILABLE when Redis is lost, or when the
   * worker died and nobody took the job over.
   */
  async submit(data: UploadJobData, timeoutMs: number, signal?: AbortSignal): Promise<QueuedResult> {
    let job;
    try {
      // Only ids, sizes and codes go to Redis (toQueuedJob); the rest stays in the object store.
      job = await this.queue.add('sanitise', toQueuedJob(data), { ...JOB_OPTIONS, jobId: data.uploadId });
    } catch (err) {
      throw new VeilError('QUEUE_UNAVAILABLE', `The upload queue (Redis) is not available: ${reason(err)}.`, { cause: err });
    }
    const jobId = job.id ?? data.uploadId;
    const finished = job.waitUntilFinished(this.events, timeoutMs).then(
      (result) => result,
      (err: unknown) => {
        throw failureOf(err, timeoutMs);
      },
    );
    let waiter: Waiter | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      waiter = { fail: reject };
      this.waiters.set(jobId, waiter);
      if (signal?.aborted) reject(new VeilError('TIMEOUT', 'The upload was cancelled before the photo was processed.'));
      signal?.addEventListener('abort', () => reject(new VeilError('TIMEOUT', 'The upload was cancelled before the photo was processed.')), { once: true });
    });
    try {
      return await Promise.race([finished, interrupted]);
    } finally {
      clearTimeout(waiter?.unclaimed);
      if (this.waiters.get(jobId) === waiter) this.waiters.delete(jobId);
    }
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
    this.closed = true;
    clearTimeout(this.lostTimer);
    for (const waiter of this.waiters.values()) clearTimeout(waiter.unclaimed);
    const closing = Promise.allSettled([this.stallWatch.close(true), this.events.close(), this.queue.close()]);
    // With Redis gone BullMQ's close waits for a reconnect that may never come: bounded, then cut.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    for (const c of this.connections) c.disconnect();
  }

  /** Redis went away: give it a moment to come back, then answer every waiting upload. */
  private connectionLost(): void {
    if (this.closed || this.lostTimer) return;
    this.lostTimer = setTimeout(() => {
      this.lostTimer = undefined;
      if (this.closed || this.connections[0]!.status === 'ready') return;
      const error = new VeilError(
        'QUEUE_UNAVAILABLE',
        'The upload queue (Redis) is not available: the connection was lost while the photo was being processed. It was not published; please try again.',
      );
      for (const waiter of this.waiters.values()) waiter.fail(error);
    }, REDIS_LOST_AFTER_MS);
    this.lostTimer.unref();
  }

  /** Workers connected to the queue, this proxy's stall watch aside; 0 when Redis cannot say. */
  private async workersLeft(): Promise<number> {
    try {
      const workers = await this.queue.getWorkers();
      return workers.filter((w) => !String(w.rawname ?? w.name ?? '').endsWith(':w:stall-watch')).length;
    } catch {
      return 0;
    }
  }

  /** The worker holding this job died; it is back in the queue, and must be taken up soon. */
  private stalled(jobId: string): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    clearTimeout(waiter.unclaimed);
    waiter.unclaimed = setTimeout(() => {
      void this.workersLeft().then((left) => {
        // A busy worker will come to it: the upload keeps waiting, up to its timeout.
        if (left > 0 || !this.waiters.has(jobId)) return;
        waiter.fail(new VeilError('QUEUE_UNAVAILABLE', 'The worker processing the photo stopped, and no other worker is running to take it over. It was not published; please try again.'));
        // Nobody waits for it any more: a worker started later must not process it for nothing.
        void this.queue.remove(jobId).catch(() => {});
      });
    }, UNCLAIMED_AFTER_STALL_MS);
    waiter.unclaimed.unref();
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
  if (/stalled more than allowable limit/i.test(message)) {
    return new VeilError('INTERNAL', 'The photo stopped the worker processing it twice (it may be too large for the memory available). It was not published.');
  }
  const coded = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  if (coded && coded[1]! in ERROR_CODES) return new VeilError(coded[1] as ErrorCode, coded[2]!);
  return new VeilError('INTERNAL', `Processing the photo failed: ${message}`);
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
