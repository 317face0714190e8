import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../src/storage/index.js';
import { ADMIN, CookieClient, REVIEWER, buildReviewSystem, testUsers, type ReviewSystem } from './helpers/review-app.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `veil-test-board-${randomBytes(4).toString('hex')}`;

describe('the queue dashboard (Bull Board on the real Redis)', () => {
  let root: string;
  let queue: Queue;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let system: ReviewSystem;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'veil-board-'));
    queue = new Queue('uploads', { connection, prefix });
    await queue.add('sanitise', { uploadId: 'x' }, { jobId: 'job-1' });
    system = buildReviewSystem(new LocalObjectStore(root), { users: await testUsers(), queues: [queue] });
  });
  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await queue?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    connection.disconnect();
    await rm(root, { recursive: true, force: true });
  });

  it('shows the queues to admins, with their jobs', async () => {
    const admin = new CookieClient(system.app);
    await admin.login(ADMIN.name, ADMIN.password);
    const page = await admin.get('/_veil/queues');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Veil queues');
    const baseHref = /<base href="([^"]+)"/.exec(html)?.[1] ?? '';
    const script = new URL(/<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1] ?? '', `http://localhost${baseHref}`).pathname;
    expect(script).toMatch(/^\/_veil\/queues\/static\//);
    const asset = await admin.get(script);
    expect(asset.status).toBe(200);
    const api = await admin.get('/_veil/queues/api/queues');
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    expect(body.queues.find((q) => q.name === 'uploads')?.counts.waiting).toBe(1);
  });

  it('refuses reviewers, anonymous visitors, and changes sent from another site', async () => {
    const reviewer = new CookieClient(system.app);
    await reviewer.login(REVIEWER.name, REVIEWER.password);
    expect((await reviewer.get('/_veil/queues')).status).toBe(403);
    expect((await reviewer.get('/_veil/queues/api/queues')).status).toBe(403);
    expect((await system.app.request('/_veil/queues/api/queues')).status).toBe(302);

    const admin = new CookieClient(system.app);
    await admin.login(ADMIN.name, ADMIN.password);
    const pause = await admin.send('/_veil/queues/api/queues/pause', { method: 'PUT', headers: { origin: 'https://evil.example' } });
    expect(pause.status).toBe(403);
    expect(await queue.isPaused()).toBe(false);
  });
});
