import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadJobData } from '../src/queue/jobs.js';
import { ReviewStore, type HeldResult } from '../src/review/review-store.js';
import { LocalObjectStore, S3ObjectStore, type ObjectStore } from '../src/storage/index.js';
import { ALWAYS_REVIEW_REASON, storeHeldUpload } from './helpers/review-fixtures.js';
import { startS3Server, type S3TestServer } from './helpers/s3rver.js';

const DAY = 86_400_000;
let root: string;
let store: LocalObjectStore;
let held: { job: UploadJobData; result: HeldResult };

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-review-store-'));
  store = new LocalObjectStore(root);
  // The real pipeline under FACE_POLICY=hold, on a group photo with GPS EXIF.
  held = await storeHeldUpload(store, { mode: 'hold', originalName: 'Year 3 – Amy & Ben.jpg', user: 'teacher1' });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('review store', () => {
  it('turns a held upload into an item with faces, reasons and the uploader, but no metadata values', async () => {
    const now = new Date('2026-11-26T10:45:00Z');
    const items = new ReviewStore(store, { reviewExpiryDays: 14, clock: () => now });
    const item = await items.createHeldItem(held.job, held.result);

    expect(item.status).toBe('pending');
    expect(item.id).toBe(held.job.uploadId);
    expect(item.expiresAt).toBe(new Date(now.getTime() + 14 * DAY).toISOString());
    expect(item.faces.filter((f) => f.action === 'held').length).toBeGreaterThanOrEqual(3);
    expect(item.reasonKinds).toEqual(['faces']);
    expect(item.reasons.join(' ')).toMatch(/recognisable face/);
    expect(item.uploader).toMatchObject({ cms: 'wordpress', user: 'teacher1', method: 'POST' });
    expect(item.upload).toMatchObject({ sha256: held.job.sha256, originalName: 'Year 3 – Amy & Ben.jpg', previewKey: `review/${item.id}/preview.jpg` });

    const details = held.result.report.removed.map((f) => f.detail).filter((d): d is string => Boolean(d && d.length >= 4));
    expect(held.result.report.removed.some((f) => f.kind === 'gps')).toBe(true);
    expect(details.length).toBeGreaterThan(0);
    const raw = Buffer.from((await store.get(`review/${item.id}/item.json`))!.bytes).toString('utf8');
    for (const detail of details) expect(raw).not.toContain(JSON.stringify(detail).slice(1, -1));
    expect(JSON.parse(raw).report.removed.map((f: { kind: string }) => f.kind)).toContain('gps');
  });

  it('finds the same item when the worker retries the job', async () => {
    const items = new ReviewStore(store, { reviewExpiryDays: 14 });
    const again = await items.createHeldItem(held.job, held.result);
    expect(again.createdAt).toBe('2026-11-26T10:45:00.000Z');
    expect((await items.list()).filter((i) => i.id === held.job.uploadId)).toHaveLength(1);
  });

  it('lists oldest first and filters by status, site, reason and date', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'veil-review-list-'));
    try {
      const local = new LocalObjectStore(dir);
      const at = (iso: string) => new ReviewStore(local, { reviewExpiryDays: 14, clock: () => new Date(iso) });
      const copy = async (id: string, overrides: Partial<UploadJobData['origin']>, holdReason?: string) => {
        const job = { ...held.job, uploadId: id, originalKey: `originals/${id}`, holdReason, origin: { ...held.job.origin, ...overrides } };
        return { job, result: { ...held.result, uploadId: id, previewKey: `review/${id}/preview.jpg` } };
      };
      const a = await copy('20261110-090000-aaaaaaaa', {});
      const b = await copy('20261120-090000-bbbbbbbb', { cms: 'moodle', path: '/safeguarding/upload' }, ALWAYS_REVIEW_REASON);
      const c = await copy('20261125-090000-cccccccc', {});
      await at('2026-11-25T09:00:00Z').createHeldItem(c.job, c.result);
      await at('2026-11-10T09:00:00Z').createHeldItem(a.job, a.result);
      await at('2026-11-20T09:00:00Z').createHeldItem(b.job, b.result);
      const items = at('2026-11-26T00:00:00Z');
      await items.update('20261125-090000-cccccccc', (item) => ({ ...item, status: 'rejected' }));

      expect((await items.list()).map((i) => i.id.slice(-1))).toEqual(['a', 'b', 'c']);
      expect((await items.list({ status: 'pending' })).map((i) => i.id.slice(-1))).toEqual(['a', 'b']);
      expect((await items.list({ cms: 'moodle' })).map((i) => i.id.slice(-1))).toEqual(['b']);
      expect((await items.list({ reason: 'always-review' })).map((i) => i.id.slice(-1))).toEqual(['b']);
      expect((await items.list({ since: new Date('2026-11-15T00:00:00Z') })).map((i) => i.id.slice(-1))).toEqual(['b', 'c']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('indexes approved originals by SHA-256 for re-uploads', async () => {
    const items = new ReviewStore(store, { reviewExpiryDays: 14 });
    const sha = held.job.sha256;
    expect(await items.findApprovedBySha256(sha)).toBeNull();
    await items.indexApproved({ sha256: sha, itemId: held.job.uploadId, decision: 'approve-redacted', policy: 'blur', decidedAt: new Date().toISOString(), actor: 'dsl' });
    expect(await new ReviewStore(store, { reviewExpiryDays: 14 }).findApprovedBySha256(sha)).toMatchObject({ itemId: held.job.uploadId, policy: 'blur' });
    await items.removeApprovedIndex(sha, '20991231-000000-ffffffff'); // another item: left alone
    expect(await items.findApprovedBySha256(sha)).not.toBeNull();
    await items.removeApprovedIndex(sha, held.job.uploadId);
    expect(await items.findApprovedBySha256(sha)).toBeNull();
    expect(await items.findApprovedBySha256('../../etc/passwd')).toBeNull();
  });

  it('loses nothing when Veil restarts: a new store on the same folder lists the same items', async () => {
    const before = await new ReviewStore(store, { reviewExpiryDays: 14 }).list();
    const after = await new ReviewStore(new LocalObjectStore(root), { reviewExpiryDays: 14 }).list();
    expect(after).toEqual(before);
    expect(after.length).toBeGreaterThan(0);
  });
});

describe('review store on S3', () => {
  let s3: S3TestServer;
  const clients: S3ObjectStore[] = [];
  const s3Store = (): ObjectStore => {
    const client = new S3ObjectStore({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, pageSize: 2 });
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await s3?.stop();
  });

  it('keeps held items, their previews and decisions across a restart', async () => {
    const first = s3Store();
    const upload = await storeHeldUpload(first, { mode: 'always-review', path: '/safeguarding/' });
    const items = new ReviewStore(first, { reviewExpiryDays: 14 });
    const created = await items.createHeldItem(upload.job, upload.result);
    await items.update(created.id, (item) => ({ ...item, history: [...item.history, { at: new Date().toISOString(), action: 'reject', actor: 'dsl', role: 'admin', reason: 'no consent' }] }));

    const restarted = new ReviewStore(s3Store(), { reviewExpiryDays: 14 });
    const [item] = await restarted.list();
    expect(item?.id).toBe(created.id);
    expect(item?.reasonKinds).toEqual(['always-review']);
    expect(item?.history.map((h) => h.reason)).toEqual(['no consent']);
    expect((await restarted.preview(created.id))?.bytes.length).toBeGreaterThan(1000);
  });
});
