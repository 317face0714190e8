import type { Queue } from 'bullmq';
import type { Hono } from 'hono';
import { AuditLog, uploadAuditRecord } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import type { UploadJobData, UploadJobResult } from '../queue/jobs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { ReviewActions, type Reprocess } from './actions.js';
import { createRedis } from '../queue/redis.js';
import { RedisAttemptStore } from '../queue/login-attempts.js';
import { AdminAuth } from './auth.js';
import { purgeDueRejections } from './expiry.js';
import type { AdminEnv } from './guards.js';
import { createWordPressPublisher } from './publish-wordpress.js';
import { noPublisher, type Publisher } from './publisher.js';
import { runRetention, scheduleRetention, type RetentionSchedule } from './retention.js';
import { ReviewStore, type ApprovedIndexEntry } from './review-store.js';
import { createAdminRoutes } from './routes.js';

export { ReviewActions, type Reprocess, type ReprocessedPhoto, type ReprocessPolicy } from './actions.js';
export { AdminAuth, hashPassword, verifyPassword, assertUsableAdminUsers } from './auth.js';
export { createAdminRoutes, type AdminRoutesDeps } from './routes.js';
export { createWordPressPublisher } from './publish-wordpress.js';
export { noPublisher, type Publisher } from './publisher.js';
export { runRetention, scheduleRetention, MAINTENANCE_QUEUE } from './retention.js';
export { ReviewStore } from './review-store.js';

type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface ReviewSystemOptions {
  config: Pick<Config, 'admin' | 'reviewExpiryDays' | 'originalsRetentionDays' | 'sanitisedRetentionDays' | 'wordpress' | 'trustProxy' | 'publicUrl' | 'redis'> & { limits?: Pick<Config['limits'], 'maxEdge'> };
  store: ObjectStore;
  /** Re-runs the pipeline on an original with the reviewer's policy (the app wires it to the queue). */
  reprocess: Reprocess;
  /** Queues for the dashboard at /_veil/queues. */
  queues?: readonly Queue[];
  /** Replaces the publisher chosen from configuration (tests). */
  publisher?: Publisher;
  basePath?: string;
  log?: Log;
}

export interface ReviewSystem {
  items: ReviewStore;
  audit: AuditLog;
  actions: ReviewActions;
  auth: AdminAuth;
  publisher: Publisher;
  /** Mount with `app.route(basePath, routes)`. */
  routes: Hono<AdminEnv>;
  basePath: string;
  /** For the worker's onResult: a held upload becomes a review item; every upload is audited. */
  onUploadResult(job: UploadJobData, result: UploadJobResult): Promise<void>;
  /** For ingest: the approved decision for an original with this SHA-256, or null. */
  findApprovedBySha256(sha256: string): Promise<ApprovedIndexEntry | null>;
  /** Daily retention and the rejected-original purge, as BullMQ job schedulers. */
  scheduleMaintenance(): Promise<RetentionSchedule>;
  close(): void;
}

/** Everything the admin override queue needs, built from configuration. */
export function createReviewSystem(options: ReviewSystemOptions): ReviewSystem {
  const { config, store } = options;
  const basePath = options.basePath ?? '/_veil';
  const items = new ReviewStore(store, { reviewExpiryDays: config.reviewExpiryDays, maxEdge: config.limits?.maxEdge });
  const audit = new AuditLog(store);
  const publisher = options.publisher ?? (config.wordpress ? createWordPressPublisher(config.wordpress) : noPublisher);
  const actions = new ReviewActions({ items, audit, reprocess: options.reprocess, publisher, log: options.log });
  // Sign-in counts in Redis, so the limit holds however many proxies run.
  const limiterRedis = createRedis(config.redis.url, 'counter');
  let warnedLimiter = false;
  const auth = new AdminAuth({
    limiter: { store: new RedisAttemptStore(limiterRedis, config.redis.prefix) },
    onLimiterError: (err) => {
      if (warnedLimiter) return;
      warnedLimiter = true;
      options.log?.('warn', 'Sign-in counts could not be kept in Redis; counting in this process until it answers', { error: err instanceof Error ? err.message : String(err) });
    },
    users: config.admin.users,
    token: config.admin.token,
    sessionSecret: config.admin.sessionSecret,
    basePath,
    trustProxy: config.trustProxy,
    publicUrl: config.publicUrl,
  });
  const routes = createAdminRoutes({ auth, items, actions, audit, queues: options.queues, log: options.log });

  return {
    items,
    audit,
    actions,
    auth,
    publisher,
    routes,
    basePath,
    async onUploadResult(job, result) {
      if (result.outcome === 'held') await items.createHeldItem(job, result);
      await audit.append(uploadAuditRecord(job, result));
    },
    findApprovedBySha256: (sha256) => items.findApprovedBySha256(sha256),
    scheduleMaintenance: () =>
      scheduleRetention({
        redisUrl: config.redis.url,
        prefix: config.redis.prefix,
        retention: () =>
          runRetention({
            store,
            audit,
            items,
            now: new Date(),
            originalsRetentionDays: config.originalsRetentionDays,
            sanitisedRetentionDays: config.sanitisedRetentionDays,
            reviewExpiryDays: config.reviewExpiryDays,
          }),
        purgeRejected: () => purgeDueRejections({ items, audit, now: new Date() }),
        log: options.log,
      }),
    close: () => {
      actions.close();
      limiterRedis.disconnect();
    },
  };
}
