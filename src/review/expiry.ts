import type { AuditLog } from '../audit/audit-log.js';
import type { DeletionWhy } from '../audit/records.js';
import type { ReviewItem } from './item.js';
import type { ReviewStore } from './review-store.js';

const DAY_MS = 86_400_000;

export interface CleanUpContext {
  items: ReviewStore;
  audit: AuditLog;
  now: Date;
}

/**
 * Deletes a held item's original and preview (the only copies with unblurred faces that nobody
 * approved), auditing each deletion, and returns the item marked accordingly. The item record
 * itself stays: it says what happened, and holds no image.
 */
export async function purgeItemFiles(ctx: CleanUpContext, item: ReviewItem, why: DeletionWhy, by: string): Promise<ReviewItem> {
  const { store } = ctx.items;
  const at = ctx.now.toISOString();
  const next = { ...item };
  if (!item.originalDeletedAt) {
    await store.delete(item.upload.originalKey);
    await ctx.audit.append({ type: 'deletion', at, key: item.upload.originalKey, kind: 'original', why, by, itemId: item.id });
    next.originalDeletedAt = at;
  }
  if (!item.previewDeletedAt) {
    await store.delete(item.upload.previewKey);
    await ctx.audit.append({ type: 'deletion', at, key: item.upload.previewKey, kind: 'preview', why, by, itemId: item.id });
    next.previewDeletedAt = at;
  }
  next.purgeAt = undefined;
  return next;
}

/** Rejected items whose undo window has ended lose their original and preview. */
export async function purgeDueRejections(ctx: CleanUpContext, only?: string): Promise<number> {
  const candidates = only ? [await ctx.items.get(only)].filter((i): i is ReviewItem => i !== null) : await ctx.items.list({ status: 'rejected' });
  let purged = 0;
  for (const candidate of candidates) {
    if (!isPurgeDue(candidate, ctx.now)) continue;
    await ctx.items.update(candidate.id, async (item) => {
      if (!isPurgeDue(item, ctx.now)) return item; // undone meanwhile
      purged += 1;
      return purgeItemFiles(ctx, item, 'rejected', item.decision?.actor ?? 'unknown');
    });
  }
  return purged;
}

function isPurgeDue(item: ReviewItem, now: Date): boolean {
  return item.status === 'rejected' && item.purgeAt !== undefined && new Date(item.purgeAt) <= now;
}

/**
 * Pending items older than REVIEW_EXPIRY_DAYS become "expired" (rejected without a decision):
 * their original and preview are deleted at once and the expiry is audited.
 */
export async function expireDueItems(ctx: CleanUpContext & { reviewExpiryDays: number }): Promise<number> {
  const cutoff = ctx.now.getTime() - ctx.reviewExpiryDays * DAY_MS;
  let expired = 0;
  for (const candidate of await ctx.items.list({ status: 'pending' })) {
    if (new Date(candidate.createdAt).getTime() > cutoff) continue;
    await ctx.items.update(candidate.id, async (item) => {
      if (item.status !== 'pending') return item; // decided meanwhile
      expired += 1;
      const at = ctx.now.toISOString();
      const reason = `No decision within ${ctx.reviewExpiryDays} days (REVIEW_EXPIRY_DAYS)`;
      const decided: ReviewItem = {
        ...item,
        status: 'expired',
        decision: { action: 'expire', at, actor: 'expiry', role: 'system', reason },
        history: [...item.history, { at, action: 'expire', actor: 'expiry', role: 'system', reason }],
      };
      await ctx.audit.append({ type: 'review', at, action: 'expire', itemId: item.id, actor: 'expiry', role: 'system', reason });
      return purgeItemFiles(ctx, decided, 'expiry', 'expiry');
    });
  }
  return expired;
}
