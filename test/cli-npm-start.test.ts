import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix, SHARED_REDIS_URL, uniquePrefix } from './helpers/redis-server.js';

const prefix = uniquePrefix('npm-start');
const dir = mkdtempSync(join(tmpdir(), 'veil-npm-start-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await deleteRedisPrefix(SHARED_REDIS_URL, prefix).catch(() => 0);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process whose parent is `pid`, and theirs. */
function descendants(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  const children = out.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('stopping npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the npm process alone stops Veil too`, async () => {
      // Its own process group, as under a service manager; only npm's pid is signalled.
      const npm = spawn('npm', ['start', '--silent'], {
        detached: true,
        env: { ...process.env, DATA_DIR: join(dir, signal), PORT: '0', HOST: '127.0.0.1', REDIS_URL: SHARED_REDIS_URL, REDIS_PREFIX: prefix, UPSTREAM_URL: '', LOG_LEVEL: 'warn', VEIL_ADMIN_USERS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      npm.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      npm.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
      const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
      let veilPids: number[] = [];
      try {
        await until(() => out.includes('Veil is running at') || npm.exitCode !== null, 'the start banner');
        expect(out).toContain('Veil is running at');
        veilPids = descendants(npm.pid!);
        expect(veilPids.length).toBeGreaterThan(0);
        const url = /Veil is running at (http:\/\/\S+)/.exec(out)![1]!;
        expect((await fetch(`${url}/_veil/health`)).status).toBe(200);

        process.kill(npm.pid!, signal);
        await npmExited;
        await until(() => veilPids.every((pid) => !alive(pid)), `Veil's processes ${veilPids.join(', ')} to exit after npm did`, 30_000);
        expect(veilPids.filter(alive)).toEqual([]);
        expect(out).not.toMatch(/Unknown project config/);
      } finally {
        for (const pid of [npm.pid!, ...veilPids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }
});
