import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR, DEMO_PHOTO } from './helpers/fixtures.js';
import { formBody, send } from './helpers/http.js';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { startS3Server } from './helpers/s3rver.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * Veil must fail closed: whatever breaks (Redis, the worker, the store), an upload gets a clear
 * answer and the CMS never receives an unsanitised image; pass-through keeps working.
 */
const photo = readFileSync(DEMO_PHOTO);
let cms: StubUpstream;

beforeAll(async () => {
  cms = await startStubUpstream();
});
afterAll(async () => {
  await cms?.close();
});

function rawUpload(port: number, body: Buffer = photo) {
  return send(port, {
    method: 'POST',
    path: '/wp-json/wp/v2/media',
    headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="pupil.jpg"'], ['Content-Length', String(body.length)]],
    body,
  });
}

/** No image the CMS received may still carry the original's EXIF (its camera model, say). */
function expectNothingUnsanitised(): void {
  for (const req of cms.requests) expect(req.body.includes(Buffer.from('ILCE-7M2'))).toBe(false);
}

describe.skipIf(!redisServerAvailable())('Redis stops', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.remove();
  });

  it('uploads are refused with a clear error, pass-through keeps working, and uploads recover with Redis', async () => {
    // A refusal no longer waits for the timeout, so it may be generous for the first upload on a loaded machine.
    const veil = await startTestVeil({ UPSTREAM_URL: cms.url.toString(), REDIS_URL: redis.url, UPLOAD_TIMEOUT_MS: '60000' });
    try {
      cms.requests.length = 0;
      expect((await rawUpload(veil.port)).status).toBe(200);

      await redis.stop();
      cms.requests.length = 0;
      const refused = await rawUpload(veil.port);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body.toString()).message).toMatch(/queue \(Redis\) is not available|not processed within/);
      expect(cms.requests).toHaveLength(0);
      const page = await send(veil.port, { path: '/about/' });
      expect(page.status).toBe(200);
      expect(cms.requests.map((r) => r.url)).toEqual(['/about/']);
      const health = await send(veil.port, { path: '/_veil/health' });
      expect(health.status).toBe(503);
      expect(JSON.parse(health.body.toString()).checks.redis.ok).toBe(false);

      await redis.start();
      await new Promise((r) => setTimeout(r, 2500)); // ioredis reconnects within ~2 s
      cms.requests.length = 0;
      expect((await rawUpload(veil.port)).status).toBe(200);
      expect(cms.requests).toHaveLength(1);
      expectNothingUnsanitised();
    } finally {
      await veil.close();
    }
  });
});

/** A `veil worker` process of its own, on the proxy's Redis prefix and store; resolves once it takes jobs. */
async function startWorker(proxy: TestVeil): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, ['bin/veil.js', 'worker'], {
    env: { ...process.env, REDIS_URL: proxy.config.redis.url, REDIS_PREFIX: proxy.config.redis.prefix, DATA_DIR: proxy.dataDir, STORAGE_DIR: proxy.config.storageDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await waitFor(() => log.includes('worker started'), 30_000);
  return { child, log: () => log };
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function waitForActive(proxy: TestVeil): Promise<void> {
  const end = Date.now() + 30_000;
  while ((await proxy.queue.counts()).active! < 1) {
    if (Date.now() > end) throw new Error('the upload never became active');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function logged(log: () => string, line: RegExp): Promise<void> {
  const end = Date.now() + 15_000;
  while (!line.test(log())) {
    if (Date.now() > end) expect(log()).toMatch(line);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a worker is killed (SIGKILL) mid-job', () => {
  const workers: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(workers.map(killed));
  });

  it('with no other worker, the upload is refused as QUEUE_UNAVAILABLE long before its timeout, and nothing reaches the CMS', async () => {
    // Proxy only; the worker is a separate `veil worker` process that we kill while it works.
    const proxy = await startTestVeil({ UPSTREAM_URL: cms.url.toString(), UPLOAD_TIMEOUT_MS: '90000' }, 'proxy');
    try {
      const worker = await startWorker(proxy);
      workers.push(worker.child);
      cms.requests.length = 0;
      // A 12 MP photo keeps the worker busy long enough to be killed mid-job.
      const big = await sharp(photo).resize(4000, 2667).jpeg({ quality: 95 }).toBuffer();
      const started = Date.now();
      const pending = rawUpload(proxy.port, big);
      await waitForActive(proxy);
      await killed(worker.child);
      const answer = await pending;
      const seconds = (Date.now() - started) / 1000;
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body.toString()).message).toMatch(/worker .*stopped.*not published/);
      // The stalled-job check finds it within lock + two checks; far from the 90 s timeout.
      expect(seconds).toBeLessThan(45);
      expect(cms.requests).toHaveLength(0);
      expect((await proxy.queue.counts()).active).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('another worker takes the job over, and the upload is published sanitised', async () => {
    const proxy = await startTestVeil({ UPSTREAM_URL: cms.url.toString(), UPLOAD_TIMEOUT_MS: '120000' }, 'proxy');
    try {
      const first = await startWorker(proxy);
      workers.push(first.child);
      cms.requests.length = 0;
      const big = await sharp(photo).resize(4000, 2667).jpeg({ quality: 95 }).toBuffer();
      const started = Date.now();
      const pending = rawUpload(proxy.port, big);
      await waitForActive(proxy);
      // Frozen at once, so it cannot finish the photo while the second worker starts (YuNet made
      // a 12 MP photo quick enough for that race); then killed as a crashed machine would be.
      first.child.kill('SIGSTOP');
      const second = await startWorker(proxy);
      workers.push(second.child);
      await killed(first.child);
      const answer = await pending;
      expect(answer.status).toBe(200);
      expect((Date.now() - started) / 1000).toBeLessThan(90);
      expect(cms.requests).toHaveLength(1);
      expectNothingUnsanitised();
      // The worker logs after it hands the result over: its line may reach the pipe a moment later.
      await logged(() => second.log(), /"msg":"upload processed"/);
    } finally {
      await proxy.close();
    }
  }, 150_000);
});

describe.skipIf(!redisServerAvailable())('Redis is lost while an upload waits', () => {
  it('the upload is answered 503 QUEUE_UNAVAILABLE within seconds, in the CMS\'s format, and nothing is forwarded', async () => {
    const redis = await startPrivateRedis();
    // No worker: the upload waits in the queue when Redis goes.
    const proxy = await startTestVeil({ UPSTREAM_URL: cms.url.toString(), REDIS_URL: redis.url, UPLOAD_TIMEOUT_MS: '60000' }, 'proxy');
    try {
      cms.requests.length = 0;
      const pending = rawUpload(proxy.port);
      const end = Date.now() + 30_000;
      while ((await proxy.queue.counts()).waiting! < 1) {
        if (Date.now() > end) throw new Error('the upload never reached the queue');
        await new Promise((r) => setTimeout(r, 50));
      }
      const lost = Date.now();
      await redis.stop();
      const answer = await pending;
      const seconds = (Date.now() - lost) / 1000;
      expect(answer.status).toBe(503);
      const body = JSON.parse(answer.body.toString());
      // WordPress REST's error shape, from the adapter's problem path.
      expect(body.code).toBeTruthy();
      expect(body.data.status).toBe(503);
      expect(body.message).toMatch(/queue \(Redis\) is not available/);
      expect(seconds).toBeLessThan(10);
      expect(cms.requests).toHaveLength(0);
    } finally {
      await proxy.close();
      await redis.remove();
    }
  }, 90_000);
});

describe('the worker is asked to stop (SIGTERM) mid-job', () => {
  it('finishes the photo it is working on before it exits', async () => {
    const proxy = await startTestVeil({ UPSTREAM_URL: cms.url.toString(), UPLOAD_TIMEOUT_MS: '60000' }, 'proxy');
    const worker = spawn(process.execPath, ['bin/veil.js', 'worker'], {
      env: { ...process.env, REDIS_URL: proxy.config.redis.url, REDIS_PREFIX: proxy.config.redis.prefix, DATA_DIR: proxy.dataDir, STORAGE_DIR: proxy.config.storageDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let log = '';
      worker.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
      await waitFor(() => log.includes('worker started'), 20_000);
      // A proxy-only process holds no model, so its health says nothing about one.
      const health = JSON.parse((await send(proxy.port, { path: '/_veil/health' })).body.toString());
      expect(Object.keys(health.checks)).toEqual(['redis', 'storage']);
      cms.requests.length = 0;
      const pending = rawUpload(proxy.port);
      await new Promise((r) => setTimeout(r, 300));
      worker.kill('SIGTERM');
      const exited = new Promise<number | null>((r) => worker.once('exit', r));
      const answer = await pending;
      expect(answer.status).toBe(200);
      expect(cms.requests).toHaveLength(1);
      expect(await exited).toBe(0);
      expect(log).toMatch(/"msg":"stopping","signal":"SIGTERM"/);
    } finally {
      worker.kill('SIGKILL');
      await proxy.close();
    }
  });
});

describe('the object store fails', () => {
  it('uploads are refused as STORAGE_UNAVAILABLE, pass-through keeps working', async () => {
    const s3 = await startS3Server();
    const veil = await startTestVeil({
      UPSTREAM_URL: cms.url.toString(),
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    try {
      cms.requests.length = 0;
      expect((await rawUpload(veil.port)).status).toBe(200);
      expect(cms.requests).toHaveLength(1);
      await s3.stop();
      cms.requests.length = 0;
      const refused = await rawUpload(veil.port);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body.toString()).message).toMatch(/storage|S3/i);
      expect(cms.requests).toHaveLength(0);
      expect((await send(veil.port, { path: '/' })).status).toBe(200);
      expectNothingUnsanitised();
    } finally {
      await veil.close();
    }
  });
});

describe('fifty uploads at once', () => {
  it('all end sanitised or cleanly refused; none lost, none unsanitised', async () => {
    const veil = await startTestVeil({ UPSTREAM_URL: cms.url.toString(), WORKER_CONCURRENCY: '2', UPLOAD_TIMEOUT_MS: '170000' });
    try {
      cms.requests.length = 0;
      cms.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('stored');
      });
      const photos = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => sharp(`${DEMO_DIR}/sample${i}.jpg`).resize(800).jpeg().withExif({ IFD0: { Artist: 'GPS owner' } }).toBuffer()));
      const boundary = 'fiftyBoundary';
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const body = formBody([{ name: 'name', data: `n${i}` }, { name: 'async-upload', filename: `p${i}.jpg`, contentType: 'image/jpeg', data: photos[i % 6]! }], boundary);
          return send(veil.port, {
            method: 'POST',
            path: `/wp-admin/async-upload.php`,
            headers: [['Host', 'school.example'], ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]],
            body,
          });
        }),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.every((s) => s === 200 || (s >= 400 && s < 600))).toBe(true);
      const forwarded = answers.filter((a) => a.body.toString() === 'stored').length;
      expect(forwarded).toBe(cms.requests.length);
      expect(forwarded).toBe(50);
      for (const req of cms.requests) expect(req.body.includes(Buffer.from('GPS owner'))).toBe(false);
    } finally {
      await veil.close();
    }
  }, 240_000);
});

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
