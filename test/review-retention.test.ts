import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/audit-log.js';
import { ReviewActions } from '../src/review/actions.js';
import { runRetention, scheduleRetention, type RetentionSummary } from '../src/review/retention.js';
import { ReviewStore } from '../src/review/review-store.js';
import { LocalObjectStore } from '../src/storage/index.js';
import { storeHeldUpload } from './helpers/review-fixtures.js';

const DAY = 86_400_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let root: string;
let store: LocalObjectStore;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-retention-'));
  store = new LocalObjectStore(root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('retention', () => {
  it('deletes old originals and decided previews, keeps what is still waiting or undoable, and audits each deletion', async () => {
    const items = new ReviewStore(store, { reviewExpiryDays: 60 });
    const audit = new AuditLog(store);
    const noReprocess = async () => {
      throw new Error('not used');
    };
    const actions = new ReviewActions({ items, audit, reprocess: noReprocess, undoWindowMs: 40 * DAY });

    // A photo that was published straight away: only its original is left in the store.
    await store.put('originals/20261101-080000-0a0a0a0a', Buffer.from('original of a sanitised upload'));
    const pendingUpload = await storeHeldUpload(store, { mode: 'always-review' });
    const pending = await items.createHeldItem(pendingUpload.job, pendingUpload.result);
    const undoableUpload = await storeHeldUpload(store, { mode: 'always-review' });
    const undoable = await items.createHeldItem(undoableUpload.job, undoableUpload.result);
    await actions.reject(undoable.id, { name: 'dsl', role: 'admin' });
    // An approved item (decided long ago) still has its original and preview.
    const approvedUpload = await storeHeldUpload(store, { mode: 'always-review' });
    const approved = await items.createHeldItem(approvedUpload.job, approvedUpload.result);
    await items.update(approved.id, (item) => ({ ...item, status: 'approved', decision: { action: 'approve', at: new Date().toISOString(), actor: 'dsl', role: 'admin', undoUntil: new Date().toISOString() } }));
    actions.close();

    const now = new Date(Date.now() + 31 * DAY);
    const summary = await runRetention({ store, audit, items, now, originalsRetentionDays: 30, reviewExpiryDays: 60 });

    expect(summary).toEqual<RetentionSummary>({ expired: 0, rejectedPurged: 0, originalsDeleted: 2, previewsDeleted: 1, sanitisedDeleted: 0 });
    expect(await store.head('originals/20261101-080000-0a0a0a0a')).toBeNull();
    expect(await store.head(approved.upload.originalKey)).toBeNull();
    expect(await store.head(approved.upload.previewKey)).toBeNull();
    expect(await store.head(pending.upload.originalKey)).not.toBeNull();
    expect(await store.head(undoable.upload.originalKey)).not.toBeNull();
    expect((await items.require(approved.id)).originalDeletedAt).toBe(now.toISOString());

    const deletions = await audit.collect({ types: ['deletion'] });
    expect(deletions.map((r) => (r.type === 'deletion' ? `${r.kind} ${r.key} ${r.why} ${r.by}` : ''))).toEqual([
      'original originals/20261101-080000-0a0a0a0a retention retention',
      `original ${approved.upload.originalKey} retention retention`,
      `preview ${approved.upload.previewKey} retention retention`,
    ]);
  });
});

describe("retention of Veil's own sanitised copies (SANITISED_RETENTION_DAYS)", () => {
  it('unset keeps them; set, deletes those older than that many days (photo and report), audited', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'veil-retention-sanitised-'));
    try {
      const local = new LocalObjectStore(own);
      const audit = new AuditLog(local);
      const old = ['sanitised/20261001-080000-0b0b0b0b/photo-20261001-abcdef.jpg', 'sanitised/20261001-080000-0b0b0b0b/report.json'];
      const recent = ['sanitised/20261120-080000-0c0c0c0c/photo-20261120-123456.jpg', 'sanitised/20261120-080000-0c0c0c0c/report.json'];
      for (const key of [...old, ...recent]) await local.put(key, Buffer.from(key));
      const aged = new Date(Date.now() - 40 * DAY);
      for (const key of old) await utimes(path.join(own, ...key.split('/')), aged, aged);
      const run = (sanitisedRetentionDays?: number) => runRetention({ store: local, audit, now: new Date(), originalsRetentionDays: 30, sanitisedRetentionDays, reviewExpiryDays: 14 });

      expect((await run()).sanitisedDeleted).toBe(0);
      for (const key of [...old, ...recent]) expect(await local.head(key)).not.toBeNull();

      expect((await run(30)).sanitisedDeleted).toBe(2);
      for (const key of old) expect(await local.head(key)).toBeNull();
      for (const key of recent) expect(await local.head(key)).not.toBeNull();
      const deletions = await audit.collect({ types: ['deletion'] });
      expect(deletions.map((r) => (r.type === 'deletion' ? `${r.kind} ${r.key} ${r.why}` : ''))).toEqual(old.map((key) => `sanitised ${key} retention`));
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});

describe('the retention schedule (BullMQ on the real Redis)', () => {
  const prefix = `veil-test-retention-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('runs the clean-up from a job scheduler in its own queue', async () => {
    let runs = 0;
    let purges = 0;
    const schedule = await scheduleRetention({
      redisUrl: REDIS_URL,
      prefix,
      everyMs: 300,
      purgeEveryMs: 300,
      retention: async () => {
        runs += 1;
        return { expired: 0, rejectedPurged: 0, originalsDeleted: 0, previewsDeleted: 0, sanitisedDeleted: 0 };
      },
      purgeRejected: async () => {
        purges += 1;
        return 0;
      },
    });
    try {
      const deadline = Date.now() + 15_000;
      while ((runs < 2 || purges < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(runs).toBeGreaterThanOrEqual(2);
      expect(purges).toBeGreaterThanOrEqual(1);
      const schedulers = await schedule.queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).toEqual(['purge-rejected', 'retention']);
      expect(schedule.queue.name).toBe('veil-maintenance');
    } finally {
      await schedule.queue.obliterate({ force: true });
      await schedule.close();
    }
  });
});
