import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, withSetupFile } from '../src/config.js';
import { verifyPassword } from '../src/review/index.js';
import { parseSetupFile } from '../src/setup-file.js';
import { runVeil, scriptAvailable, TerminalSession, VEIL_BIN } from './helpers/cli-run.js';
import { deleteRedisPrefix, SHARED_REDIS_URL, uniquePrefix } from './helpers/redis-server.js';
import { CookieClient } from './helpers/review-app.js';

const PASSWORD = 'a long first admin passphrase';
const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'veil-setup-'));
  dirs.push(dir);
  return join(dir, 'data');
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const NO_ADMIN_ENV = { VEIL_ADMIN_USERS: '', VEIL_ADMIN_TOKEN: '', VEIL_SESSION_SECRET: '' };

function settingsOf(dir: string) {
  return parseSetupFile(readFileSync(join(dir, 'settings.env'), 'utf8'));
}

describe('veil setup for scripts', () => {
  it('writes the first admin, a session key and an API token to DATA_DIR/settings.env, mode 600', async () => {
    const dir = dataDir();
    const run = await runVeil(['setup', '--user', 'dsl', '--password-stdin'], { stdin: `${PASSWORD}\n`, env: { ...NO_ADMIN_ENV, DATA_DIR: dir } });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(join(dir, 'settings.env'));
    expect(statSync(join(dir, 'settings.env')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
    const values = settingsOf(dir);
    const [name, role, hash] = values.VEIL_ADMIN_USERS!.split(/:(.*?):(.*)/s).filter(Boolean);
    expect([name, role]).toEqual(['dsl', 'admin']);
    expect(await verifyPassword(PASSWORD, hash!)).toBe(true);
    expect(values.VEIL_SESSION_SECRET!.length).toBeGreaterThanOrEqual(32);
    expect(values.VEIL_ADMIN_TOKEN!.length).toBeGreaterThanOrEqual(24);
    // Secrets stay in the file: nothing of them is printed.
    expect(run.stdout).not.toContain(values.VEIL_ADMIN_TOKEN);
    expect(run.stdout).not.toContain(values.VEIL_SESSION_SECRET);
    expect(run.stdout).not.toContain(PASSWORD);
    // What `veil start` will load from it.
    const config = loadConfig(withSetupFile({ DATA_DIR: dir }).env);
    expect(config.admin.users.map((u) => [u.name, u.role])).toEqual([['dsl', 'admin']]);
    expect(config.admin.token).toBe(values.VEIL_ADMIN_TOKEN);
    expect(config.admin.sessionSecret).toBe(values.VEIL_SESSION_SECRET);
  });

  it('run again: adds a second admin and changes a password, keeping the key and token', async () => {
    const dir = dataDir();
    const env = { ...NO_ADMIN_ENV, DATA_DIR: dir };
    expect((await runVeil(['setup', '--user', 'dsl', '--password', PASSWORD], { env })).status).toBe(0);
    const first = settingsOf(dir);
    expect((await runVeil(['setup', '--user', 'head', '--password', 'the head teacher passphrase'], { env })).status).toBe(0);
    const changed = await runVeil(['setup', '--user', 'dsl', '--password-stdin'], { env, stdin: 'a different passphrase now\n' });
    expect(changed.stdout).toMatch(/Changed the password of the admin "dsl"/);
    const after = settingsOf(dir);
    expect(after.VEIL_SESSION_SECRET).toBe(first.VEIL_SESSION_SECRET);
    expect(after.VEIL_ADMIN_TOKEN).toBe(first.VEIL_ADMIN_TOKEN);
    const users = loadConfig(withSetupFile({ DATA_DIR: dir }).env).admin.users;
    expect(users.map((u) => u.name)).toEqual(['head', 'dsl']);
    expect(await verifyPassword('a different passphrase now', users[1]!.hash)).toBe(true);
    expect(await verifyPassword(PASSWORD, users[1]!.hash)).toBe(false);
  });

  it('refuses short passwords and a missing terminal with a clear line, writing nothing', async () => {
    const dir = dataDir();
    const env = { ...NO_ADMIN_ENV, DATA_DIR: dir };
    const short = await runVeil(['setup', '--user', 'dsl', '--password-stdin'], { env, stdin: 'short\n' });
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/at least 12 characters/);
    const noTerminal = await runVeil(['setup'], { env });
    expect(noTerminal.status).toBe(2);
    expect(noTerminal.stderr).toMatch(/no terminal.*--user NAME and --password-stdin/);
    expect(() => statSync(join(dir, 'settings.env'))).toThrow();
  });

  it('environment variables win over the file, and a file others can read is refused', async () => {
    const dir = dataDir();
    expect((await runVeil(['setup', '--user', 'dsl', '--password', PASSWORD], { env: { ...NO_ADMIN_ENV, DATA_DIR: dir } })).status).toBe(0);
    const token = 'a-token-from-the-environment-0123456789';
    expect(loadConfig(withSetupFile({ DATA_DIR: dir, VEIL_ADMIN_TOKEN: token }).env).admin.token).toBe(token);
    chmodSync(join(dir, 'settings.env'), 0o644);
    expect(() => withSetupFile({ DATA_DIR: dir })).toThrow(ConfigError);
    expect(() => withSetupFile({ DATA_DIR: dir })).toThrow(/chmod 600/);
    writeFileSync(join(dir, 'settings.env'), "UPSTREAM_URL='http://x'\n", { mode: 0o600 });
    chmodSync(join(dir, 'settings.env'), 0o600);
    expect(() => withSetupFile({ DATA_DIR: dir })).toThrow(/does not belong here/);
  });
});

describe.skipIf(!scriptAvailable())('veil setup on a terminal', () => {
  it('asks for the name and the password twice, showing the name but not the password', async () => {
    const dir = dataDir();
    const term = new TerminalSession(`${process.execPath} ${VEIL_BIN} setup`, { ...NO_ADMIN_ENV, DATA_DIR: dir });
    try {
      await term.waitFor('Admin user name [admin]: ');
      term.type('dsl\r');
      await term.waitFor('Password for dsl: ');
      term.type(`${PASSWORD}\r`);
      await term.waitFor('Same password again: ');
      term.type(`${PASSWORD}\r`);
      expect(await term.exit()).toBe(0);
      expect(term.screen).toContain('dsl'); // the name is echoed as typed
      expect(term.screen).not.toContain('passphrase');
      const hash = settingsOf(dir).VEIL_ADMIN_USERS!.replace(/^dsl:admin:/, '');
      expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    } finally {
      term.kill();
    }
  });
});

describe('veil start after veil setup', () => {
  let veil: ChildProcess | undefined;
  const prefix = uniquePrefix('setup');
  afterAll(async () => {
    if (veil && veil.exitCode === null) {
      const gone = new Promise((r) => veil!.once('exit', r));
      veil.kill('SIGTERM');
      await gone;
    }
    await deleteRedisPrefix(SHARED_REDIS_URL, prefix).catch(() => 0);
  });

  it('says where things are, and the admin from setup can sign in and read the metrics', async () => {
    const dir = dataDir();
    const env = { ...NO_ADMIN_ENV, DATA_DIR: dir };
    expect((await runVeil(['setup', '--user', 'dsl', '--password-stdin'], { env, stdin: `${PASSWORD}\n` })).status).toBe(0);

    veil = spawn(process.execPath, [VEIL_BIN, 'start'], {
      env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', REDIS_URL: SHARED_REDIS_URL, REDIS_PREFIX: prefix, UPSTREAM_URL: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    veil.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    veil.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<void>((resolve) => veil!.once('exit', () => resolve()));
    const started = new Promise<void>((resolve) => {
      const check = () => { if (/Sign in as/.test(out)) resolve(); };
      veil!.stdout!.on('data', check);
    });
    await Promise.race([started, exited.then(() => { throw new Error(`veil start exited:\n${out}\n${err}`); })]);

    const url = /Veil is running at (http:\/\/\S+)/.exec(out)![1]!;
    for (const path of ['/_veil/review', '/_veil/audit', '/_veil/login', '/_veil/health', '/_veil/metrics', '/_veil/queues']) {
      expect(out).toContain(`${url}${path}`);
    }
    expect(out).toContain('Sign in as dsl (admin)');
    expect(err).not.toMatch(/VEIL_SESSION_SECRET is not set/);

    const browser = new CookieClient({ request: (input, init) => fetch(input, { ...init, redirect: 'manual' }) }, url);
    expect((await browser.get('/_veil/metrics')).status).toBe(401);
    const wrong = await browser.login('dsl', 'not the password at all');
    expect(wrong.status).toBe(401);
    const signedIn = await browser.login('dsl', PASSWORD);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/_veil/review');
    const queue = await browser.get('/_veil/review');
    expect(queue.status).toBe(200);
    expect(await queue.text()).toContain('dsl');
    // A signed-in admin reads the metrics without the bearer token.
    const metrics = await browser.get('/_veil/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# HELP /m);
    expect((await browser.get('/_veil/metrics', { authorization: 'Bearer not-the-token-0123456789' })).status).toBe(401);
    // Bull Board offers a way back to the review queue.
    const board = await browser.get('/_veil/queues');
    expect(board.status).toBe(200);
    expect(await board.text()).toMatch(/Back to the review queue[^]*\/_veil\/review|\/_veil\/review[^]*Back to the review queue/);
    // And the generated token works for scripts.
    const token = settingsOf(dir).VEIL_ADMIN_TOKEN!;
    expect((await fetch(`${url}/_veil/api/review`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('without setup, the banner says to run veil setup', async () => {
    const dir = dataDir();
    const child = spawn(process.execPath, [VEIL_BIN, 'start'], {
      env: { ...process.env, ...NO_ADMIN_ENV, DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', REDIS_URL: SHARED_REDIS_URL, REDIS_PREFIX: prefix, UPSTREAM_URL: '', LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (/veil setup/.test(out)) resolve(); }));
    expect(out).toMatch(/Nobody can sign in yet: .*run "veil setup"/);
    child.kill('SIGTERM');
    await exited;
  });
});
