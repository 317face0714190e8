import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, ms, quantile, table } from './stats.js';

import { deleteRedisPrefix, SHARED_REDIS_URL } from '../test/helpers/redis-server.js';

const DEMO = 'node_modules/@vladmandic/face-api/demo';
const PREFIX = `veil-test-bench-${process.pid}`;
const PAGE = Buffer.from(`<!doctype html><title>School news</title>${'<p>Sports day was a great success. '.repeat(2000)}`);

/** A stand-in CMS: a 70 KB page for GETs; uploads are drained and answered with a small JSON. */
function startCms(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': PAGE.length });
      res.end(PAGE);
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"id":1}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Veil as `veil start` runs it, in its own process so the load generator does not share its CPU. */
async function startVeilProcess(upstream: string): Promise<{ port: number; child: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-proxy-'));
  const child = spawn(process.execPath, ['bin/veil.js', 'start'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: upstream, DATA_DIR: dir, REDIS_PREFIX: PREFIX, WORKER_CONCURRENCY: '2', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`veil start exited (${code}): ${log}`)));
  });
  return { port, child, dir };
}

function request(agent: http.Agent, port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request({ host: '127.0.0.1', port, agent, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode! < 400 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Requests per second with `concurrency` clients for `seconds`, and the latencies seen. */
async function load(port: number, concurrency: number, seconds: number): Promise<{ rps: number; latencies: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) latencies.push(await request(agent, port));
  }));
  agent.destroy();
  return { rps: latencies.length / seconds, latencies };
}

/**
 * Pass-through throughput and latency through Veil against the CMS directly, and end-to-end
 * upload latency (store, queue, worker with faces, rebuilt request) at 1 and 8 at once.
 */
export async function benchProxy(): Promise<void> {
  const cms = await startCms();
  const cmsPort = (cms.address() as AddressInfo).port;
  const veil = await startVeilProcess(`http://127.0.0.1:${cmsPort}/`);
  try {
    await load(cmsPort, 4, 1); // warm-up
    await load(veil.port, 4, 1);
    const seconds = Number(process.env.BENCH_SECONDS ?? 5);
    const direct = await load(cmsPort, 16, seconds);
    const through = await load(veil.port, 16, seconds);
    const directSeq = await load(cmsPort, 1, 2);
    const throughSeq = await load(veil.port, 1, 2);

    // Form and JSON bodies are read whole and scanned for pasted pictures before they go on.
    const post = Buffer.from(JSON.stringify({ title: 'Sports day', content: '<p>Sports day was a great success.</p>'.repeat(500), status: 'draft' }));
    const postOnce = (port: number, agent: http.Agent) => request(agent, port, { method: 'POST', path: '/wp-json/wp/v2/posts/1', headers: { 'content-type': 'application/json', 'content-length': String(post.length) }, body: post });
    const postLatencies = async (port: number) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const out: number[] = [];
      for (let i = 0; i < 300; i++) out.push(await postOnce(port, agent));
      agent.destroy();
      return out.slice(50);
    };
    const directPost = await postLatencies(cmsPort);
    const throughPost = await postLatencies(veil.port);

    console.log(`\n## Pass-through: GET of a ${Math.round(PAGE.length / 1024)} KB page, and a ${Math.round(post.length / 1024)} KB JSON post save (same run, same machine)\n`);
    console.log(table([
      ['', 'CMS directly', 'through Veil', 'ratio'],
      ['throughput, 16 clients (req/s)', direct.rps.toFixed(0), through.rps.toFixed(0), `${(through.rps / direct.rps).toFixed(2)}×`],
      ['latency, 1 client, median', ms(median(directSeq.latencies)), ms(median(throughSeq.latencies)), `${(median(throughSeq.latencies) / median(directSeq.latencies)).toFixed(2)}×`],
      ['latency, 1 client, p95', ms(quantile(directSeq.latencies, 0.95)), ms(quantile(throughSeq.latencies, 0.95)), `${(quantile(throughSeq.latencies, 0.95) / quantile(directSeq.latencies, 0.95)).toFixed(2)}×`],
      ['JSON post save, 1 client, median (read whole, scanned for pictures)', ms(median(directPost)), ms(median(throughPost)), `${(median(throughPost) / median(directPost)).toFixed(2)}×`],
    ]));

    const photos = [1, 2, 3, 4, 5, 6].map((i) => readFileSync(`${DEMO}/sample${i}.jpg`));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const upload = (body: Buffer) => request(agent, veil.port, {
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: { 'content-type': 'image/jpeg', 'content-disposition': 'attachment; filename="photo.jpg"', 'content-length': String(body.length) },
      body,
    });
    await upload(photos[0]!); // worker threads load the model
    const rows = [['uploads at once', 'median', 'p95', 'photos']];
    for (const concurrency of [1, 8]) {
      const latencies: number[] = [];
      const total = concurrency === 1 ? 12 : 24;
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < total) latencies.push(await upload(photos[next++ % photos.length]!));
      }));
      rows.push([String(concurrency), ms(median(latencies)), ms(quantile(latencies, 0.95)), String(total)]);
    }
    agent.destroy();
    console.log('\n## End-to-end upload latency through Veil (1920 px group photos, faces blurred, WORKER_CONCURRENCY=2)\n');
    console.log(table(rows));
  } finally {
    veil.child.kill('SIGTERM');
    await new Promise((r) => veil.child.once('exit', r));
    rmSync(veil.dir, { recursive: true, force: true });
    await deleteRedisPrefix(process.env.REDIS_URL ?? SHARED_REDIS_URL, PREFIX).catch(() => 0);
    cms.close();
  }
}
