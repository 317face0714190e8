import { Queue, Worker } from 'bullmq';
import type { AuditLog } from '../audit/audit-log.js';
import { toVeilError } from '../pipeline/errors.js';
import { createRedis } from '../queue/redis.js';
import { KEY_PREFIXES, type ObjectStore } from '../storage/object-store.js';
import { expireDueItems, purgeDueRejections } from './expiry.js';
import { isItemId, type ReviewItem } from './item.js';
import { ReviewStore } from './review-store.js';

/** The maintenance queue (its own, so the upload queue's dashboard and metrics stay about uploads). */
export const MAINTENANCE_QUEUE = 'veil-maintenance';
const DAY_MS = 86_400_000;

export interface RetentionOptions {
  store: ObjectStore;
  audit: AuditLog;
  now: Date;
  originalsRetentionDays: number;
  /** Days Veil's own copies of sanitised photos are kept; null or absent: kept. */
  sanitisedRetentionDays?: number | null;
  reviewExpiryDays: number;
  /** Reuse the app's review store (its per-item locks); one is made on `store` otherwise. */
  items?: ReviewStore;
}

export interface RetentionSummary {
  expired: number;
  rejectedPurged: number;
  originalsDeleted: number;
  previewsDeleted: number;
  sanitisedDeleted: number;
}

/**
 * Data minimisation, run daily: held items past REVIEW_EXPIRY_DAYS expire (originals deleted),
 * rejected originals past their undo window go, originals older than ORIGINALS_RETENTION_DAYS go
 * (except those still waiting for a decision), and so do the previews of decided items and, when
 * SANITISED_RETENTION_DAYS is set, Veil's copies of sanitised photos. Every deletion is audited.
 */
export async function runRetention(options: RetentionOptions): Promise<RetentionSummary> {
  const { store, audit, now } = options;
  const items = options.items ?? new ReviewStore(store, { reviewExpiryDays: options.reviewExpiryDays, clock: () => now });
  const ctx = { items, audit, now };
  const expired = await expireDueItems({ ...ctx, reviewExpiryDays: options.reviewExpiryDays });
  const rejectedPurged = await purgeDueRejections(ctx);

  const cutoff = now.getTime() - options.originalsRetentionDays * DAY_MS;
  const at = now.toISOString();
  let originalsDeleted = 0;
  for (const key of await keysOlderThan(store, KEY_PREFIXES.originals, cutoff)) {
    const id = key.slice(KEY_PREFIXES.originals.length);
    const item = isItemId(id) ? await items.get(id) : null;
    if (item && stillNeeded(item, now)) continue;
    const remove = async (current: ReviewItem | null): Promise<ReviewItem | null> => {
      await store.delete(key);
      await audit.append({ type: 'deletion', at, key, kind: 'original', why: 'retention', by: 'retention', itemId: current?.id });
      originalsDeleted += 1;
      return current ? { ...current, originalDeletedAt: at } : null;
    };
    if (item) {
      await items.update(item.id, async (current) => (stillNeeded(current, now) ? current : (await remove(current))!));
    } else {
      await remove(null);
    }
  }

  let previewsDeleted = 0;
  for (const item of await items.list({ status: ['approved', 'approved-redacted'] })) {
    if (item.previewDeletedAt || !item.decision || new Date(item.decision.at).getTime() > cutoff) continue;
    await items.update(item.id, async (current) => {
      if (current.previewDeletedAt || current.status === 'pending') return current;
      await store.delete(current.upload.previewKey);
      await audit.append({ type: 'deletion', at, key: current.upload.previewKey, kind: 'preview', why: 'retention', by: 'retention', itemId: current.id });
      previewsDeleted += 1;
      return { ...current, previewDeletedAt: at };
    });
  }
  const sanitisedDeleted = options.sanitisedRetentionDays ? await deleteOldSanitised(store, audit, now, options.sanitisedRetentionDays) : 0;
  return { expired, rejectedPurged, originalsDeleted, previewsDeleted, sanitisedDeleted };
}

/** sanitised/<upload id>/<photo> and its report.json, once older than `days`. */
async function deleteOldSanitised(store: ObjectStore, audit: AuditLog, now: Date, days: number): Promise<number> {
  const old = await keysOlderThan(store, KEY_PREFIXES.sanitised, now.getTime() - days * DAY_MS);
  const at = now.toISOString();
  for (const key of old) {
    await store.delete(key);
    await audit.append({ type: 'deletion', at, key, kind: 'sanitised', why: 'retention', by: 'retention' });
  }
  return old.length;
}

/** Keys under `prefix` last written at or before `cutoff` (ms), listed before any is deleted. */
async function keysOlderThan(store: ObjectStore, prefix: string, cutoff: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) {
    if (info.lastModified.getTime() <= cutoff) keys.push(info.key);
  }
  return keys;
}

/** Waiting for a person (expiry deals with it), or a decision that can still be undone. */
function stillNeeded(item: ReviewItem, now: Date): boolean {
  return item.status === 'pending' || (item.decision?.undoUntil !== undefined && new Date(item.decision.undoUntil) > now);
}

export interface ScheduleRetentionOptions {
  redisUrl: string;
  /** BullMQ key prefix (REDIS_PREFIX). */
  prefix: string;
  /** The daily clean-up, e.g. `() => runRetention({ ...deps, now: new Date() })`. */
  retention: () => Promise<RetentionSummary>;
  /** Deletes rejected originals whose undo window ended while Veil was down. */
  purgeRejected?: () => Promise<number>;
  everyMs?: number;
  purgeEveryMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface RetentionSchedule {
  /** For the queue dashboard. */
  queue: Queue;
  close(): Promise<void>;
}

/**
 * Registers the clean-up as BullMQ job schedulers (daily retention; rejected-original purge every
 * few minutes) and runs them in a small worker. Upserting is idempotent, so every Veil process
 * may call this; each run is taken by one worker only.
 */
export async function scheduleRetention(options: ScheduleRetentionOptions): Promise<RetentionSchedule> {
  const log = options.log ?? (() => {});
  const producer = createRedis(options.redisUrl, 'blocking');
  const blocking = createRedis(options.redisUrl, 'blocking');
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: producer, prefix: options.prefix });
  queue.on('error', () => {});
  const keep = { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } };
  await queue.upsertJobScheduler('retention', { every: options.everyMs ?? DAY_MS }, { name: 'retention', opts: keep });
  if (options.purgeRejected) {
    await queue.upsertJobScheduler('purge-rejected', { every: options.purgeEveryMs ?? 5 * 60_000 }, { name: 'purge-rejected', opts: keep });
  } else {
    await queue.removeJobScheduler('purge-rejected');
  }

  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      try {
        if (job.name === 'retention') {
          const summary = await options.retention();
          log('info', 'retention ran', { ...summary });
          return summary;
        }
        if (job.name === 'purge-rejected' && options.purgeRejected) return { purged: await options.purgeRejected() };
        return null;
      } catch (err) {
        const error = toVeilError(err);
        log('error', `maintenance job ${job.name} failed`, { error: error.message });
        throw new Error(`${error.code}: ${error.message}`);
      }
    },
    { connection: blocking, prefix: options.prefix, concurrency: 1 },
  );
  worker.on('error', (err) => log('error', 'maintenance worker error', { error: err.message }));

  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
      producer.disconnect();
      blocking.disconnect();
    },
  };
}
