import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './helpers/http.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * Veil must never fall over: connections cut at any point, by the visitor or by the CMS, end that
 * one exchange and nothing else. A thousand requests through the real Veil, in front of a real
 * HTTP server serving large answers, each cut at a random point on one side; afterwards the
 * process still runs, health answers and an ordinary request gets its whole answer.
 */
const BIG = randomBytes(1024 * 1024);
const REQUEST_BODY = 256 * 1024;
const TOTAL = 1000;
const AT_ONCE = 16;

type Fault =
  | 'client-request-head'
  | 'client-request-body'
  | 'client-response-head'
  | 'client-response-body'
  | 'client-slow-then-gone'
  | 'upstream-request-head'
  | 'upstream-request-body'
  | 'upstream-response-head'
  | 'upstream-response-body'
  | 'none';
const FAULTS: Fault[] = [
  'client-request-head',
  'client-request-body',
  'client-response-head',
  'client-response-body',
  'client-slow-then-gone',
  'upstream-request-head',
  'upstream-request-body',
  'upstream-response-head',
  'upstream-response-body',
  'none',
];

/** A small seeded generator, so a failing run can be repeated with ROBUST_SEED. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Cms {
  url: string;
  /** Resolves when the CMS has written all of answer `id` into its socket. */
  answered(id: string): Promise<void>;
  close(): Promise<void>;
}

/** The CMS: large answers in 64 KiB writes, and the upstream-side faults on request. */
async function startCms(rand: () => number): Promise<Cms> {
  const done = new Map<string, () => void>();
  const waits = new Map<string, Promise<void>>();
  const promiseFor = (id: string): Promise<void> => {
    let p = waits.get(id);
    if (!p) {
      p = new Promise<void>((resolve) => done.set(id, resolve));
      waits.set(id, p);
    }
    return p;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cms');
    const fault = url.searchParams.get('fault') as Fault | null;
    const id = url.searchParams.get('id') ?? '';
    const socket = req.socket;
    socket.on('error', () => {});
    res.on('error', () => {});
    req.on('error', () => {});
    if (fault === 'upstream-request-head') {
      socket.destroy();
      return;
    }
    if (fault === 'upstream-request-body') {
      const cut = Math.floor(rand() * REQUEST_BODY * 0.75);
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= cut) socket.destroy();
      });
      return;
    }
    if (fault === 'upstream-response-head') {
      req.resume();
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Len');
      socket.destroySoon();
      return;
    }
    req.resume();
    req.once('end', () => {
      // Answers come with a length or chunked, as a CMS sends pages and downloads.
      const chunked = url.searchParams.get('chunked') === '1';
      res.writeHead(200, { 'content-type': 'application/octet-stream', ...(chunked ? {} : { 'content-length': String(BIG.length) }) });
      const cutAt = fault === 'upstream-response-body' ? Math.floor(rand() * BIG.length * 0.9) : BIG.length;
      let offset = 0;
      const writeMore = (): void => {
        while (offset < cutAt) {
          const end = Math.min(cutAt, offset + 64 * 1024);
          const ok = res.write(BIG.subarray(offset, end));
          offset = end;
          if (!ok) {
            res.once('drain', writeMore);
            return;
          }
        }
        if (cutAt < BIG.length) socket.destroy();
        else res.end(() => done.get(id)?.());
      };
      promiseFor(id);
      res.once('close', () => done.get(id)?.());
      writeMore();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    answered: promiseFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Outcome {
  fault: Fault;
  status?: number;
  bytes: number;
}

/** One request with its fault; resolves when the exchange is over, whoever ended it. */
function attempt(port: number, cms: Cms, fault: Fault, id: string, rand: () => number): Promise<Outcome> {
  const post = fault === 'client-request-body' || fault === 'upstream-request-body';
  const path = `/big?fault=${fault}&id=${id}&chunked=${rand() < 0.5 ? 1 : 0}`;
  return within(60_000, `${fault} (${id})`, (fault === 'client-request-head' || fault === 'client-request-body' ? rawAttempt : httpAttempt)(port, cms, fault, path, post, id, rand));
}

/** Faults inside the request: written byte by byte on a bare socket, then the socket is closed. */
function rawAttempt(port: number, _cms: Cms, fault: Fault, path: string, post: boolean, _id: string, rand: () => number): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const head = post
      ? `POST ${path} HTTP/1.1\r\nHost: school.example\r\nContent-Type: application/octet-stream\r\nContent-Length: ${REQUEST_BODY}\r\n\r\n`
      : `GET ${path} HTTP/1.1\r\nHost: school.example\r\n\r\n`;
    socket.on('error', () => {});
    socket.once('close', () => resolve({ fault, bytes: 0 }));
    socket.once('connect', () => {
      if (fault === 'client-request-head') {
        socket.write(head.slice(0, 1 + Math.floor(rand() * (head.length - 2))), () => socket.destroy());
      } else {
        socket.write(head);
        socket.write(randomBytes(Math.floor(rand() * REQUEST_BODY * 0.9)), () => socket.destroy());
      }
    });
  });
}

/** Faults in the answer (or on the CMS's side): an ordinary HTTP client that may leave early. */
function httpAttempt(port: number, cms: Cms, fault: Fault, path: string, post: boolean, id: string, rand: () => number): Promise<Outcome> {
  // A third of the cuts fall in the last chunk: the visitor leaves just as the CMS finishes.
  const cutBodyAt = rand() < 0.33 ? BIG.length - 1 - Math.floor(rand() * 64 * 1024) : 1 + Math.floor(rand() * (BIG.length - 2));
  const leaveAtOnce = rand() < 0.5;
  return new Promise<Outcome>((resolve) => {
    let status: number | undefined;
    let bytes = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve({ fault, status, bytes });
    };
    const req = http.request({ host: '127.0.0.1', port, path, method: post ? 'POST' : 'GET', agent: false, headers: { host: 'school.example', ...(post ? { 'content-type': 'application/octet-stream', 'content-length': String(REQUEST_BODY) } : {}) } });
    req.on('error', finish);
    req.on('close', finish);
    req.on('response', (res) => {
      status = res.statusCode;
      res.on('error', () => {});
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (fault === 'client-response-body' && bytes >= cutBodyAt) req.destroy();
        if (fault === 'client-slow-then-gone' && !res.isPaused()) {
          // Stop reading; leave once the CMS has written everything, so Veil holds the rest.
          res.pause();
          void cms.answered(id).then(() => req.destroy());
        }
      });
      res.on('end', finish);
    });
    if (fault === 'client-response-head') {
      req.end(() => (leaveAtOnce ? req.destroy() : setImmediate(() => req.destroy())));
    } else {
      req.end(post ? randomBytes(REQUEST_BODY) : undefined);
    }
  });
}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms / 1000} s`)), ms);
    }),
  ]);
}

describe('connections cut at random points', () => {
  let veil: TestVeil;
  let cms: Cms;
  const seed = Number(process.env.ROBUST_SEED ?? Date.now() % 1_000_000);
  const rand = random(seed);
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    cms = await startCms(rand);
    veil = await startTestVeil({ UPSTREAM_URL: cms.url });
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await veil?.close();
    await cms?.close();
  });

  it(`${TOTAL} requests, each cut somewhere, leave Veil answering (seed ${seed})`, async () => {
    const outcomes: Outcome[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < TOTAL) {
        const n = next++;
        const fault = FAULTS[Math.floor(rand() * FAULTS.length)]!;
        outcomes.push(await attempt(veil.port, cms, fault, `r${n}`, rand));
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, lane));

    expect(uncaught).toEqual([]);
    expect(outcomes).toHaveLength(TOTAL);
    // The upstream's faults reach the visitor as a 502 (or a cut answer once the head was passed on).
    for (const o of outcomes.filter((x) => x.fault === 'upstream-request-head' || x.fault === 'upstream-response-head')) {
      expect(o.status).toBe(502);
    }
    for (const o of outcomes.filter((x) => x.fault === 'upstream-response-body')) {
      if (o.status === 200) expect(o.bytes).toBeLessThan(BIG.length);
      else expect(o.status).toBe(502);
    }
    for (const o of outcomes.filter((x) => x.fault === 'none')) {
      expect(o.status).toBe(200);
      expect(o.bytes).toBe(BIG.length);
    }

    const health = await send(veil.port, { path: '/_veil/health' });
    expect(health.status).toBe(200);
    const page = await send(veil.port, { path: '/big?id=after' });
    expect(page.status).toBe(200);
    expect(page.body.equals(BIG)).toBe(true);
  }, 300_000);
});
