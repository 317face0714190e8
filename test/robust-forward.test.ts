import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeForwarder } from '../src/proxy/forward/forward.js';

/**
 * The pass-through forwarder on its own, against a real HTTP server: the moments that are too
 * narrow to hit by cutting sockets from outside, reached by a reader that stops at exactly that moment.
 */
const ANSWER = randomBytes(200 * 1024);
let server: http.Server;
let upstream: URL;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown): void => void uncaught.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/reset-mid-answer') {
      res.writeHead(200, { 'content-length': String(ANSWER.length) });
      res.write(ANSWER.subarray(0, 1000), () => req.socket.destroy());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(ANSWER.length) });
    res.end(ANSWER);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Lets every pending event (a late 'end', an error) happen before the test looks. */
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('the visitor leaves at the worst moment', () => {
  it('a reader that cancels as soon as it has the last byte (the answer may not have ended yet) does not crash Veil', async () => {
    const forward = createNodeForwarder(upstream);
    for (let i = 0; i < 200; i++) {
      const res = await forward(new Request(`${upstream.href}page-${i}`, { headers: { host: 'school.example' } }));
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let got = 0;
      while (got < ANSWER.length) {
        const { value, done } = await reader.read();
        if (done) break;
        got += value.length;
      }
      // Same microtask as the last chunk: the CMS's 'end' may still be on its way.
      await reader.cancel();
      expect(got).toBe(ANSWER.length);
    }
    await settle();
    expect(uncaught).toEqual([]);
    // The keep-alive connections are still good for the next visitor.
    const after = await forward(new Request(`${upstream.href}after`, { headers: { host: 'school.example' } }));
    expect(Buffer.from(await after.arrayBuffer()).equals(ANSWER)).toBe(true);
  });

  it('a CMS that resets mid-answer ends that answer with an error for its reader only', async () => {
    const forward = createNodeForwarder(upstream);
    for (let i = 0; i < 20; i++) {
      const res = await forward(new Request(`${upstream.href}reset-mid-answer`, { headers: { host: 'school.example' } }));
      await expect(res.arrayBuffer()).rejects.toThrow();
    }
    await settle();
    expect(uncaught).toEqual([]);
  });

  it('a visitor gone before the answer leaves no error behind', async () => {
    const forward = createNodeForwarder(upstream);
    for (let i = 0; i < 50; i++) {
      const visitor = new AbortController();
      const pending = forward(new Request(`${upstream.href}gone-${i}`, { headers: { host: 'school.example' } }), { signal: visitor.signal });
      if (i % 2 === 0) visitor.abort();
      else queueMicrotask(() => visitor.abort());
      const res = await pending;
      await res.body?.cancel().catch(() => undefined);
    }
    await settle();
    expect(uncaught).toEqual([]);
  });
});

describe('the last resort', () => {
  it('an error no handler expected is logged (code and message only) and answered 500; the next request is served', async () => {
    const { Hono } = await import('hono');
    const { answerUnexpectedErrors } = await import('../src/ops/last-resort.js');
    const lines: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (msg: string, fields?: Record<string, unknown>) => void lines.push({ msg, fields }) };
    const app = new Hono();
    app.get('/ok', (c) => c.text('fine'));
    app.all('*', () => {
      throw Object.assign(new Error('boom'), { code: 'ERR_SOMETHING' });
    });
    answerUnexpectedErrors(app, logger);
    const res = await app.fetch(new Request('http://veil.test/uploads/jane-smith-year6.jpg', { method: 'PUT', body: 'x' }));
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/could not handle this request/);
    expect(lines).toEqual([{ msg: 'request failed unexpectedly', fields: { error: 'ERR_SOMETHING: boom' } }]);
    expect(JSON.stringify(lines)).not.toMatch(/jane/);
    expect(await (await app.fetch(new Request('http://veil.test/ok'))).text()).toBe('fine');
  });
});
