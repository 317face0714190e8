import { randomBytes } from 'node:crypto';
import { uploadAuditRecord } from './audit/records.js';
import { createIngestRoute } from './ingest/http-endpoint.js';
import { RedisReplayGuard } from './ingest/replay-guard.js';
import { readSanitisedReport } from './ingest/report.js';
import { createRedis } from './queue/redis.js';
import { VeilError, type ErrorCode } from './pipeline/errors.js';
import { createReviewSystem, type Reprocess } from './review/index.js';
import type { ExtensionFactory } from './server.js';

/** Reviewer decisions re-run the pipeline through the same queue and workers as uploads. */
const REPROCESS_TIMEOUT_MS = 120_000;

/**
 * Attaches the admin override queue and the audit log to a Veil process: held uploads become
 * review items, every upload is audited, approvals re-run the pipeline on the private original,
 * and an approved original uploaded again passes with the reviewer's decision.
 */
export const veilExtensions: ExtensionFactory = async ({ config, role, store, queue, logger, sanitise }) => {
  const reprocess: Reprocess = async (item, policy, redactionKey) => {
    const uploadId = `${item.id}-${policy}-${randomBytes(3).toString('hex')}`;
    const result = await queue.submit(
      {
        uploadId,
        originalKey: item.upload.originalKey,
        sha256: item.upload.sha256,
        bytes: item.upload.bytes,
        originalName: item.upload.originalName,
        declaredType: item.upload.declaredType,
        origin: { ...item.uploader, receivedAt: new Date().toISOString() },
        policyOverride: policy,
        reprocessOf: item.id,
        redactionKey,
      },
      REPROCESS_TIMEOUT_MS,
    );
    if (result.outcome === 'refused') throw new VeilError(result.error.code as ErrorCode, result.error.message);
    if (result.outcome === 'held') throw new VeilError('INTERNAL', `The photo was held again: ${result.reasons.join('; ')}`);
    const file = await store.get(result.sanitisedKey);
    // The queue's result holds counts only; the report the review keeps is in the store.
    const report = await readSanitisedReport(store, result.uploadId);
    if (!file || !report) throw new VeilError('STORAGE_UNAVAILABLE', 'The re-processed photo is missing from storage.');
    return { bytes: file.bytes, filename: result.filename, contentType: result.contentType, report };
  };

  const review = createReviewSystem({
    config,
    store,
    reprocess,
    queues: [queue.queue],
    log: (level, message, fields) => logger[level](message, fields),
  });
  if (review.auth.generatedSecret && role !== 'worker') {
    logger.warn('VEIL_SESSION_SECRET is not set: admin sessions end when Veil restarts, and several proxies cannot share them');
  }
  if (config.admin.users.length === 0 && !config.admin.token && role !== 'worker') {
    logger.warn('no VEIL_ADMIN_USERS or VEIL_ADMIN_TOKEN: held photos wait, but nobody can review them until one is set (see `veil hash-password`)');
  }
  const maintenance = role === 'proxy' ? undefined : await review.scheduleMaintenance();

  // The Cloudflare edge sends its uploads here (docs/edge.md); only when a shared secret is set.
  const replayRedis = config.ingestSecret && role !== 'worker' ? createRedis(config.redis.url, 'producer') : undefined;
  const ingestRoute = replayRedis
    ? createIngestRoute({
        sanitise: (file, ctx, signal) => sanitise()(file, ctx, signal),
        secret: config.ingestSecret!,
        replay: new RedisReplayGuard(replayRedis, `${config.redis.prefix}:`),
        maxBytes: config.limits.maxUploadBytes,
        timeoutMs: config.limits.uploadTimeoutMs,
      })
    : undefined;

  return {
    async onWorkerResult(job, result) {
      // A reviewer's re-run is part of their decision, which the review actions audit.
      if (job.reprocessOf) return;
      await review.onUploadResult(job, result);
    },
    onProxyRefusal(job, result) {
      review.audit.append(uploadAuditRecord(job, result)).catch((err: Error) => logger.error('could not audit a refused upload', { uploadId: job.uploadId, error: err.message }));
    },
    priorDecision: (sha256) => review.findApprovedBySha256(sha256),
    admin: review.routes,
    isSignedInAdmin: (c) => review.auth.principal(c, { allowToken: false })?.role === 'admin',
    veilRoutes: ingestRoute ? [ingestRoute] : [],
    async close() {
      review.close();
      await maintenance?.close();
      replayRedis?.disconnect();
    },
  };
};
