import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, table } from './stats.js';
import { checkTarget, formatTarget, formatValue } from './targets.js';
import { deleteRedisPrefix, SHARED_REDIS_URL } from '../test/helpers/redis-server.js';

/**
 * Pass-through against nginx (issue 16): an nginx static server is the CMS; in front of it, in
 * the same run, nginx as a reverse proxy with one worker and a keep-alive upstream, and Veil
 * (`veil proxy`, once per PROXY_PROCESSES setting). wrk drives each in turn; every figure is the
 * median of BENCH_ROUNDS rounds. Needs Debian's nginx and wrk (apt-get install nginx-light wrk).
 */
const PAGE_BYTES = 68 * 1024;
const FILE_BYTES = 2 * 1024 * 1024;
const PREFIX = `veil-test-bench-pass-${process.pid}`;

interface Wrk {
  rps: number;
  p50Ms: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

/** nginx in the foreground with its own prefix folder, so it needs no root and leaves nothing behind. */
async function startNginx(dir: string, name: string, server: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const conf = `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  ${server.replace('LISTEN', `listen 127.0.0.1:${port};`)}
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: 'ignore' });
  await waitForPort(port, child, `nginx (${name})`);
  return { port, child };
}

async function startVeil(upstreamPort: number, dir: string, processes: number): Promise<{ port: number; child: ChildProcess }> {
  const dataDir = mkdtempSync(join(dir, 'veil-'));
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', "import('./src/cli.ts').then((m) => m.main(['proxy'])).then((code) => { process.exitCode = code; })"], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}/`,
      DATA_DIR: dataDir,
      REDIS_URL: process.env.REDIS_URL ?? SHARED_REDIS_URL,
      REDIS_PREFIX: PREFIX,
      PROXY_PROCESSES: String(processes),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`veil proxy exited (${code}): ${log}`)));
  });
  // With several processes, every one must be listening before the load starts.
  await new Promise((resolve) => setTimeout(resolve, processes > 1 ? 2000 : 200));
  return { port, child };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** One wrk run: requests per second and median latency. */
function wrk(url: string, connections: number, seconds: number, script?: string): Wrk {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50Ms = toMs(/50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`wrk saw ${errors[1]} error answers from ${url}`);
  return { rps, p50Ms };
}

export async function benchPassThrough(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_PASS_SECONDS ?? 4);
  const processCounts = (process.env.BENCH_PROXY_PROCESSES ?? '1,2').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-pass-'));
  // nginx started as root serves as nobody: the folder must be readable to others (it holds no secrets).
  chmodSync(dir, 0o755);
  const root = join(dir, 'site');
  mkdirSync(root);
  writeFileSync(join(root, 'page.html'), Buffer.alloc(PAGE_BYTES, '<p>Sports day was a great success.</p>\n'));
  writeFileSync(join(root, 'file.bin'), Buffer.alloc(FILE_BYTES, 7));
  // A WordPress post save: a 19 KB JSON body, read whole by Veil and inspected for pictures.
  const post = JSON.stringify({ title: 'Sports day', content: '<p>Sports day was a great success.</p>'.repeat(500), status: 'draft' });
  const postScript = join(dir, 'post.lua');
  writeFileSync(postScript, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[${post}]==]\n`);

  const children: ChildProcess[] = [];
  try {
    const cms = await startNginx(dir, 'cms', `server { LISTEN root ${root}; location /wp-json/ { return 201 '{"id":1}'; } }`);
    children.push(cms.child);
    const proxy = await startNginx(dir, 'proxy', `upstream cms { server 127.0.0.1:${cms.port}; keepalive 64; }
  server { LISTEN location / { proxy_pass http://cms; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; } }`);
    children.push(proxy.child);
    const veils: Array<{ name: string; port: number }> = [];
    for (const n of processCounts) {
      const veil = await startVeil(cms.port, dir, n);
      children.push(veil.child);
      veils.push({ name: `Veil, PROXY_PROCESSES=${n}`, port: veil.port });
    }
    const targets = [{ name: 'direct', port: cms.port }, { name: 'nginx proxy (1 worker)', port: proxy.port }, ...veils];
    for (const t of targets) wrk(`http://127.0.0.1:${t.port}/page.html`, 16, 1); // warm-up: pools, JIT

    const cases = [
      { label: '68 KB page, 16 connections', path: '/page.html', connections: 16 },
      { label: '68 KB page, 64 connections', path: '/page.html', connections: 64 },
      { label: '2 MB file, 16 connections', path: '/file.bin', connections: 16 },
      { label: '2 MB file, 64 connections', path: '/file.bin', connections: 64 },
      { label: '68 KB page, 1 connection', path: '/page.html', connections: 1 },
    ];
    const runs = new Map<string, Wrk[]>();
    const record = (key: string, result: Wrk) => runs.set(key, [...(runs.get(key) ?? []), result]);
    const loads: number[] = [];
    for (let round = 0; round < rounds; round++) {
      loads.push(loadavg()[0]!);
      for (const c of cases) for (const t of targets) record(`${c.label}|${t.name}`, wrk(`http://127.0.0.1:${t.port}${c.path}`, c.connections, seconds));
      for (const t of [targets[0]!, ...veils]) record(`post|${t.name}`, wrk(`http://127.0.0.1:${t.port}/wp-json/wp/v2/posts/1`, 1, seconds, postScript));
    }
    const rps = (key: string) => median((runs.get(key) ?? []).map((r) => r.rps));
    const p50 = (key: string) => median((runs.get(key) ?? []).map((r) => r.p50Ms));

    console.log(`\n## Pass-through against nginx (median of ${rounds} rounds of ${seconds} s, wrk; load average ${loads.map((l) => l.toFixed(1)).join(', ')} on ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores)\n`);
    const header = ['', ...targets.map((t) => t.name)];
    const rows = [header];
    for (const c of cases) {
      rows.push([`${c.label}, req/s`, ...targets.map((t) => rps(`${c.label}|${t.name}`).toFixed(0))]);
      rows.push([`${c.label}, p50`, ...targets.map((t) => `${p50(`${c.label}|${t.name}`).toFixed(2)} ms`)]);
    }
    rows.push(['19 KB JSON post save, 1 connection, p50', `${p50(`post|direct`).toFixed(2)} ms`, '-', ...veils.map((v) => `${p50(`post|${v.name}`).toFixed(2)} ms`)]);
    console.log(table(rows));

    const checks = [['', 'measured', 'target']];
    for (const v of veils) {
      for (const c of cases.filter((x) => x.connections > 1)) {
        const r = checkTarget(`${v.name}: ${c.label}, req/s vs nginx`, rps(`${c.label}|${v.name}`) / rps(`${c.label}|nginx proxy (1 worker)`), 'atLeast', 0.8);
        checks.push([r.name, formatValue(r.value, r.unit), formatTarget(r)]);
      }
      for (const c of cases.filter((x) => x.path === '/page.html' && x.connections !== 64)) {
        const r = checkTarget(`${v.name}: ${c.label}, added p50 vs direct`, p50(`${c.label}|${v.name}`) - p50(`${c.label}|direct`), 'atMost', 1, 'ms');
        checks.push([r.name, formatValue(r.value, r.unit), formatTarget(r)]);
      }
      const r = checkTarget(`${v.name}: 19 KB JSON post save, p50 vs direct`, p50(`post|${v.name}`) / p50('post|direct'), 'atMost', 2);
      checks.push([r.name, formatValue(r.value, r.unit), formatTarget(r)]);
    }
    console.log(`\n${table(checks)}`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
    await deleteRedisPrefix(process.env.REDIS_URL ?? SHARED_REDIS_URL, PREFIX).catch(() => 0);
  }
}
