/**
 * One worker thread running the pure pipeline. The BullMQ worker stays on the main thread, so
 * decoding, detection and redaction never delay its lock renewal (or, under `veil start`, the
 * proxy's pass-through traffic).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toVeilError } from '../src/pipeline/errors.js';
import { faceOptions } from '../src/pipeline/face-options.js';
import { withReviewerBoxes } from '../src/pipeline/reviewer-boxes.js';
import { sanitiseImage } from '../src/pipeline/sanitise.js';
import type { PipelineSettings, PipelineTask, ThreadReply } from './pipeline-pool.js';

const settings = workerData as PipelineSettings;

parentPort!.on('message', async (task: PipelineTask) => {
  let reply: ThreadReply;
  try {
    // A person's decision replaces the site's policy, and uncertain detections need no second look.
    const decided = task.policyOverride !== undefined;
    const faces = decided ? { ...settings.faces, policy: task.policyOverride!, reviewBand: undefined } : settings.faces;
    const result = await sanitiseImage(task.bytes, {
      maxEdge: settings.maxEdge,
      limits: settings.limits,
      faces: task.plan ? withReviewerBoxes(faceOptions(faces), task.plan) : faceOptions(faces),
      originalName: task.originalName,
      keepFilename: settings.keepFilenames,
      holdReason: task.holdReason,
    });
    reply = { id: task.id, ok: true, result };
  } catch (err) {
    reply = { id: task.id, ok: false, error: toVeilError(err).toJSON() };
  }
  // Copied, not transferred: sharp's buffers live outside the JS heap and cannot be detached.
  parentPort!.postMessage(reply);
});
