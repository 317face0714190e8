import type { SanitiseReport } from '../pipeline/sanitise.js';
import { uploadKeys } from '../queue/jobs.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * The whole report of a sanitised upload (metadata kinds and the values found), which the worker
 * keeps in the private object store rather than in Redis. Null when it is gone (retention).
 */
export async function readSanitisedReport(store: ObjectStore, uploadId: string): Promise<SanitiseReport | null> {
  const stored = await store.get(uploadKeys(uploadId).report);
  return stored ? (JSON.parse(Buffer.from(stored.bytes).toString('utf8')) as SanitiseReport) : null;
}
