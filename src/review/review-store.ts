import { uprightSize } from '../pipeline/decode.js';
import { VeilError } from '../pipeline/errors.js';
import { publishedSize } from './boxes.js';
import type { UploadJobData, UploadJobResult } from '../queue/jobs.js';
import type { ObjectStore, StoredObject } from '../storage/object-store.js';
import {
  assertItemId,
  isItemId,
  itemKeys,
  type Decision,
  type ReasonKind,
  type ReviewItem,
  type ReviewStatus,
} from './item.js';

export * from './item.js';

export type HeldResult = Extract<UploadJobResult, { outcome: 'held' }>;

export interface ReviewFilter {
  status?: ReviewStatus | readonly ReviewStatus[] | undefined;
  /** Items created at or after this time. */
  since?: Date | undefined;
  cms?: string | undefined;
  reason?: ReasonKind | undefined;
}

/** What a re-upload of an approved original needs to pass: the decision and its policy. */
export interface ApprovedIndexEntry {
  sha256: string;
  itemId: string;
  decision: Extract<Decision, 'approve' | 'approve-redacted'>;
  /** The face policy the re-upload runs with: approve → allow, approve-redacted → blur. */
  policy: 'allow' | 'blur';
  /** The reviewer's boxes and redaction (approve-redacted), so a re-upload hides the same faces. */
  redactionKey?: string | undefined;
  decidedAt: string;
  actor: string;
}

export interface ReviewStoreOptions {
  reviewExpiryDays: number;
  /** MAX_EDGE: the detector's boxes are in pixels of the photo shrunk to this. */
  maxEdge?: number | undefined;
  clock?: () => Date;
}

const SHA256 = /^[0-9a-f]{64}$/;
const ITEM_KEY = /^review\/(\d{8}-\d{6}-[0-9a-f]{8})\/item\.json$/;
const DAY_MS = 86_400_000;

/**
 * Held items in the object store. Writes of one item are serialised in this process; across
 * several proxies two people deciding the same item in the same second could race (the store has
 * no compare-and-swap), and both decisions would still be in the audit log.
 */
export class ReviewStore {
  private readonly clock: () => Date;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: ObjectStore,
    private readonly options: ReviewStoreOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** For the worker's onResult: the held upload becomes an item. A retried job finds its item. */
  async createHeldItem(job: UploadJobData, result: HeldResult): Promise<ReviewItem> {
    assertItemId(job.uploadId);
    return this.withLock(job.uploadId, async () => {
      const existing = await this.get(job.uploadId);
      if (existing) return existing;
      const now = this.clock();
      const faces = result.report.faces?.faces ?? [];
      const reasonKinds: ReasonKind[] = [];
      if (faces.some((f) => f.action === 'held')) reasonKinds.push('faces');
      if (faces.some((f) => f.action === 'uncertain')) reasonKinds.push('uncertain');
      if (job.holdReason) reasonKinds.push('always-review');
      const item: ReviewItem = {
        version: 1,
        id: job.uploadId,
        status: 'pending',
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.options.reviewExpiryDays * DAY_MS).toISOString(),
        reasons: result.reasons,
        reasonKinds,
        // Metadata values (GPS positions, captions naming children) are never kept: the reviewer
        // decides about faces, and the metadata goes whatever the decision.
        report: { ...result.report, removed: result.report.removed.map(({ kind, label }) => ({ kind, label })) },
        faces,
        publishedSize: publishedSize(uprightSize(result.report.input), this.options.maxEdge),
        uploader: job.origin,
        upload: {
          originalKey: job.originalKey,
          previewKey: result.previewKey,
          originalName: job.originalName,
          declaredType: job.declaredType,
          sha256: job.sha256,
          bytes: job.bytes,
        },
        history: [],
      };
      await this.write(item);
      return item;
    });
  }

  /** The item, or null if there is none. An id of the wrong shape is refused before any read. */
  async get(id: string): Promise<ReviewItem | null> {
    const keys = itemKeys(id);
    const object = await this.store.get(keys.item);
    return object ? parseItem(object, id) : null;
  }

  async require(id: string): Promise<ReviewItem> {
    const item = await this.get(id);
    if (!item) throw new VeilError('NOT_FOUND', `No held photo has the reference ${id}.`);
    return item;
  }

  /** Reads, changes and writes one item with no other change of it in between (in this process). */
  async update(id: string, change: (item: ReviewItem) => Promise<ReviewItem> | ReviewItem): Promise<ReviewItem> {
    assertItemId(id);
    return this.withLock(id, async () => {
      const changed = await change(await this.require(id));
      await this.write(changed);
      return changed;
    });
  }

  /** Oldest first: the queue is worked from the photo that has waited longest. */
  async list(filter: ReviewFilter = {}): Promise<ReviewItem[]> {
    const statuses = filter.status === undefined ? undefined : ([] as ReviewStatus[]).concat(filter.status);
    const sinceDay = filter.since ? compactDay(filter.since) : undefined;
    const ids: string[] = [];
    for await (const info of this.store.list('review/')) {
      const id = ITEM_KEY.exec(info.key)?.[1];
      // Ids start with their creation day, so older items are skipped without being read.
      if (id && (!sinceDay || id.slice(0, 8) >= sinceDay)) ids.push(id);
    }
    const items: ReviewItem[] = [];
    for (let start = 0; start < ids.length; start += 16) {
      const batch = await Promise.all(ids.slice(start, start + 16).map((id) => this.get(id)));
      for (const item of batch) {
        if (!item) continue;
        if (statuses && !statuses.includes(item.status)) continue;
        if (filter.since && new Date(item.createdAt) < filter.since) continue;
        if (filter.cms && item.uploader.cms !== filter.cms) continue;
        if (filter.reason && !item.reasonKinds.includes(filter.reason)) continue;
        items.push(item);
      }
    }
    return items.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  }

  async preview(id: string): Promise<StoredObject | null> {
    return this.store.get(itemKeys(id).preview);
  }

  async approvedFile(item: ReviewItem): Promise<StoredObject | null> {
    return item.approved ? this.store.get(item.approved.key) : null;
  }

  /** Lets a re-upload of the same original pass with the approved decision. */
  async indexApproved(entry: ApprovedIndexEntry): Promise<void> {
    await this.store.put(indexKey(entry.sha256), Buffer.from(JSON.stringify(entry)), { contentType: 'application/json' });
  }

  async removeApprovedIndex(sha256: string, itemId: string): Promise<void> {
    const current = await this.findApprovedBySha256(sha256);
    // Another item may have approved the same original since; leave its entry.
    if (current && current.itemId === itemId) await this.store.delete(indexKey(sha256));
  }

  /** The approved decision for an original with this SHA-256 (hex), or null. */
  async findApprovedBySha256(sha256: string): Promise<ApprovedIndexEntry | null> {
    if (!SHA256.test(sha256)) return null;
    const object = await this.store.get(indexKey(sha256));
    if (!object) return null;
    try {
      const entry = JSON.parse(Buffer.from(object.bytes).toString('utf8')) as ApprovedIndexEntry;
      return entry.sha256 === sha256 && isItemId(entry.itemId) && (entry.policy === 'allow' || entry.policy === 'blur') ? entry : null;
    } catch {
      return null;
    }
  }

  private async write(item: ReviewItem): Promise<void> {
    await this.store.put(itemKeys(item.id).item, Buffer.from(JSON.stringify(item, null, 1)), { contentType: 'application/json' });
  }

  private async withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}

function indexKey(sha256: string): string {
  return `review/by-sha256/${sha256}.json`;
}

function compactDay(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

function parseItem(object: StoredObject, id: string): ReviewItem {
  let item: ReviewItem;
  try {
    item = JSON.parse(Buffer.from(object.bytes).toString('utf8')) as ReviewItem;
  } catch (err) {
    throw new VeilError('STORAGE_UNAVAILABLE', `The review item ${id} in storage is damaged and cannot be read.`, { cause: err });
  }
  if (!item || item.version !== 1 || item.id !== id) {
    throw new VeilError('STORAGE_UNAVAILABLE', `The review item ${id} in storage is not a Veil review item.`);
  }
  return item;
}
