import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type DeletionAuditRecord, type ReviewAuditRecord } from '../src/audit/audit-log.js';
import { decodeForDetection, detectFaces } from '../src/pipeline/faces.js';
import { ReviewActions } from '../src/review/actions.js';
import { createWordPressPublisher } from '../src/review/publish-wordpress.js';
import { runRetention } from '../src/review/retention.js';
import { ReviewStore, type ReviewItem } from '../src/review/review-store.js';
import { LocalObjectStore } from '../src/storage/index.js';
import { closeExiftool, nonStructuralTags, readAllTags } from './helpers/exiftool.js';
import { SAMPLE1, directReprocess, storeHeldUpload } from './helpers/review-fixtures.js';
import { startStubWordPress, type StubWordPress } from './helpers/stub-wordpress.js';

const DSL = { name: 'dsl', role: 'admin' as const };
const WP = { user: 'veil-publisher', appPassword: 'abcd EFGH 1234 ijkl MNOP 5678' };

let root: string;
let store: LocalObjectStore;
let wordpress: StubWordPress;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-review-actions-'));
  store = new LocalObjectStore(root);
  wordpress = await startStubWordPress(WP);
});
afterAll(async () => {
  await wordpress?.close();
  await closeExiftool();
  await rm(root, { recursive: true, force: true });
});

/** A review system on the shared store with its own clock. */
function system(options: { now?: () => Date; undoWindowMs?: number; appPassword?: string } = {}) {
  const clock = options.now ?? (() => new Date());
  const items = new ReviewStore(store, { reviewExpiryDays: 14, clock });
  const audit = new AuditLog(store, clock);
  const publisher = createWordPressPublisher({ url: wordpress.url, user: WP.user, appPassword: options.appPassword ?? WP.appPassword });
  const actions = new ReviewActions({ items, audit, reprocess: directReprocess(store), publisher, undoWindowMs: options.undoWindowMs, clock });
  return { items, audit, actions };
}

async function heldItem(mode: 'hold' | 'always-review' = 'hold'): Promise<ReviewItem> {
  const { job, result } = await storeHeldUpload(store, { mode, originalName: 'pupils-sports-day.jpg' });
  return system().items.createHeldItem(job, result);
}

async function facesIn(bytes: Uint8Array) {
  return detectFaces(await decodeForDetection(bytes), { minFaceHeight: 16 });
}

/**
 * How much facial-feature-sized structure a box holds: its middle averaged down to a 24 × 24
 * grid (eyes, nose and mouth span a few cells; pixel noise and JPEG blocks average out), then
 * the mean absolute Laplacian of that grid.
 */
async function detailIn(bytes: Uint8Array, box: [number, number, number, number]): Promise<number> {
  const image = await decodeForDetection(bytes);
  const [bx, by, bw, bh] = box;
  const grid = 24;
  const cells = new Float64Array(grid * grid);
  const counts = new Float64Array(grid * grid);
  const x0 = bx + bw * 0.1;
  const y0 = by + bh * 0.1;
  const w = bw * 0.8;
  const h = bh * 0.8;
  for (let y = Math.ceil(y0); y < y0 + h; y++) {
    for (let x = Math.ceil(x0); x < x0 + w; x++) {
      const i = (y * image.width + x) * image.channels;
      const cell = Math.min(grid - 1, Math.floor(((y - y0) * grid) / h)) * grid + Math.min(grid - 1, Math.floor(((x - x0) * grid) / w));
      cells[cell] = cells[cell]! + 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
      counts[cell] = counts[cell]! + 1;
    }
  }
  const at = (x: number, y: number) => cells[y * grid + x]! / counts[y * grid + x]!;
  let sum = 0;
  for (let y = 1; y < grid - 1; y++) {
    for (let x = 1; x < grid - 1; x++) sum += Math.abs(4 * at(x, y) - at(x - 1, y) - at(x + 1, y) - at(x, y - 1) - at(x, y + 1));
  }
  return sum / ((grid - 2) * (grid - 2));
}

async function auditOf(audit: AuditLog, itemId: string): Promise<Array<ReviewAuditRecord | DeletionAuditRecord>> {
  return (await audit.collect()).filter(
    (r): r is ReviewAuditRecord | DeletionAuditRecord => (r.type === 'review' && r.itemId === itemId) || (r.type === 'deletion' && r.itemId === itemId),
  );
}

describe('approving a held photo', () => {
  it('approve redacted: faces blurred beyond detection, published to WordPress, indexed and audited', async () => {
    const { items, audit, actions } = system();
    const item = await heldItem();
    const before = wordpress.media.length;
    const decided = await actions.approve(item.id, DSL, { redacted: true, reason: 'Consent for the event, blur to be safe' });

    expect(decided.status).toBe('approved-redacted');
    const file = await items.approvedFile(decided);
    expect(file).not.toBeNull();
    expect(decided.approved?.facesRedacted).toBeGreaterThanOrEqual(3);
    // The detail that makes a face recognisable is gone: compared with the same photo approved
    // as it is, almost no fine structure is left inside any face box.
    const asIs = await directReprocess(store)(item, 'allow');
    for (const face of item.faces) {
      const kept = await detailIn(asIs.bytes, face.box);
      const left = await detailIn(file!.bytes, face.box);
      // Blur shades every other cell by a fixed step (so no head outline is left for a detector);
      // those cell edges count as structure here, the face's own is gone.
      expect(left, `face at ${face.box.map(Math.round).join(',')}`).toBeLessThan(kept * 0.5);
    }
    // And Veil's own detector finds no face of 16 px or more in what gets published.
    expect(await facesIn(file!.bytes)).toEqual([]);

    expect(wordpress.media).toHaveLength(before + 1);
    const received = wordpress.media.at(-1)!;
    expect(Buffer.compare(received.body, Buffer.from(file!.bytes))).toBe(0);
    expect(received.contentType).toBe('image/jpeg');
    expect(received.filename).toBe(decided.approved?.filename);
    expect(received.filename).not.toContain('pupils');
    expect(decided.delivery).toMatchObject({ mediaId: String(received.id) });
    expect(decided.delivery?.url).toContain(received.filename!);

    expect(await items.findApprovedBySha256(item.upload.sha256)).toMatchObject({ itemId: item.id, policy: 'blur', decision: 'approve-redacted' });
    const [record] = await auditOf(audit, item.id);
    expect(record).toMatchObject({ type: 'review', action: 'approve-redacted', actor: 'dsl', role: 'admin', reason: 'Consent for the event, blur to be safe', delivery: { mediaId: String(received.id) } });
  });

  it('approve as it is: faces stay, but the published file has no metadata (ExifTool) and is downscaled', async () => {
    const { items, actions } = system();
    const item = await heldItem();
    const decided = await actions.approve(item.id, DSL, { redacted: false });
    const file = (await items.approvedFile(decided))!;

    expect(decided.status).toBe('approved');
    expect((await facesIn(file.bytes)).length).toBeGreaterThanOrEqual(3);
    const original = await readAllTags(SAMPLE1);
    expect(Object.keys(original).some((k) => k.includes('GPS'))).toBe(true);
    const out = path.join(root, 'approved-as-is.jpg');
    await writeFile(out, file.bytes);
    const tags = await readAllTags(out);
    expect(nonStructuralTags(tags)).toEqual([]);
    expect(Object.keys(tags).some((k) => k.includes('GPS'))).toBe(false);
    expect(Math.max(Number(tags['File:ImageWidth']), Number(tags['File:ImageHeight']))).toBeLessThanOrEqual(1600);
  });

  it('undo of an approval withdraws the WordPress media, deletes the approved file and the re-upload pass', async () => {
    const { items, audit, actions } = system();
    const item = await heldItem();
    const decided = await actions.approve(item.id, DSL, { redacted: false });
    const mediaId = decided.delivery!.mediaId!;
    const approvedKey = decided.approved!.key;

    const undone = await actions.undo(item.id, { name: 'comms', role: 'reviewer' }, { reason: 'wrong photo' });
    expect(undone.status).toBe('pending');
    expect(wordpress.deleted).toContain(mediaId);
    expect(await store.head(approvedKey)).toBeNull();
    expect(await items.findApprovedBySha256(item.upload.sha256)).toBeNull();
    expect(await store.head(item.upload.originalKey)).not.toBeNull(); // can be decided again
    const records = await auditOf(audit, item.id);
    expect(records.map((r) => (r.type === 'review' ? r.action : `delete ${r.kind}`))).toEqual(['approve', 'delete cms-media', 'delete approved', 'undo']);
    expect(records.at(-1)).toMatchObject({ undid: 'approve', actor: 'comms', reason: 'wrong photo' });
  });

  it('keeps the approval and says why when WordPress refuses, and publishes on retry', async () => {
    const failing = system({ appPassword: 'wrong wrong wrong' });
    const item = await heldItem('always-review');
    const decided = await failing.actions.approve(item.id, DSL, { redacted: true });
    expect(decided.status).toBe('approved-redacted');
    expect(decided.delivery?.error).toMatch(/HTTP 401.*WORDPRESS_APP_PASSWORD/s);
    expect(await failing.items.approvedFile(decided)).not.toBeNull();

    const fixed = system();
    const retried = await fixed.actions.retryPublish(item.id, DSL);
    expect(retried.delivery?.mediaId).toBe(String(wordpress.media.at(-1)!.id));
    expect(retried.history.map((h) => h.action)).toEqual(['approve-redacted', 'publish']);
  });
});

describe('rejecting', () => {
  it('keeps the original through the undo window, then deletes original and preview and audits both', async () => {
    let now = Date.parse('2026-11-26T10:00:00Z');
    const { items, audit, actions } = system({ now: () => new Date(now), undoWindowMs: 60_000 });
    const item = await heldItem('always-review');

    const rejected = await actions.reject(item.id, DSL, { reason: 'No photo consent for this pupil' });
    expect(rejected.status).toBe('rejected');
    expect(rejected.purgeAt).toBe('2026-11-26T10:01:00.000Z');
    expect(await store.head(item.upload.originalKey)).not.toBeNull();

    now += 30_000;
    expect((await actions.undo(item.id, DSL)).status).toBe('pending');
    await actions.reject(item.id, DSL, { reason: 'No photo consent for this pupil' });

    now += 61_000;
    const { purgeDueRejections } = await import('../src/review/expiry.js');
    expect(await purgeDueRejections({ items, audit, now: new Date(now) })).toBe(1);
    expect(await store.head(item.upload.originalKey)).toBeNull();
    expect(await store.head(item.upload.previewKey)).toBeNull();
    await expect(actions.undo(item.id, DSL)).rejects.toMatchObject({ code: 'CONFLICT' });

    const records = await auditOf(audit, item.id);
    expect(records.map((r) => (r.type === 'review' ? r.action : `delete ${r.kind} (${r.why}) by ${r.by}`))).toEqual([
      'reject',
      'undo',
      'reject',
      'delete original (rejected) by dsl',
      'delete preview (rejected) by dsl',
    ]);
    actions.close();
  });

  it('deletes the original by itself when the undo window ends, and at once on "delete now"', async () => {
    const { actions } = system({ undoWindowMs: 300 });
    const item = await heldItem('always-review');
    await actions.reject(item.id, DSL);
    const deadline = Date.now() + 10_000;
    while ((await store.head(item.upload.originalKey)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await store.head(item.upload.originalKey)).toBeNull();

    const slow = system({ undoWindowMs: 3_600_000 });
    const other = await heldItem('always-review');
    await slow.actions.reject(other.id, DSL);
    const deleted = await slow.actions.deleteNow(other.id, DSL);
    expect(deleted.originalDeletedAt).toBeDefined();
    expect(await store.head(other.upload.originalKey)).toBeNull();
    await expect(slow.actions.undo(other.id, DSL)).rejects.toMatchObject({ code: 'CONFLICT' });
    slow.actions.close();
  });

  it('refuses an undo once the window has passed', async () => {
    let now = Date.now();
    const { actions } = system({ now: () => new Date(now), undoWindowMs: 1000 });
    const item = await heldItem('always-review');
    await actions.reject(item.id, DSL);
    now += 1001;
    await expect(actions.undo(item.id, DSL)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/no longer be undone/) });
    actions.close();
  });
});

describe('bulk decisions and expiry', () => {
  it('decides many items with one bulk id, reporting items that were already decided', async () => {
    const { audit, actions } = system();
    const a = await heldItem('always-review');
    const b = await heldItem('always-review');
    const c = await heldItem('always-review');
    await actions.reject(c.id, DSL);

    const result = await actions.bulk('reject', [a.id, b.id, c.id], { name: 'comms', role: 'reviewer' }, { reason: 'Duplicate uploads' });
    expect(result.results.map((r) => [r.id, r.ok])).toEqual([[a.id, true], [b.id, true], [c.id, false]]);
    const failed = result.results[2]!;
    expect(!failed.ok && failed.error.code).toBe('CONFLICT');
    const records = (await audit.collect({ types: ['review'] })).filter((r) => r.type === 'review' && r.bulkId === result.bulkId);
    expect(records.map((r) => (r.type === 'review' ? r.itemId : ''))).toEqual([a.id, b.id]);
    actions.close();
  });

  it('expires items nobody decided within REVIEW_EXPIRY_DAYS: rejected, originals deleted, audited', async () => {
    const { items, audit } = system();
    const item = await heldItem('always-review');
    const later = new Date(Date.now() + 15 * 86_400_000);
    const summary = await runRetention({ store, audit, items, now: later, originalsRetentionDays: 30, reviewExpiryDays: 14 });
    expect(summary.expired).toBeGreaterThanOrEqual(1);
    const expired = await items.require(item.id);
    expect(expired.status).toBe('expired');
    expect(expired.decision).toMatchObject({ action: 'expire', actor: 'expiry' });
    expect(await store.head(item.upload.originalKey)).toBeNull();
    const records = await auditOf(audit, item.id);
    expect(records.map((r) => (r.type === 'review' ? r.action : `delete ${r.kind} (${r.why})`))).toEqual(['expire', 'delete original (expiry)', 'delete preview (expiry)']);
  });
});
