import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SanitiseUpload } from '../src/proxy/types.js';
import { DEMO_PHOTO } from './helpers/fixtures.js';
import { send, startProxy, type RunningProxy, type SendOptions } from './helpers/http.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';

/**
 * Which requests take the node:http pass-through and which the Hono app: page views without a
 * body go straight through; bodies (the upload inspection), Veil's own paths and anything whose
 * URL Hono would rewrite or refuse keep to the Hono path, where they were decided before.
 */
let stub: StubUpstream;
let proxy: RunningProxy;
let spoolDir: string;
let sanitiseCalls = 0;
const sanitise: SanitiseUpload = async () => {
  sanitiseCalls++;
  throw new Error('no upload expected in these tests');
};
const HOST: [string, string] = ['Host', 'school.example'];

beforeAll(async () => {
  stub = await startStubUpstream();
  spoolDir = mkdtempSync(join(tmpdir(), 'veil-pass-route-'));
  proxy = await startProxy({ upstream: stub.url, sanitise, spoolDir });
});
afterAll(async () => {
  await proxy.close();
  await stub.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

/** Sends `options` and says which path answered it, with what the CMS saw. */
async function route(options: SendOptions): Promise<{ path: 'node:http' | 'hono'; status: number; forwarded: number; body: string }> {
  const honoBefore = proxy.honoRequests;
  const cmsBefore = stub.requests.length;
  const res = await send(proxy.port, options);
  return { path: proxy.honoRequests > honoBefore ? 'hono' : 'node:http', status: res.status, forwarded: stub.requests.length - cmsBefore, body: res.body.toString() };
}

describe('straight through in node:http', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE']) {
    it(`${method} without a body`, async () => {
      const r = await route({ method, path: '/news/sports-day?page=2', headers: [HOST] });
      expect(r).toMatchObject({ path: 'node:http', status: 200, forwarded: 1 });
    });
  }

  it('a POST with Content-Length: 0 (nothing to inspect)', async () => {
    const r = await route({ method: 'POST', path: '/wp-cron.php', headers: [HOST, ['Content-Length', '0']] });
    expect(r).toMatchObject({ path: 'node:http', status: 200, forwarded: 1 });
    expect(stub.requests.at(-1)!.headers['content-length']).toEqual(['0']);
  });

  it('a long, ordinary query string', async () => {
    const r = await route({ path: `/?s=${'sports-day-'.repeat(20)}&utm_source=newsletter`, headers: [HOST] });
    expect(r).toMatchObject({ path: 'node:http', status: 200, forwarded: 1 });
  });
});

describe('kept to the Hono path', () => {
  it('a JSON post save: read whole and inspected as before', async () => {
    const r = await route({ method: 'POST', path: '/wp-json/wp/v2/posts/1', headers: [HOST, ['Content-Type', 'application/json']], body: JSON.stringify({ content: '<p>Sports day</p>' }) });
    expect(r).toMatchObject({ path: 'hono', status: 200, forwarded: 1 });
  });

  it('a GET with a chunked body', async () => {
    const r = await route({ method: 'GET', path: '/', headers: [HOST, ['Transfer-Encoding', 'chunked']], body: 'hello' });
    expect(r.path).toBe('hono');
  });

  it("Veil's own paths, never forwarded", async () => {
    for (const path of ['/_veil/health', '/_veil', '/x/../_veil/health', '/%5Fveil/health']) {
      const r = await route({ path, headers: [HOST] });
      expect(r.path, path).toBe('hono');
      if (path !== '/%5Fveil/health') expect(r.forwarded, path).toBe(0);
    }
  });

  it('targets Hono rewrites (dot segments, percent-escapes) and hosts it judges', async () => {
    expect((await route({ path: '/a/./b', headers: [HOST] })).path).toBe('hono');
    expect((await route({ path: '/caf%C3%A9/', headers: [HOST] })).path).toBe('hono');
    expect((await route({ path: '/', headers: [['Host', 'School.Example']] })).path).toBe('hono');
  });

  it('a picture in the path (PHP PATH_INFO) of a GET is refused there, not forwarded', async () => {
    const picture = readFileSync(DEMO_PHOTO).subarray(0, 3000).toString('base64url');
    for (const method of ['GET', 'HEAD', 'DELETE']) {
      const r = await route({ method, path: `/index.php/api/photo/${picture}`, headers: [HOST] });
      expect(r, method).toMatchObject({ path: 'hono', forwarded: 0 });
      // Hono answers HEAD by running GET and dropping the body; its refusal's status is lost on the way.
      if (method !== 'HEAD') expect(r.status, method).toBeGreaterThanOrEqual(400);
    }
    const q = await route({ path: `/?img=${readFileSync(DEMO_PHOTO).subarray(0, 3000).toString('base64')}`, headers: [HOST] });
    expect(q).toMatchObject({ path: 'hono', forwarded: 0 });
    expect(sanitiseCalls).toBe(0);
  });
});
