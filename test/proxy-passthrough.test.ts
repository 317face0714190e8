import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SanitiseUpload } from '../src/proxy/types.js';
import { open, receive, send, startProxy, type Received, type RunningProxy, type SendOptions } from './helpers/http.js';
import { startStubUpstream, type RecordedRequest, type StubUpstream } from './helpers/stub-upstream.js';

/**
 * Stand-in for the queue-backed ingest: nothing in these tests is an image upload, so any call is a
 * bug and is counted.
 */
let sanitiseCalls = 0;
const sanitise: SanitiseUpload = async () => {
  sanitiseCalls++;
  throw new Error('no upload expected in pass-through tests');
};

/** Every case on both paths a bodiless request can take: node:http straight through, and Hono (as at the edge). */
describe.each([{ path: 'node:http pass-through', passThrough: true }, { path: 'Hono path', passThrough: false }])('$path', ({ passThrough }) => {
  let stub: StubUpstream;
  let proxy: RunningProxy;
  let spoolDir: string;

  beforeAll(async () => {
    stub = await startStubUpstream();
    spoolDir = mkdtempSync(join(tmpdir(), 'veil-proxy-pass-'));
    proxy = await startProxy({ passThrough, upstream: stub.url, sanitise, spoolDir });
  });

  afterAll(async () => {
    await proxy.close();
    await stub.close();
    expect(readdirSync(spoolDir)).toEqual([]);
    rmSync(spoolDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(sanitiseCalls).toBe(0);
    stub.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });

  /** Headers that describe one connection, or that a proxy adds: not part of the end-to-end message. */
  const PER_CONNECTION = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date', 'content-length']);
  const ADDED_BY_PROXY = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

  function endToEnd(headers: Record<string, string[]>, also: Set<string> = new Set()): Record<string, string[]> {
    return Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_CONNECTION.has(name) && !also.has(name)));
  }

  /** Sends the same request straight to the CMS and through Veil; returns both sides of both. */
  async function throughBoth(options: SendOptions): Promise<{ direct: Received; proxied: Received; directSeen: RecordedRequest; proxiedSeen: RecordedRequest }> {
    const directSeenP = stub.nextRequest();
    const direct = await send(stub.port, options);
    const directSeen = await directSeenP;
    const proxiedSeenP = stub.nextRequest();
    const proxied = await send(proxy.port, options);
    const proxiedSeen = await proxiedSeenP;
    return { direct, proxied, directSeen, proxiedSeen };
  }

  function expectSameExchange(both: Awaited<ReturnType<typeof throughBoth>>): void {
    const { direct, proxied, directSeen, proxiedSeen } = both;
    expect(proxied.status).toBe(direct.status);
    expect(proxied.statusMessage).toBe(direct.statusMessage);
    expect(proxied.body.equals(direct.body)).toBe(true);
    expect(endToEnd(proxied.headers)).toEqual(endToEnd(direct.headers));
    expect(proxiedSeen.method).toBe(directSeen.method);
    expect(proxiedSeen.url).toBe(directSeen.url);
    expect(proxiedSeen.sha256).toBe(directSeen.sha256);
    expect(endToEnd(proxiedSeen.headers, ADDED_BY_PROXY)).toEqual(endToEnd(directSeen.headers, ADDED_BY_PROXY));
  }

  const HOST: [string, string] = ['Host', 'school.example'];

  describe('pass-through is what calling the CMS directly gives', () => {
    it('an HTML page, with the status text and headers the CMS chose', async () => {
      stub.handle((_req, res) => {
        res.statusMessage = 'Fine Thanks';
        res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'X-Pingback': 'http://school.example/xmlrpc.php', Link: '<http://school.example/wp-json/>; rel="https://api.w.org/"' });
        res.end('<!doctype html><title>School</title><h1>Welcome</h1>');
      });
      const both = await throughBoth({ path: '/', headers: [HOST, ['Accept', 'text/html']] });
      expect(both.proxied.statusMessage).toBe('Fine Thanks');
      expect(both.proxied.body.toString()).toContain('<h1>Welcome</h1>');
      expectSameExchange(both);
    });

    it('a JSON request and answer', async () => {
      stub.handle((req, res) => {
        res.writeHead(201, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ received: JSON.parse(req.body.toString()) }));
      });
      const body = JSON.stringify({ title: 'Sports day', status: 'draft' });
      const both = await throughBoth({ method: 'POST', path: '/wp-json/wp/v2/posts', headers: [HOST, ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body });
      expect(JSON.parse(both.proxied.body.toString())).toEqual({ received: { title: 'Sports day', status: 'draft' } });
      expectSameExchange(both);
    });

    it('a gzip-encoded answer stays encoded, byte for byte', async () => {
      const page = Buffer.from('<p>compressed page</p>'.repeat(200));
      const gz = gzipSync(page);
      stub.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': gz.length, vary: 'Accept-Encoding' });
        res.end(gz);
      });
      const both = await throughBoth({ path: '/page', headers: [HOST, ['Accept-Encoding', 'gzip']] });
      expect(both.proxied.headers['content-encoding']).toEqual(['gzip']);
      expect(both.proxied.headers['content-length']).toEqual([String(gz.length)]);
      expect(both.proxied.body.equals(gz)).toBe(true);
      expect(gunzipSync(both.proxied.body).equals(page)).toBe(true);
      expectSameExchange(both);
    });

    it('a redirect is passed back with its Location, not followed', async () => {
      stub.handle((req, res) => {
        if (req.url === '/wp-admin') {
          res.writeHead(302, { location: 'http://school.example/wp-login.php?redirect_to=%2Fwp-admin' });
          res.end();
        } else {
          res.writeHead(200);
          res.end('followed');
        }
      });
      const before = stub.requests.length;
      const res = await send(proxy.port, { path: '/wp-admin', headers: [HOST] });
      expect(res.status).toBe(302);
      expect(res.headers.location).toEqual(['http://school.example/wp-login.php?redirect_to=%2Fwp-admin']);
      expect(stub.requests.length - before).toBe(1);
    });

    it('several Set-Cookie headers stay separate, and the client cookies reach the CMS', async () => {
      const cookies = ['wordpress_test_cookie=WP%20Cookie%20check; path=/', 'wordpress_sec_abc=x%7Cy; path=/wp-admin; HttpOnly', 'wp-settings-1=libraryContent%3Dbrowse; Expires=Wed, 21 Oct 2037 07:28:00 GMT'];
      stub.handle((_req, res) => {
        res.setHeader('Set-Cookie', cookies);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('cookies');
      });
      const both = await throughBoth({ path: '/wp-login.php', headers: [HOST, ['Cookie', 'a=1; wordpress_logged_in_abc=admin%7C1%7Ct%7Ch']] });
      expect(both.proxied.headers['set-cookie']).toEqual(cookies);
      expect(both.proxiedSeen.headers.cookie).toEqual(['a=1; wordpress_logged_in_abc=admin%7C1%7Ct%7Ch']);
      expectSameExchange(both);
    });

    it('odd paths and query strings arrive exactly as sent', async () => {
      const target = "/a/../b/%2e%2e/c//d?x=<\"'>&y=%zz&q=%C3%A9|{}^`&plus=a+b&&empty=&arr[]=1&arr[]=2";
      const both = await throughBoth({ path: target, headers: [HOST] });
      expect(both.proxiedSeen.url).toBe(target);
      expectSameExchange(both);
    });

    it('HEAD keeps Content-Length and sends no body', async () => {
      stub.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': '123456', etag: '"v1"' });
        res.end();
      });
      const both = await throughBoth({ method: 'HEAD', path: '/wp-content/uploads/logo.png', headers: [HOST] });
      expect(both.proxied.headers['content-length']).toEqual(['123456']);
      expect(both.proxied.body.length).toBe(0);
      expectSameExchange(both);
    });

    it.each([
      ['PUT', '{"title":"new"}'],
      ['PATCH', '{"title":"patched"}'],
      ['DELETE', undefined],
      ['OPTIONS', undefined],
      ['DELETE', 'force=true'],
    ])('%s with body %j', async (method, body) => {
      stub.handle((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', allow: 'GET, POST, PUT, PATCH, DELETE' });
        res.end(`${req.method} ${req.bodyLength}`);
      });
      const headers: Array<[string, string]> = [HOST];
      if (body !== undefined) headers.push(['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]);
      const both = await throughBoth({ method, path: '/wp-json/wp/v2/posts/7', headers, body });
      expect(both.proxied.body.toString()).toBe(`${method} ${body === undefined ? 0 : Buffer.byteLength(body)}`);
      expectSameExchange(both);
    });

    it.each([204, 304])('%i has no body', async (status) => {
      stub.handle((_req, res) => {
        res.writeHead(status, { etag: '"abc"', 'cache-control': 'max-age=60' });
        res.end();
      });
      const both = await throughBoth({ path: '/style.css', headers: [HOST, ['If-None-Match', '"abc"']] });
      expect(both.proxied.status).toBe(status);
      expect(both.proxied.body.length).toBe(0);
      expectSameExchange(both);
    });

    it('the Host header is kept and X-Forwarded-* are set; client-sent ones are not believed', async () => {
      const seen = stub.nextRequest();
      await send(proxy.port, { path: '/', headers: [HOST, ['X-Forwarded-For', '6.6.6.6'], ['X-Forwarded-Host', 'evil.example'], ['X-Forwarded-Proto', 'https'], ['X-Real-IP', '6.6.6.6'], ['Forwarded', 'for=6.6.6.6']] });
      const req = await seen;
      expect(req.headers.host).toEqual(['school.example']);
      expect(req.headers['x-forwarded-for']).toEqual(['127.0.0.1']);
      expect(req.headers['x-forwarded-host']).toEqual(['school.example']);
      expect(req.headers['x-forwarded-proto']).toEqual(['http']);
      expect(req.headers['x-real-ip']).toBeUndefined();
      expect(req.headers.forwarded).toBeUndefined();
    });

    it('behind a trusted proxy, X-Forwarded-For is appended to and the others kept', async () => {
      const trusting = await startProxy({ passThrough, upstream: stub.url, sanitise, spoolDir, trustProxy: true });
      try {
        const seen = stub.nextRequest();
        await send(trusting.port, { path: '/', headers: [HOST, ['X-Forwarded-For', '203.0.113.7'], ['X-Forwarded-Host', 'www.school.example'], ['X-Forwarded-Proto', 'https']] });
        const req = await seen;
        expect(req.headers['x-forwarded-for']).toEqual(['203.0.113.7, 127.0.0.1']);
        expect(req.headers['x-forwarded-host']).toEqual(['www.school.example']);
        expect(req.headers['x-forwarded-proto']).toEqual(['https']);
      } finally {
        await trusting.close();
      }
    });

    it('hop-by-hop headers are dropped both ways', async () => {
      stub.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'X-Upstream-Hop', 'x-upstream-hop': 'secret', 'proxy-authenticate': 'Basic realm="up"', 'x-end-to-end': 'kept' });
        res.end('hops');
      });
      const seen = stub.nextRequest();
      const res = await send(proxy.port, {
        path: '/',
        headers: [HOST, ['Connection', 'keep-alive, X-Client-Hop'], ['X-Client-Hop', 'secret'], ['Keep-Alive', 'timeout=5'], ['TE', 'trailers'], ['Proxy-Authorization', 'Basic dXNlcjpwYXNz'], ['Proxy-Connection', 'keep-alive'], ['Upgrade', 'websocket'], ['X-End-To-End', 'kept']],
      });
      const req = await seen;
      for (const name of ['x-client-hop', 'te', 'proxy-authorization', 'proxy-connection', 'upgrade']) expect(req.headers[name], name).toBeUndefined();
      expect(req.headers['keep-alive']).toBeUndefined();
      expect(req.headers['x-end-to-end']).toEqual(['kept']);
      expect(res.headers['x-upstream-hop']).toBeUndefined();
      expect(res.headers['proxy-authenticate']).toBeUndefined();
      expect(res.headers['x-end-to-end']).toEqual(['kept']);
    });

    it('a large answer streams through: the first chunk arrives before the CMS has finished', async () => {
      const block = randomBytes(1024 * 1024);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const expected = createHash('sha256');
      for (let i = 0; i < 64; i++) expected.update(block);
      stub.handleStreaming((_incoming, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write(block);
        // The rest only once the client has seen data: a buffering proxy would never deliver it.
        void released.then(async () => {
          for (let i = 1; i < 64; i++) {
            if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
          }
          res.end();
        });
      });
      const res = await open(proxy.port, { path: '/big.bin', headers: [HOST] });
      const hash = createHash('sha256');
      let length = 0;
      for await (const chunk of res) {
        if (length === 0) release();
        hash.update(chunk as Buffer);
        length += (chunk as Buffer).length;
      }
      expect(length).toBe(64 * block.length);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
    });

    it('a streamed request body larger than Veil reads whole reaches the CMS before the client has finished sending', async () => {
      // Binary bodies up to 4/3 of the photo limit (+64 KiB) are judged whole first; past that they
      // stream, Veil holding back a few KiB to see a picture signature whole.
      const streaming = await startProxy({ passThrough, upstream: stub.url, sanitise, spoolDir, limits: { maxUploadBytes: 16 * 1024 } });
      let firstArrived!: () => void;
      const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
      stub.handleStreaming((incoming, res, recorded) => {
        let seen = 0;
        incoming.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= 128 * 1024) firstArrived();
        });
        void recorded.then((req) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(`${req.bodyLength} ${req.sha256}`);
        });
      });
      const first = randomBytes(160 * 1024);
      const second = randomBytes(64 * 1024);
      const body = new PassThrough();
      const answer = open(streaming.port, { method: 'PUT', path: '/dav/report.bin', headers: [HOST, ['Content-Type', 'application/octet-stream'], ['Transfer-Encoding', 'chunked']], body });
      body.write(first);
      await arrived;
      body.end(second);
      const res = await receive(await answer);
      expect(res.body.toString()).toBe(`${first.length + second.length} ${createHash('sha256').update(first).update(second).digest('hex')}`);
      await streaming.close();
    });

    it('a client that goes away aborts the request to the CMS', async () => {
      let upstreamClosed!: () => void;
      const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
      let headArrived!: () => void;
      const arrived = new Promise<void>((resolve) => (headArrived = resolve));
      stub.handleStreaming((_incoming, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('slow start');
        res.on('close', upstreamClosed);
        headArrived();
      });
      const res = await open(proxy.port, { path: '/slow', headers: [HOST] });
      await arrived;
      res.destroy();
      res.socket?.destroy();
      await expect(Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))])).resolves.toBe('closed');
    });

    it('a client that goes away mid-upload aborts the upload to the CMS', async () => {
      let arrived!: () => void;
      const someArrived = new Promise<void>((resolve) => (arrived = resolve));
      stub.handleStreaming((incoming) => {
        incoming.once('data', () => arrived());
      });
      const seen = stub.nextRequest();
      const body = new PassThrough();
      // Larger than Veil reads whole before deciding, so it streams on while it arrives.
      const answer = open(proxy.port, { method: 'POST', path: '/upload', headers: [HOST, ['Content-Type', 'application/octet-stream'], ['Content-Length', String(100 * 1024 * 1024)]], body });
      answer.catch(() => undefined);
      body.write(randomBytes(256 * 1024));
      await someArrived;
      body.destroy(new Error('client gone'));
      const req = await seen;
      expect(req.aborted).toBe(true);
      expect(req.bodyLength).toBeLessThan(100 * 1024 * 1024);
    });

    it('paths under the reserved prefix are never forwarded', async () => {
      const before = stub.requests.length;
      const res = await send(proxy.port, { path: '/_veil/queue', headers: [HOST] });
      expect(res.status).toBe(404);
      expect(stub.requests.length).toBe(before);
    });
  });

  describe('when the CMS cannot be reached', () => {
    it('answers 502 with a plain-text explanation', async () => {
      const gone = await startStubUpstream();
      const url = gone.url;
      await gone.close();
      const orphan = await startProxy({ passThrough, upstream: url, sanitise, spoolDir });
      try {
        const res = await send(orphan.port, { path: '/', headers: [HOST] });
        expect(res.status).toBe(502);
        expect(res.headers['content-type']?.[0]).toMatch(/^text\/plain/);
        expect(res.body.toString()).toMatch(/could not get an answer from the website's server.*refused the connection/);
      } finally {
        await orphan.close();
      }
    });
  });
});
