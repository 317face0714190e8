import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { VeilError, toVeilError } from '../pipeline/errors.js';
import type { RedactionPlan } from '../pipeline/reviewer-boxes.js';
import type { SanitiseReport } from '../pipeline/sanitise.js';
import type { RedactionMode } from '../pipeline/types.js';
import { MAX_BOXES, currentBoxes, currentRedaction, diffBoxes, originalSize, sizeOf, validateBoxes, type Box } from './boxes.js';
import { purgeDueRejections, purgeItemFiles } from './expiry.js';
import { HISTORY_WORDS, REDACTION_WORDS, STATUS_WORDS, itemKeys, type Actor, type Decision, type HistoryEntry, type ReviewItem } from './item.js';
import { formatTime } from './pages/html.js';
import { noPublisher, type Publisher } from './publisher.js';
import type { ReviewStore } from './review-store.js';

/** The face policy a decision re-runs the pipeline with. */
export type ReprocessPolicy = 'allow' | 'blur';

export interface ReprocessedPhoto {
  bytes: Uint8Array;
  filename: string;
  contentType: string;
  report: SanitiseReport;
}

/**
 * Runs the pipeline again on the item's original with the reviewer's policy: 'allow' keeps faces
 * (metadata is still stripped, the photo still downscaled), 'blur' redacts them. It must not pass
 * the item's hold reason, or the photo would be held again. With 'blur', `redactionKey` names the
 * reviewer's plan in the store (src/pipeline/reviewer-boxes.ts): its boxes replace the detector's.
 */
export type Reprocess = (item: ReviewItem, policy: ReprocessPolicy, redactionKey?: string) => Promise<ReprocessedPhoto>;

export interface ReviewActionsOptions {
  items: ReviewStore;
  audit: AuditLog;
  reprocess: Reprocess;
  publisher?: Publisher;
  /** How long a decision can be undone (default 10 minutes). A rejected original is kept that long. */
  undoWindowMs?: number;
  clock?: () => Date;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface DecideOptions {
  reason?: string | undefined;
  bulkId?: string | undefined;
}

/**
 * A change to the boxes of one photo: a whole new list (`boxes`, as the API takes it), or boxes
 * added and removed (by their number in the current list, from 1, as the page shows them), and
 * the redaction. Boxes are in pixels of the upright original.
 */
export interface BoxEditRequest {
  boxes?: unknown;
  add?: unknown;
  remove?: readonly number[] | undefined;
  redaction?: RedactionMode | undefined;
}

type BoxAudit = NonNullable<import('../audit/records.js').ReviewAuditRecord['boxes']>;

export interface BulkResult {
  bulkId: string;
  results: Array<{ id: string; ok: true; status: ReviewItem['status'] } | { id: string; ok: false; error: { code: string; message: string } }>;
}

export const DEFAULT_UNDO_WINDOW_MS = 10 * 60_000;
export const MAX_REASON_CHARS = 500;
export const MAX_BULK_ITEMS = 200;
const MAX_TIMER_MS = 2 ** 31 - 1;

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' };

/**
 * What a reviewer can do with a held photo. Every decision is written to the item and to the
 * audit log. Rejection keeps the original until the undo window ends and then deletes it (an
 * in-process timer, and the maintenance job for anything a restart interrupted); "delete now"
 * ends the window early.
 */
export class ReviewActions {
  readonly items: ReviewStore;
  readonly publisher: Publisher;
  readonly undoWindowMs: number;
  private readonly audit: AuditLog;
  private readonly reprocess: Reprocess;
  private readonly clock: () => Date;
  private readonly log: NonNullable<ReviewActionsOptions['log']>;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(options: ReviewActionsOptions) {
    this.items = options.items;
    this.audit = options.audit;
    this.reprocess = options.reprocess;
    this.publisher = options.publisher ?? noPublisher;
    this.undoWindowMs = options.undoWindowMs ?? DEFAULT_UNDO_WINDOW_MS;
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log ?? (() => {});
  }

  decide(id: string, decision: Decision, actor: Actor, options: DecideOptions & { edit?: BoxEditRequest | undefined } = {}): Promise<ReviewItem> {
    return decision === 'reject' ? this.reject(id, actor, options) : this.approve(id, actor, { ...options, redacted: decision === 'approve-redacted' });
  }

  /**
   * Saves a reviewer's change to the face boxes or the redaction of a waiting photo, in the item
   * and the audit log (counts and sizes only).
   */
  async editBoxes(id: string, actor: Actor, edit: BoxEditRequest): Promise<ReviewItem> {
    let audit: { boxes: BoxAudit; redaction: RedactionMode; at: string } | undefined;
    const edited = await this.items.update(id, (item) => {
      assertPending(item);
      const result = applyBoxEdit(item, edit, actor, this.clock().toISOString());
      if (!result.changed) return item;
      audit = result.audit;
      return result.item;
    });
    if (audit) await this.audit.append({ type: 'review', at: audit.at, action: 'edit-boxes', itemId: id, actor: actor.name, role: actor.role, boxes: audit.boxes, redaction: audit.redaction });
    return edited;
  }

  /**
   * Publishes the photo as sanitised (redacted: false, faces kept) or with the boxed faces hidden:
   * exactly the boxes the reviewer saw (after `edit`, if given), with the redaction they chose.
   */
  async approve(id: string, actor: Actor, options: DecideOptions & { redacted: boolean; edit?: BoxEditRequest | undefined }): Promise<ReviewItem> {
    const action = options.redacted ? 'approve-redacted' : 'approve';
    const reason = cleanReason(options.reason);
    let editAudit: { boxes: BoxAudit; redaction: RedactionMode; at: string } | undefined;
    let hidden: { boxes: BoxAudit; redaction: RedactionMode; redactionKey: string } | undefined;
    const decided = await this.items.update(id, async (current) => {
      assertPending(current);
      if (current.originalDeletedAt) throw new VeilError('CONFLICT', `The original of ${id} has been deleted, so it cannot be approved.`);
      let item = current;
      if (options.redacted && options.edit) {
        const result = applyBoxEdit(item, options.edit, actor, this.clock().toISOString());
        if (result.changed) {
          item = result.item;
          editAudit = result.audit;
        }
      }
      if (options.redacted) hidden = await this.writePlan(item);
      const photo = await this.reprocess(item, options.redacted ? 'blur' : 'allow', hidden?.redactionKey);
      const extension = EXTENSIONS[photo.contentType] ?? 'bin';
      const key = itemKeys(id).approved(extension);
      await this.items.store.put(key, photo.bytes, { contentType: photo.contentType });

      const now = this.clock();
      const at = now.toISOString();
      const delivery = await this.deliver({ bytes: photo.bytes, filename: photo.filename, contentType: photo.contentType }, item, at);
      const entry: HistoryEntry = { at, action, actor: actor.name, role: actor.role, reason, bulkId: options.bulkId, note: deliveryNote(delivery, this.publisher) };
      return {
        ...item,
        status: options.redacted ? 'approved-redacted' : 'approved',
        decision: { action, at, actor: actor.name, role: actor.role, reason, undoUntil: new Date(now.getTime() + this.undoWindowMs).toISOString() },
        approved: {
          key,
          filename: photo.filename,
          contentType: photo.contentType,
          bytes: photo.bytes.length,
          facesRedacted: photo.report.faces?.redacted ?? 0,
          redaction: hidden?.redaction,
        },
        delivery,
        history: [...item.history, entry],
      };
    });
    await this.items.indexApproved({
      sha256: decided.upload.sha256,
      itemId: decided.id,
      decision: action,
      policy: options.redacted ? 'blur' : 'allow',
      redactionKey: hidden?.redactionKey,
      decidedAt: decided.decision!.at,
      actor: actor.name,
    });
    if (editAudit) {
      await this.audit.append({ type: 'review', at: editAudit.at, action: 'edit-boxes', itemId: id, actor: actor.name, role: actor.role, boxes: editAudit.boxes, redaction: editAudit.redaction });
    }
    await this.audit.append({
      type: 'review',
      at: decided.decision!.at,
      action,
      itemId: id,
      actor: actor.name,
      role: actor.role,
      reason,
      bulkId: options.bulkId,
      delivery: decided.delivery ? { mediaId: decided.delivery.mediaId, url: decided.delivery.url, error: decided.delivery.error } : undefined,
      boxes: hidden?.boxes,
      redaction: hidden?.redaction,
    });
    return decided;
  }

  /** The reviewer's boxes as the worker reads them; kept with the item, so a re-upload hides the same faces. */
  private async writePlan(item: ReviewItem): Promise<{ boxes: BoxAudit; redaction: RedactionMode; redactionKey: string }> {
    const size = originalSize(item);
    const boxes = currentBoxes(item);
    const redaction = currentRedaction(item);
    const plan: RedactionPlan = { version: 1, width: size.width, height: size.height, boxes, redaction, detect: item.report.faces === null };
    const redactionKey = itemKeys(item.id).redaction;
    await this.items.store.put(redactionKey, Buffer.from(JSON.stringify(plan)), { contentType: 'application/json' });
    return { boxes: { added: 0, removed: 0, total: boxes.length, addedSizes: [], removedSizes: [] }, redaction, redactionKey };
  }

  /** Marks the item rejected; its original and preview are deleted when the undo window ends. */
  async reject(id: string, actor: Actor, options: DecideOptions = {}): Promise<ReviewItem> {
    const reason = cleanReason(options.reason);
    const decided = await this.items.update(id, (item) => {
      assertPending(item);
      const now = this.clock();
      const at = now.toISOString();
      const undoUntil = new Date(now.getTime() + this.undoWindowMs).toISOString();
      return {
        ...item,
        status: 'rejected' as const,
        decision: { action: 'reject' as const, at, actor: actor.name, role: actor.role, reason, undoUntil },
        purgeAt: undoUntil,
        history: [
          ...item.history,
          { at, action: 'reject' as const, actor: actor.name, role: actor.role, reason, bulkId: options.bulkId, note: `The original will be deleted on ${formatTime(undoUntil)} unless the rejection is undone.` },
        ],
      };
    });
    await this.audit.append({ type: 'review', at: decided.decision!.at, action: 'reject', itemId: id, actor: actor.name, role: actor.role, reason, bulkId: options.bulkId });
    this.schedulePurge(id, new Date(decided.purgeAt!));
    return decided;
  }

  /** Deletes a rejected item's original and preview now, ending its undo window. */
  async deleteNow(id: string, actor: Actor): Promise<ReviewItem> {
    const done = await this.items.update(id, async (item) => {
      if (item.status !== 'rejected' && item.status !== 'expired') {
        throw new VeilError('CONFLICT', `Only a rejected photo's original can be deleted; ${id} is: ${STATUS_WORDS[item.status]}.`);
      }
      const at = this.clock().toISOString();
      const purged = await purgeItemFiles({ items: this.items, audit: this.audit, now: this.clock() }, item, 'rejected', actor.name);
      return {
        ...purged,
        decision: item.decision ? { ...item.decision, undoUntil: at } : item.decision,
        history: [...item.history, { at, action: 'delete-now' as const, actor: actor.name, role: actor.role, note: 'Original and preview deleted; the rejection can no longer be undone.' }],
      };
    });
    this.cancelPurge(id);
    return done;
  }

  /**
   * Reverses the last decision within the undo window: an approval's file is deleted and the CMS
   * media Veil published is withdrawn; a rejection's original (still kept) goes back to the queue.
   */
  async undo(id: string, actor: Actor, options: { reason?: string | undefined } = {}): Promise<ReviewItem> {
    const reason = cleanReason(options.reason);
    let undid: string | undefined;
    const now = this.clock();
    const at = now.toISOString();
    const restored = await this.items.update(id, async (item) => {
      const decision = item.decision;
      if (item.status === 'pending' || !decision || decision.action === 'expire') {
        throw new VeilError('CONFLICT', `There is no decision on ${id} that can be undone (${STATUS_WORDS[item.status]}).`);
      }
      if (!decision.undoUntil || new Date(decision.undoUntil) <= now) {
        throw new VeilError('CONFLICT', `The decision on ${id} can no longer be undone: the undo window ended ${formatTime(decision.undoUntil ?? decision.at)}.`);
      }
      if (item.originalDeletedAt) throw new VeilError('CONFLICT', `The original of ${id} has already been deleted, so the rejection cannot be undone.`);
      undid = decision.action;
      const notes: string[] = [];
      if (item.delivery?.mediaId) {
        // Withdraw first: if the CMS refuses, the photo is still public and the approval must stand.
        await this.publisher.withdraw(item.delivery.mediaId);
        await this.audit.append({ type: 'deletion', at, key: `cms-media/${item.delivery.mediaId}`, kind: 'cms-media', why: 'undo', by: actor.name, itemId: id });
        notes.push(`media ${item.delivery.mediaId} withdrawn from ${this.publisher.description}`);
      }
      if (item.approved) {
        await this.items.store.delete(item.approved.key);
        await this.audit.append({ type: 'deletion', at, key: item.approved.key, kind: 'approved', why: 'undo', by: actor.name, itemId: id });
        await this.items.removeApprovedIndex(item.upload.sha256, id);
        notes.push('approved file deleted');
      }
      return {
        ...item,
        status: 'pending' as const,
        decision: undefined,
        approved: undefined,
        delivery: undefined,
        purgeAt: undefined,
        history: [...item.history, { at, action: 'undo' as const, actor: actor.name, role: actor.role, reason, note: [`Undid: ${HISTORY_WORDS[decision.action].toLowerCase()}`, ...notes].join('; ') }],
      };
    });
    this.cancelPurge(id);
    await this.audit.append({ type: 'review', at, action: 'undo', itemId: id, actor: actor.name, role: actor.role, reason, undid });
    return restored;
  }

  /** Publishes an approved photo again after the CMS failed the first time. */
  async retryPublish(id: string, actor: Actor): Promise<ReviewItem> {
    let result: ReviewItem['delivery'];
    const item = await this.items.update(id, async (current) => {
      if (!current.approved || (current.status !== 'approved' && current.status !== 'approved-redacted')) {
        throw new VeilError('CONFLICT', `${id} is not approved, so there is nothing to publish.`);
      }
      if (current.delivery?.mediaId) throw new VeilError('CONFLICT', `${id} is already published (media ${current.delivery.mediaId}).`);
      const file = await this.items.approvedFile(current);
      if (!file) throw new VeilError('NOT_FOUND', `The approved file of ${id} is missing from storage.`);
      const at = this.clock().toISOString();
      result = await this.deliver({ bytes: file.bytes, filename: current.approved.filename, contentType: current.approved.contentType }, current, at);
      return { ...current, delivery: result, history: [...current.history, { at, action: 'publish' as const, actor: actor.name, role: actor.role, note: deliveryNote(result, this.publisher) }] };
    });
    await this.audit.append({ type: 'review', action: 'publish', itemId: id, actor: actor.name, role: actor.role, delivery: result ? { mediaId: result.mediaId, url: result.url, error: result.error } : undefined });
    return item;
  }

  /** The same decision on many items; each is done (or refused) on its own and audited with one bulk id. */
  async bulk(decision: Decision, ids: readonly string[], actor: Actor, options: { reason?: string | undefined } = {}): Promise<BulkResult> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) throw new VeilError('BAD_REQUEST', 'Choose at least one photo.');
    if (unique.length > MAX_BULK_ITEMS) throw new VeilError('BAD_REQUEST', `At most ${MAX_BULK_ITEMS} photos can be decided at once.`);
    const bulkId = `bulk-${randomBytes(6).toString('hex')}`;
    const results: BulkResult['results'] = [];
    for (const id of unique) {
      try {
        const item = await this.decide(id, decision, actor, { reason: options.reason, bulkId });
        results.push({ id, ok: true, status: item.status });
      } catch (err) {
        const error = toVeilError(err);
        results.push({ id, ok: false, error: error.toJSON() });
      }
    }
    return { bulkId, results };
  }

  /** Stops the purge timers (the maintenance job finishes anything left when Veil restarts). */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async deliver(file: { bytes: Uint8Array; filename: string; contentType: string }, item: ReviewItem, at: string): Promise<ReviewItem['delivery']> {
    if (!this.publisher.publishes) return undefined;
    try {
      const media = await this.publisher.publish(file, item);
      return media ? { publisher: this.publisher.description, at, mediaId: media.mediaId, url: media.url } : undefined;
    } catch (err) {
      const error = toVeilError(err);
      this.log('warn', 'publishing an approved photo failed', { itemId: item.id, error: error.message });
      return { publisher: this.publisher.description, at, error: error.message };
    }
  }

  private schedulePurge(id: string, at: Date): void {
    this.cancelPurge(id);
    // Timers run on a monotonic clock and can fire a millisecond before the wall clock reaches
    // `at`; a little slack keeps the purge from finding the deletion "not yet due" and skipping it.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - this.clock().getTime()) + 50);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      purgeDueRejections({ items: this.items, audit: this.audit, now: this.clock() }, id).catch((err: unknown) =>
        this.log('error', 'deleting a rejected original failed; the maintenance job will retry', { itemId: id, error: toVeilError(err).message }),
      );
    }, delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  private cancelPurge(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }
}

/** The item with the edit applied (validated against the photo's size), and what the audit log records of it. */
export function applyBoxEdit(
  item: ReviewItem,
  edit: BoxEditRequest,
  actor: Actor,
  at: string,
): { item: ReviewItem; changed: boolean; audit: { boxes: BoxAudit; redaction: RedactionMode; at: string } } {
  const size = originalSize(item);
  const before = currentBoxes(item);
  let after: Box[] = edit.boxes !== undefined ? validateBoxes(edit.boxes, size) : [...before];
  if (edit.boxes === undefined && edit.remove && edit.remove.length > 0) {
    const drop = new Set(edit.remove);
    for (const n of drop) {
      if (!Number.isInteger(n) || n < 1 || n > before.length) {
        throw new VeilError('INVALID_BOXES', `There is no box ${String(n)} to remove; this photo has ${before.length === 1 ? '1 box' : `${before.length} boxes`}.`);
      }
    }
    after = after.filter((_, i) => !drop.has(i + 1));
  }
  if (edit.add !== undefined) after = [...after, ...validateBoxes(edit.add, size, 'add')];
  if (after.length > MAX_BOXES) throw new VeilError('INVALID_BOXES', `At most ${MAX_BOXES} boxes can be given for one photo, not ${after.length}.`);
  const redaction = edit.redaction ?? currentRedaction(item);
  const { added, removed } = diffBoxes(before, after);
  const boxes: BoxAudit = { added: added.length, removed: removed.length, total: after.length, addedSizes: added.map(sizeOf), removedSizes: removed.map(sizeOf) };
  const notes = [];
  if (added.length > 0) notes.push(`added ${countWords(added.length, 'box', 'boxes')} (${added.map((b) => `${b[2]} × ${b[3]} px`).join(', ')})`);
  if (removed.length > 0) notes.push(`removed ${countWords(removed.length, 'box', 'boxes')} (${removed.map((b) => `${b[2]} × ${b[3]} px`).join(', ')})`);
  if (redaction !== currentRedaction(item)) notes.push(`faces will be ${REDACTION_WORDS[redaction]}`);
  const changed = notes.length > 0;
  const note = changed ? `${capitalise(notes.join('; '))}. ${countWords(after.length, 'box', 'boxes')} now.` : 'Nothing changed.';
  return {
    item: {
      ...item,
      boxEdit: { boxes: after, redaction, at, actor: actor.name },
      history: [...item.history, { at, action: 'edit-boxes', actor: actor.name, role: actor.role, note }],
    },
    changed,
    audit: { boxes, redaction, at },
  };
}

function countWords(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function assertPending(item: ReviewItem): void {
  if (item.status !== 'pending') {
    throw new VeilError('CONFLICT', `${item.id} has already been decided: ${STATUS_WORDS[item.status]}${item.decision ? ` by ${item.decision.actor}` : ''}.`);
  }
}

/** Reasons are typed by people: one bounded line of text without control characters. */
export function cleanReason(reason: unknown): string | undefined {
  if (typeof reason !== 'string') return undefined;
  const text = reason.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim().replace(/\s+/g, ' ');
  if (text === '') return undefined;
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

function deliveryNote(delivery: ReviewItem['delivery'], publisher: Publisher): string {
  if (!delivery) return 'Not published by Veil (download the approved file).';
  if (delivery.mediaId) return `Published to ${publisher.description} as media ${delivery.mediaId}.`;
  return `Publishing to ${publisher.description} failed: ${delivery.error ?? 'unknown error'}. The approved file can be downloaded or published again.`;
}
