import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createReviewSystem } from '../src/review/index.js';
import { createObjectStore } from '../src/storage/index.js';
import { API_TOKEN, testUsers } from './helpers/review-app.js';
import { storeHeldUpload } from './helpers/review-fixtures.js';

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'veil-review-system-'));
  const users = await testUsers();
  env = {
    STORAGE_DIR: path.join(dir, 'store'),
    VEIL_ADMIN_USERS: users.map((u) => `${u.name}:${u.role}:${u.hash}`).join('\n'),
    VEIL_ADMIN_TOKEN: API_TOKEN,
    VEIL_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Veil as `veil start` builds it from the environment: config → store → review system → app. */
function startVeil() {
  const config = loadConfig(env);
  const store = createObjectStore(config);
  const reprocess = async () => {
    throw new Error('not used here');
  };
  const review = createReviewSystem({ config, store, reprocess });
  const app = new Hono();
  app.route(review.basePath, review.routes);
  return { config, store, review, app };
}

describe('the review system as the app wires it', () => {
  it('turns held worker results into items, audits every upload, and loses nothing on restart', async () => {
    const first = startVeil();
    const { job, result } = await storeHeldUpload(first.store, { mode: 'always-review', path: '/safeguarding/photos' });
    await first.review.onUploadResult(job, result);
    await first.review.onUploadResult({ ...job, uploadId: '20261126-120000-0123abcd' }, { outcome: 'refused', uploadId: '20261126-120000-0123abcd', error: { code: 'CORRUPT_IMAGE', message: 'bad' } });
    expect(first.review.publisher.publishes).toBe(false);
    first.review.close();

    const second = startVeil(); // a restart: new process state, same storage (Redis plays no part)
    const headers = { authorization: `Bearer ${API_TOKEN}` };
    const list = (await (await second.app.request('/_veil/api/review', { headers })).json()) as { items: Array<{ id: string; reasonKinds: string[] }> };
    expect(list.items.map((i) => [i.id, i.reasonKinds])).toEqual([[job.uploadId, ['always-review']]]);
    const audit = (await (await second.app.request('/_veil/api/audit', { headers })).json()) as { records: Array<{ type: string; uploadId: string; outcome: string }> };
    expect(audit.records.map((r) => [r.type, r.uploadId, r.outcome])).toEqual([
      ['upload', job.uploadId, 'held'],
      ['upload', '20261126-120000-0123abcd', 'refused'],
    ]);
    expect(await second.review.findApprovedBySha256(job.sha256)).toBeNull();
  });

  it('publishes to WordPress only when all three WORDPRESS_ settings are given', () => {
    env = { ...env, WORDPRESS_URL: 'http://127.0.0.1:9/', WORDPRESS_USER: 'veil', WORDPRESS_APP_PASSWORD: 'abcd efgh' };
    const veil = startVeil();
    expect(veil.review.publisher.publishes).toBe(true);
    expect(veil.review.publisher.description).toBe('WordPress at http://127.0.0.1:9/');
  });
});
