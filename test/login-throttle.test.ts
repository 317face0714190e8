import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { RedisAttemptStore } from '../src/queue/login-attempts.js';
import { createReviewSystem } from '../src/review/index.js';
import { LoginLimiter, MemoryAttemptStore, type LoginAttemptStore } from '../src/review/rate-limit.js';
import { createObjectStore } from '../src/storage/index.js';
import { ADMIN, CookieClient, testUsers } from './helpers/review-app.js';
import { SHARED_REDIS_URL, deleteRedisPrefix, freePort, uniquePrefix } from './helpers/redis-server.js';

const run = promisify(execFile);
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const prefixes: string[] = [];
let redis: Redis;

beforeAll(() => {
  redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(SHARED_REDIS_URL, prefix);
  redis.disconnect();
});

function redisStore(): RedisAttemptStore {
  const prefix = uniquePrefix(`login-${prefixes.length}`);
  prefixes.push(prefix);
  return new RedisAttemptStore(redis, prefix);
}

const stores: Array<[string, () => LoginAttemptStore]> = [
  ['in this process', () => new MemoryAttemptStore()],
  ['in Redis', redisStore],
];

describe.each(stores)('sign-in throttling, counts kept %s', (_where, makeStore) => {
  function limiter(clock: () => number, options = {}) {
    return new LoginLimiter({ store: makeStore(), clock, ...options });
  }

  it('lets a person mistype a few times, then backs off 2, 4, 8 s; the right password works after each wait', async () => {
    let now = 1_800_000_000_000;
    const l = limiter(() => now);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      waits.push(await l.fail('dsl', '192.0.2.10'));
      now += (waits.at(-1) ?? 0) * 1000;
    }
    expect(waits).toEqual([0, 0, 0, 0, 2, 4, 8]);
    expect(await l.retryAfter('dsl', '192.0.2.10')).toBe(0);
    await l.succeed('dsl', '192.0.2.10');
    expect(await l.fail('dsl', '192.0.2.10')).toBe(0); // a success starts the count again
  });

  it('never locks for longer than the cap, and forgets after an hour without failures', async () => {
    let now = 1_800_000_000_000;
    const l = limiter(() => now);
    let wait = 0;
    for (let i = 0; i < 40; i++) wait = await l.fail('dsl', '192.0.2.11');
    expect(wait).toBe(15 * 60);
    now += 15 * 60_000 + 1;
    expect(await l.retryAfter('dsl', '192.0.2.11')).toBe(0);
    now += 60 * 60_000;
    expect(await l.fail('dsl', '192.0.2.11')).toBe(0);
  });

  it('limits a spray of many user names from one address, but not a known person at that address', async () => {
    let now = 1_800_000_000_000;
    const l = limiter(() => now);
    await l.succeed('dsl', '198.51.100.1'); // the DSL signed in from the school's address last week
    const waits: number[] = [];
    for (let i = 0; i < 33; i++) waits.push(await l.fail(`guess${i}`, '198.51.100.1'));
    expect(waits.slice(0, 30).every((w) => w === 0)).toBe(true);
    expect(waits.slice(30)).toEqual([2, 4, 8]);
    expect(await l.retryAfter('another-guess', '198.51.100.1')).toBe(8);
    expect(await l.retryAfter('dsl', '198.51.100.1')).toBe(0);
    now += 1;
    expect(await l.retryAfter('comms', '198.51.100.99')).toBe(0); // other addresses are untouched
  });

  it('limits one account guessed from many addresses, but the owner at a known address still gets in', async () => {
    let now = 1_800_000_000_000;
    const l = limiter(() => now);
    await l.succeed('dsl', '192.0.2.50');
    for (let i = 0; i < 12; i++) await l.fail('dsl', `203.0.113.${i}`);
    expect(await l.retryAfter('dsl', '203.0.113.200')).toBeGreaterThan(0); // a new address must wait
    expect(await l.retryAfter('dsl', '192.0.2.50')).toBe(0);
  });
});

describe('sign-in throttling across processes', () => {
  it('keeps limiting in the process when Redis does not answer, and says so once', async () => {
    const port = await freePort();
    const dead = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    dead.on('error', () => {});
    const errors: unknown[] = [];
    const l = new LoginLimiter({ store: new RedisAttemptStore(dead, 'veil-test-dead') }, (err) => errors.push(err));
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) waits.push(await l.fail('dsl', '192.0.2.1'));
    expect(waits).toEqual([0, 0, 0, 0, 2]);
    expect(await l.retryAfter('dsl', '192.0.2.1')).toBe(2);
    expect(errors.length).toBeGreaterThan(0);
    dead.disconnect();
  });

  it('a lock set by one process holds in another, and Redis holds no names or addresses', async () => {
    const prefix = uniquePrefix('login-xproc');
    prefixes.push(prefix);
    const script = `
      import { Redis } from 'ioredis';
      import { LoginLimiter } from '${path.join(root, 'src/review/rate-limit.ts')}';
      import { RedisAttemptStore } from '${path.join(root, 'src/queue/login-attempts.ts')}';
      const redis = new Redis(process.env.URL);
      const l = new LoginLimiter({ store: new RedisAttemptStore(redis, process.env.PREFIX) });
      let wait = 0;
      for (let i = 0; i < 5; i++) wait = await l.fail('head-teacher', '192.0.2.77');
      console.log(wait);
      redis.disconnect();
    `;
    const child = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, URL: SHARED_REDIS_URL, PREFIX: prefix }, timeout: 60_000 });
    expect(child.stdout.trim()).toBe('2');
    const here = new LoginLimiter({ store: new RedisAttemptStore(redis, prefix) });
    const wait = await here.retryAfter('head-teacher', '192.0.2.77');
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(2);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.length).toBe(3);
    expect(keys.join(' ')).not.toMatch(/head-teacher|192\.0\.2\.77/);
  }, 90_000);

  it('two review systems built from the same settings (two proxies) share one count', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'veil-login-'));
    const users = await testUsers();
    const prefix = uniquePrefix('login-two');
    prefixes.push(prefix);
    const env = {
      STORAGE_DIR: path.join(dir, 'store'),
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_PREFIX: prefix,
      VEIL_ADMIN_USERS: users.map((u) => `${u.name}:${u.role}:${u.hash}`).join('\n'),
      VEIL_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
    };
    const systems = [0, 1].map(() => {
      const config = loadConfig(env);
      const review = createReviewSystem({ config, store: createObjectStore(config), reprocess: async () => { throw new Error('not used'); } });
      const app = new Hono();
      app.route(review.basePath, review.routes);
      return { review, app };
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await new CookieClient(systems[i % 2]!.app).login(ADMIN.name, `wrong ${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401]);
      const other = await new CookieClient(systems[1]!.app).login(ADMIN.name, ADMIN.password);
      expect(other.status).toBe(429);
      expect(await other.text()).toContain('the right password works after that');
    } finally {
      for (const s of systems) s.review.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
