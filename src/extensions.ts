import { randomBytes } from 'node:crypto';
import { uploadAuditRecord } from './audit/records.js';
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
export const veilExtensions: ExtensionFactory = async ({ config, role, store, queue, logger }) => {
  const reprocess: Reprocess = async (item, policy) => {
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
      },
      REPROCESS_TIMEOUT_MS,
    );
    if (result.outcome === 'refused') throw new VeilError(result.error.code as ErrorCode, result.error.message);
    if (result.outcome === 'held') throw new VeilError('INTERNAL', `The photo was held again: ${result.reasons.join('; ')}`);
    const file = await store.get(result.sanitisedKey);
    if (!file) throw new VeilError('STORAGE_UNAVAILABLE', 'The re-processed photo is missing from storage.');
    return { bytes: file.bytes, filename: result.filename, contentType: result.contentType, report: result.report };
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
    async close() {
      review.close();
      await maintenance?.close();
    },
  };
};
