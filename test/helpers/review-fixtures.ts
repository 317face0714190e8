import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { newUploadId } from '../../src/ingest/ingest.js';
import type { FaceSettings } from '../../src/pipeline/face-options.js';
import { parseRedactionPlan, withReviewerBoxes } from '../../src/pipeline/reviewer-boxes.js';
import { sanitiseImage, type FaceOptions } from '../../src/pipeline/sanitise.js';
import { uploadKeys, type UploadJobData } from '../../src/queue/jobs.js';
import type { Reprocess } from '../../src/review/actions.js';
import type { HeldResult } from '../../src/review/review-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { PROJECT_ROOT } from './faces.js';

/** A 1920 px group photo with three faces and GPS EXIF, shipped by @vladmandic/face-api. */
export const SAMPLE1 = path.join(PROJECT_ROOT, 'node_modules/@vladmandic/face-api/demo/sample1.jpg');

export const ALWAYS_REVIEW_REASON = 'uploads to /safeguarding/ are always reviewed by a person (ALWAYS_REVIEW_PATHS)';

/** The real ONNX detector and redactor, loaded when first needed. */
async function realFaceOptions(settings: FaceSettings): Promise<FaceOptions> {
  const { faceOptions } = await import('../../src/pipeline/face-options.js');
  return faceOptions(settings);
}

export interface HeldUploadOptions {
  /** 'hold': FACE_POLICY=hold with the real detector; 'always-review': no face check, held by path. */
  mode: 'hold' | 'always-review';
  bytes?: Uint8Array;
  originalName?: string;
  cms?: string;
  path?: string;
  user?: string;
  clientIp?: string;
  now?: Date;
}

/**
 * What ingest and the worker do for a held upload, with the real pipeline: the original stored
 * privately, the photo sanitised (and held), the reviewer's preview stored. Returns what the
 * worker hands to its onResult hook.
 */
export async function storeHeldUpload(store: ObjectStore, options: HeldUploadOptions): Promise<{ job: UploadJobData; result: HeldResult }> {
  const bytes = options.bytes ?? readFileSync(SAMPLE1);
  const now = options.now ?? new Date();
  const uploadId = newUploadId(now);
  const keys = uploadKeys(uploadId);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await store.put(keys.original, bytes, { contentType: 'application/octet-stream' });
  const holdReason = options.mode === 'always-review' ? ALWAYS_REVIEW_REASON : undefined;
  const outcome = await sanitiseImage(bytes, {
    faces: options.mode === 'hold' ? await realFaceOptions({ policy: 'hold' }) : null,
    originalName: options.originalName,
    holdReason,
  });
  if (outcome.outcome !== 'held') throw new Error(`expected the photo to be held, got ${outcome.outcome}`);
  await store.put(keys.preview, outcome.preview, { contentType: 'image/jpeg' });
  const job: UploadJobData = {
    uploadId,
    originalKey: keys.original,
    sha256,
    bytes: bytes.length,
    originalName: options.originalName,
    declaredType: 'image/jpeg',
    origin: {
      cms: options.cms ?? 'wordpress',
      method: 'POST',
      path: options.path ?? '/wp-admin/async-upload.php',
      clientIp: options.clientIp ?? '192.0.2.10',
      user: options.user,
      receivedAt: now.toISOString(),
    },
    holdReason,
  };
  return { job, result: { outcome: 'held', uploadId, reasons: outcome.reasons, previewKey: keys.preview, report: outcome.report } };
}

/**
 * Reprocessing as the lead wires it, but in-process: the real pipeline with the reviewer's
 * policy, and their boxes read from the store as the worker reads them.
 */
export function directReprocess(store: ObjectStore): Reprocess {
  return async (item, policy, redactionKey) => {
    const original = await store.get(item.upload.originalKey);
    if (!original) throw new Error(`original of ${item.id} is gone`);
    let faces = await realFaceOptions({ policy });
    if (redactionKey) {
      const plan = await store.get(redactionKey);
      if (!plan) throw new Error(`redaction plan of ${item.id} is gone`);
      faces = withReviewerBoxes(faces, parseRedactionPlan(JSON.parse(Buffer.from(plan.bytes).toString('utf8'))));
    }
    const outcome = await sanitiseImage(original.bytes, { faces, originalName: item.upload.originalName });
    if (outcome.outcome !== 'sanitised') throw new Error(`reprocessing ${item.id} with ${policy} was held again`);
    return { bytes: outcome.bytes, filename: outcome.filename, contentType: outcome.contentType, report: outcome.report };
  };
}
