import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIngestClient } from '../src/edge/ingest-client.js';
import { MemoryReplayGuard, RedisReplayGuard } from '../src/ingest/replay-guard.js';
import { INGEST_ANSWER_HEADERS, INGEST_HEADERS, decodeContext, signIngestRequest, verifyIngestAnswer, verifyIngestRequest, type IngestContext } from '../src/ingest/signature.js';
import { VeilError } from '../src/pipeline/errors.js';
import type { SanitiseUpload, UploadContext, UploadFile, UploadOutcome } from '../src/proxy/types.js';
import { startIngestService, TEST_INGEST_SECRET, unreachableUrl, type IngestService } from './helpers/edge.js';

const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const MAX_BYTES = 4 * 1024 * 1024;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Stand-in for the Node service's createIngest, which would store the original in S3 and wait for
 * a BullMQ worker: what is under test here is the endpoint's protocol, so the step re-encodes with
 * sharp (dropping all metadata) or answers as `next` says, and records what it was given.
 */
let calls: Array<{ file: UploadFile; ctx: UploadContext }> = [];
let next: ((file: UploadFile) => Promise<UploadOutcome>) | undefined;
const sanitise: SanitiseUpload = async (file, ctx) => {
  calls.push({ file, ctx });
  if (next) return next(file);
  return { kind: 'sanitised', uploadId: `up-${calls.length}`, bytes: await sharp(file.bytes).jpeg().toBuffer(), filename: 'photo-ü-1.jpg', contentType: 'image/jpeg' };
};

const CONTEXT: IngestContext = {
  cms: 'wordpress',
  method: 'POST',
  path: '/wp-json/wp/v2/media',
  clientIp: '203.0.113.9',
  user: 'head.teacher',
  filename: 'Jane Smith – sports day.jpg',
  declaredType: 'image/jpeg',
};

let service: IngestService;

beforeAll(async () => {
  service = await startIngestService({ sanitise, secret: TEST_INGEST_SECRET, replay: new MemoryReplayGuard(), maxBytes: MAX_BYTES });
});

afterAll(async () => {
  await service.close();
});

beforeEach(() => {
  calls = [];
  next = undefined;
});

interface CallOptions {
  body?: Uint8Array;
  secret?: string;
  timestamp?: number;
  /** A timestamp this many seconds from the moment of signing. */
  secondsFromNow?: number;
  path?: string;
  context?: IngestContext;
  /** Applied to the signed headers before sending. */
  tamper?: (headers: Record<string, string>) => void;
}

async function signedCall(target: IngestService, options: CallOptions = {}): Promise<{ res: Response; headers: Record<string, string>; body: Uint8Array }> {
  const body = options.body ?? PHOTO;
  const headers = await signIngestRequest({
    secret: options.secret ?? TEST_INGEST_SECRET,
    method: 'POST',
    path: options.path ?? target.url.pathname,
    body,
    context: options.context ?? CONTEXT,
    timestamp: options.secondsFromNow === undefined ? options.timestamp : Math.floor(Date.now() / 1000) + options.secondsFromNow,
  });
  options.tamper?.(headers);
  const res = await fetch(target.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: body as Uint8Array<ArrayBuffer> });
  return { res, headers, body };
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('a signed call', () => {
  it('is sanitised: 200 with the bytes, the outcome headers and an answer signed for this call', async () => {
    const { res, headers } = await signedCall(service);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get(INGEST_ANSWER_HEADERS.outcome)).toBe('sanitised');
    expect(res.headers.get(INGEST_ANSWER_HEADERS.uploadId)).toBe('up-1');
    expect(decodeURIComponent(res.headers.get(INGEST_ANSWER_HEADERS.filename)!)).toBe('photo-ü-1.jpg');
    expect((await sharp(bytes).metadata()).format).toBe('jpeg');
    expect(sha(bytes)).not.toBe(sha(PHOTO));

    const parts = { nonce: headers[INGEST_HEADERS.nonce]!, status: 200, outcome: 'sanitised', uploadId: 'up-1', filename: res.headers.get(INGEST_ANSWER_HEADERS.filename)!, contentType: 'image/jpeg', body: bytes };
    const signature = res.headers.get(INGEST_ANSWER_HEADERS.signature);
    expect(await verifyIngestAnswer(TEST_INGEST_SECRET, parts, signature)).toBe(true);
    // Bound to the call: the same answer does not verify for another nonce, or with other bytes.
    expect(await verifyIngestAnswer(TEST_INGEST_SECRET, { ...parts, nonce: 'f'.repeat(32) }, signature)).toBe(false);
    expect(await verifyIngestAnswer(TEST_INGEST_SECRET, { ...parts, body: PHOTO }, signature)).toBe(false);

    expect(calls).toHaveLength(1);
    expect(sha(calls[0]!.file.bytes)).toBe(sha(PHOTO));
    expect(calls[0]!.file).toMatchObject({ filename: CONTEXT.filename, declaredType: 'image/jpeg' });
    expect(calls[0]!.ctx).toEqual({ cms: 'wordpress', method: 'POST', path: '/wp-json/wp/v2/media', clientIp: '203.0.113.9', user: 'head.teacher' });
  });

  it('held: 200 JSON with the reference and message', async () => {
    next = async () => ({ kind: 'held', uploadId: 'up-held', reference: 'REF-7', message: 'Waiting for the safeguarding lead.' });
    const { res } = await signedCall(service);
    expect(res.status).toBe(200);
    expect(res.headers.get(INGEST_ANSWER_HEADERS.outcome)).toBe('held');
    expect(await res.json()).toEqual({ outcome: 'held', uploadId: 'up-held', reference: 'REF-7', message: 'Waiting for the safeguarding lead.' });
  });

  it('refused: 200 JSON with the error code and message', async () => {
    next = async () => ({ kind: 'refused', uploadId: 'up-bad', error: new VeilError('CORRUPT_IMAGE', 'This picture could not be read.') });
    const { res } = await signedCall(service);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ outcome: 'refused', uploadId: 'up-bad', error: { code: 'CORRUPT_IMAGE', message: 'This picture could not be read.' } });
  });

  it('whose step returns the original bytes unchanged is refused, as on the Node proxy', async () => {
    next = async (file) => ({ kind: 'sanitised', uploadId: 'up-same', bytes: file.bytes, filename: 'x.jpg', contentType: 'image/jpeg' });
    const { res } = await signedCall(service);
    const answer = (await res.json()) as { outcome: string; error: { code: string } };
    expect(answer.outcome).toBe('refused');
    expect(answer.error.code).toBe('INTERNAL');
  });
});

describe('refused calls never reach the sanitising step', () => {
  it('unsigned: 401', async () => {
    const res = await fetch(service.url, { method: 'POST', body: PHOTO });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect(calls).toHaveLength(0);
  });

  it('signed with another secret: 401', async () => {
    const { res } = await signedCall(service, { secret: 'another-secret-that-is-long-enough-000000' });
    expect(res.status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('a body changed after signing: 401', async () => {
    const headers = await signIngestRequest({ secret: TEST_INGEST_SECRET, method: 'POST', path: service.url.pathname, body: PHOTO, context: CONTEXT });
    const changed = Buffer.from(PHOTO);
    changed[changed.length - 10] = changed[changed.length - 10]! ^ 0xff;
    const res = await fetch(service.url, { method: 'POST', headers, body: changed });
    expect(res.status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('a context changed after signing (another path claimed): 401', async () => {
    const { res } = await signedCall(service, {
      tamper: (headers) => {
        const forged = { ...decodeContext(headers[INGEST_HEADERS.context]!)!, path: '/somewhere-else' };
        headers[INGEST_HEADERS.context] = Buffer.from(JSON.stringify(forged)).toString('base64url');
      },
    });
    expect(res.status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('signed for another endpoint path: 401', async () => {
    const { res } = await signedCall(service, { path: '/_veil/other' });
    expect(res.status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('a stale timestamp (more than 300 s old) or one from the future: 401', async () => {
    // Offsets are taken from the clock when each call is signed, and point the way the server's
    // later reading of its clock cannot cross the window's edge: the verdict does not depend on
    // how long a busy machine takes between signing and checking.
    const stale = await signedCall(service, { secondsFromNow: -301 });
    expect(stale.res.status).toBe(401);
    expect(((await stale.res.json()) as { error: { message: string } }).error.message).toMatch(/300 seconds/);
    const future = await signedCall(service, { secondsFromNow: 3600 });
    expect(future.res.status).toBe(401);
    expect(((await future.res.json()) as { error: { message: string } }).error.message).toMatch(/300 seconds/);
    // Just inside the window: 290 s ahead stays inside however slowly the server gets to it.
    const inside = await signedCall(service, { secondsFromNow: 290 });
    expect(inside.res.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('the window is exactly 300 s either way (checked at a fixed clock)', async () => {
    const now = 2_000_000_000;
    const verdict = async (timestamp: number) => {
      const headers = await signIngestRequest({ secret: TEST_INGEST_SECRET, method: 'POST', path: '/_veil/ingest', body: PHOTO, context: CONTEXT, timestamp });
      const result = await verifyIngestRequest({ secret: TEST_INGEST_SECRET, method: 'POST', path: '/_veil/ingest', body: PHOTO, headers: new Headers(headers), now });
      return result.ok ? 'ok' : result.reason;
    };
    expect(await verdict(now - 301)).toBe('stale');
    expect(await verdict(now + 301)).toBe('stale');
    expect(await verdict(now - 300)).toBe('ok');
    expect(await verdict(now + 300)).toBe('ok');
  });

  it('a replayed call: 409, and the photo is not processed twice', async () => {
    const { res, headers, body } = await signedCall(service);
    expect(res.status).toBe(200);
    const replay = await fetch(service.url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> });
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('CONFLICT');
    expect(calls).toHaveLength(1);
  });

  it('a body over maxBytes: 413, by its declared length or as it streams', async () => {
    const big = Buffer.alloc(MAX_BYTES + 1, 1);
    const { res } = await signedCall(service, { body: big });
    expect(res.status).toBe(413);
    // Chunked, no Content-Length: the limit still holds while reading.
    const headers = await signIngestRequest({ secret: TEST_INGEST_SECRET, method: 'POST', path: service.url.pathname, body: big, context: CONTEXT });
    const chunked = await rawPost(service.port, service.url.pathname, headers, big);
    expect(chunked).toBe(413);
    expect(calls).toHaveLength(0);
  });
});

/** POST with Transfer-Encoding: chunked (fetch would send a Content-Length for a Buffer). */
function rawPost(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
    for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
    req.end();
  });
}

describe('the Redis replay guard', () => {
  const prefix = `veil-test-ingest-${randomUUID()}:`;
  let redis: Redis;
  let first: IngestService;
  let second: IngestService;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    // Two services on one Redis, as two Node processes behind one load balancer would be.
    first = await startIngestService({ sanitise, secret: TEST_INGEST_SECRET, replay: new RedisReplayGuard(redis, prefix), maxBytes: MAX_BYTES });
    second = await startIngestService({ sanitise, secret: TEST_INGEST_SECRET, replay: new RedisReplayGuard(redis, prefix), maxBytes: MAX_BYTES });
  });

  afterAll(async () => {
    await first.close();
    await second.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses a call replayed to another process, and lets the nonce expire after the clock window', async () => {
    const { res, headers, body } = await signedCall(first);
    expect(res.status).toBe(200);
    const replay = await fetch(second.url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer> });
    expect(replay.status).toBe(409);
    expect(calls).toHaveLength(1);
    const key = `${prefix}ingest-nonce:${headers[INGEST_HEADERS.nonce]}`;
    const ttl = await redis.pttl(key);
    // Twice the ±300 s window plus a minute: no older call can still be accepted once it expires.
    expect(ttl).toBeGreaterThan(600_000);
    expect(ttl).toBeLessThanOrEqual(660_000);
  });

  it('fails closed with 503 when Redis does not answer', async () => {
    const down = new Redis((await unreachableUrl('/')).href.replace('http:', 'redis:'), { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true, enableOfflineQueue: false });
    down.on('error', () => undefined);
    const service3 = await startIngestService({ sanitise, secret: TEST_INGEST_SECRET, replay: new RedisReplayGuard(down, prefix), maxBytes: MAX_BYTES });
    try {
      const { res } = await signedCall(service3);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INGEST_UNAVAILABLE');
      expect(calls).toHaveLength(0);
    } finally {
      await service3.close();
      down.disconnect();
    }
  });
});

describe("the edge's ingest client against the real endpoint", () => {
  const signal = (): AbortSignal => new AbortController().signal;
  const file: UploadFile = { bytes: PHOTO, filename: 'Jane Smith.jpg', declaredType: 'image/jpeg', field: 'async-upload' };
  const ctx: UploadContext = { cms: 'wordpress', method: 'POST', path: '/wp-admin/async-upload.php', clientIp: '198.51.100.4' };

  it('turns each answer into the outcome the proxy code expects', async () => {
    const client = createIngestClient({ url: service.url, secret: TEST_INGEST_SECRET });
    const sanitised = await client(file, ctx, signal());
    expect(sanitised).toMatchObject({ kind: 'sanitised', filename: 'photo-ü-1.jpg', contentType: 'image/jpeg' });
    expect(calls[0]!.file).toMatchObject({ filename: 'Jane Smith.jpg', field: 'async-upload' });
    expect(calls[0]!.ctx).toMatchObject(ctx);

    next = async () => ({ kind: 'held', uploadId: 'up-h', reference: 'REF-1', message: 'Held.' });
    expect(await client(file, ctx, signal())).toEqual({ kind: 'held', uploadId: 'up-h', reference: 'REF-1', message: 'Held.' });

    next = async () => ({ kind: 'refused', uploadId: 'up-r', error: new VeilError('PIXEL_LIMIT', 'Too many pixels.') });
    const refused = await client(file, ctx, signal());
    expect(refused).toMatchObject({ kind: 'refused', uploadId: 'up-r' });
    expect(refused.kind === 'refused' && refused.error.toJSON()).toEqual({ code: 'PIXEL_LIMIT', message: 'Too many pixels.' });
  });

  it('refuses when the service is down, or the secrets differ, with words the uploader can pass on', async () => {
    const down = createIngestClient({ url: await unreachableUrl('/_veil/ingest'), secret: TEST_INGEST_SECRET });
    const outcome = await down(file, ctx, signal());
    expect(outcome.kind === 'refused' && outcome.error.toJSON()).toEqual({ code: 'INGEST_UNAVAILABLE', message: expect.stringMatching(/could not be reached; the photo was not published/) });

    const wrongSecret = createIngestClient({ url: service.url, secret: 'a-different-secret-of-enough-length-00000' });
    const refused = await wrongSecret(file, ctx, signal());
    expect(refused.kind === 'refused' && refused.error.message).toMatch(/INGEST_SECRET/);
    expect(calls).toHaveLength(0);
  });

  it('refuses an answer altered on the way (a changed byte no longer matches the signature)', async () => {
    // A real HTTP relay between client and service that flips one byte of the sanitised photo.
    const relay = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const signed = Object.entries(req.headers).filter(([name]) => name.startsWith('x-veil-')) as Array<[string, string]>;
      const upstream = await fetch(service.url, { method: 'POST', headers: signed, body: Buffer.concat(chunks) });
      const body = Buffer.from(await upstream.arrayBuffer());
      body[body.length - 100] = body[body.length - 100]! ^ 0x01;
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(body);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const port = (relay.address() as AddressInfo).port;
      const client = createIngestClient({ url: new URL(`http://127.0.0.1:${port}/_veil/ingest`), secret: TEST_INGEST_SECRET });
      const outcome = await client(file, ctx, signal());
      expect(calls).toHaveLength(1);
      expect(outcome.kind === 'refused' && outcome.error.toJSON()).toEqual({ code: 'INGEST_UNAVAILABLE', message: expect.stringMatching(/could not be verified/) });
    } finally {
      relay.closeAllConnections();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });
});
