import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, type ObjectInfo, type StoredObject } from '../src/storage/index.js';
import { API_TOKEN, ADMIN, CookieClient, buildReviewSystem, testUsers, type ReviewSystem } from './helpers/review-app.js';
import { storeHeldUpload } from './helpers/review-fixtures.js';

const SECRET = 'TOP-SECRET-NOT-IN-THE-STORE';
const ORIGINAL_ONLY = '20261126-104512-3f9a2c1b';
const ORIGINAL_BYTES = 'PRIVATE-ORIGINAL-BYTES';

/** The real folder store, noting every key read (a spy on the real thing, not a stand-in). */
class ReadSpy extends LocalObjectStore {
  reads: string[] = [];
  override get(key: string): Promise<StoredObject | null> {
    this.reads.push(key);
    return super.get(key);
  }
  override head(key: string): Promise<ObjectInfo | null> {
    this.reads.push(key);
    return super.head(key);
  }
}

let dir: string;
let store: ReadSpy;
let system: ReviewSystem;
let server: http.Server;
let port: number;
let cookie: string;
let itemId: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'veil-traversal-'));
  await writeFile(path.join(dir, 'secret.txt'), SECRET);
  await mkdir(path.join(dir, 'store'));
  store = new ReadSpy(path.join(dir, 'store'));
  await store.put(`originals/${ORIGINAL_ONLY}`, Buffer.from(ORIGINAL_BYTES));
  system = buildReviewSystem(store, { users: await testUsers() });
  const { job, result } = await storeHeldUpload(store, { mode: 'always-review' });
  itemId = (await system.items.createHeldItem(job, result)).id;
  const client = new CookieClient(system.app);
  await client.login(ADMIN.name, ADMIN.password);
  cookie = `veil_session=${client.cookie('veil_session')}`;
  server = await new Promise<http.Server>((resolve) => {
    const s = serve({ fetch: system.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as http.Server)) as http.Server;
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** Sends the request-target exactly as written: no client-side normalisation of ".." or "%2F". */
function raw(method: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

const targetsFor = (itemId: string) => [
  '/_veil/review/..%2F..%2Fetc%2Fpasswd',
  '/_veil/review/..%2F..%2F..%2Fsecret.txt',
  '/_veil/review/..%2F..%2F..%2Fsecret.txt/preview.jpg',
  '/_veil/review/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt/approved',
  '/_veil/review/..%252F..%252F..%252Fsecret.txt',
  '/_veil/review/..\\..\\..\\secret.txt',
  `/_veil/review/..%2Foriginals%2F${ORIGINAL_ONLY}`,
  `/_veil/review/${ORIGINAL_ONLY}/preview.jpg`,
  `/_veil/review/${ORIGINAL_ONLY}%00/preview.jpg`,
  `/_veil/review/${itemId}%2F..%2F..%2F..%2Fsecret.txt`,
  '/_veil/api/review/../../originals/x',
  `/_veil/api/review/..%2F..%2Foriginals%2F${ORIGINAL_ONLY}`,
  '/_veil/api/review/%2F..%2F..%2F..%2Fsecret.txt',
];

describe('item ids from a request never reach outside the review items', () => {
  it('refuses every traversal attempt over real HTTP, for pages and the API, without reading other keys', async () => {
    store.reads = [];
    for (const target of [...targetsFor(itemId), `/_veil/api/review/..%2F..%2F..%2Fsecret.txt/approve`, `/_veil/api/review/..%2F..%2Foriginals%2F${ORIGINAL_ONLY}/reject`]) {
      const method = target.endsWith('/approve') || target.endsWith('/reject') ? 'POST' : 'GET';
      const headers: Record<string, string> = target.includes('/api/') ? { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' } : { cookie };
      const response = await raw(method, target, headers);
      expect([400, 404], `${method} ${target}: ${response.status}`).toContain(response.status);
      expect(response.body, target).not.toContain(SECRET);
      expect(response.body, target).not.toContain(ORIGINAL_BYTES);
    }
    // Only well-formed item keys were looked up (the id with only an original has no item).
    for (const key of store.reads) expect(key).toMatch(/^review\/\d{8}-\d{6}-[0-9a-f]{8}\/(item\.json|preview\.jpg|approved\.[a-z]+)$/);
  });

  it('refuses the same attempts through app.request, and still serves the real item', async () => {
    const client = new CookieClient(system.app);
    await client.login(ADMIN.name, ADMIN.password);
    for (const target of targetsFor(itemId).filter((t) => !t.includes('/api/'))) {
      const response = await client.get(target);
      expect([400, 404], target).toContain(response.status);
      expect(await response.text()).not.toContain(SECRET);
    }
    const real = await client.get(`/_veil/review/${itemId}/preview.jpg`);
    expect(real.status).toBe(200);
    expect(real.headers.get('content-type')).toBe('image/jpeg');
  });

  it('refuses malformed ids in the store itself before touching storage', async () => {
    store.reads = [];
    for (const id of ['../../secret.txt', `${itemId}/../../x`, '', 'review', `${itemId}\0`]) {
      await expect(system.items.get(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(store.reads).toEqual([]);
  });
});
