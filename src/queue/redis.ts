import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { VeilError } from '../pipeline/errors.js';

export type RedisRole =
  /** The proxy's side: commands fail at once when Redis is down, so an upload fails closed quickly. */
  | 'producer'
  /** Workers and event listeners block on Redis; BullMQ needs them to retry for ever. */
  | 'blocking'
  /** Small counters beside a request (sign-in limits): wait briefly for a connection, then fail. */
  | 'counter';

export function createRedis(url: string, role: RedisRole): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectTimeout: 3000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...(role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
      : role === 'counter'
        ? { maxRetriesPerRequest: 1, commandTimeout: 2000 }
        : { maxRetriesPerRequest: null, enableReadyCheck: false }),
  };
  const redis = new Redis(url, options);
  // Connection errors are reported through health checks and failed uploads; without a listener
  // ioredis would print every reconnect attempt as an unhandled error.
  redis.on('error', () => {});
  return redis;
}

/** Resolves when Redis at `url` answers PING within `timeoutMs`, else rejects. */
export async function pingRedis(url: string, timeoutMs = 1500): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

export interface EnsuredRedis {
  url: string;
  /** Set when Veil started its own redis-server; stop it on shutdown. */
  child?: ChildProcess;
  started: boolean;
}

/**
 * Single-node mode: use the Redis at REDIS_URL; if none answers on this machine and
 * `redis-server` is installed, start a private one that keeps its data under DATA_DIR (so held
 * photos survive a restart); otherwise stop with a message that says how to get Redis.
 */
export async function ensureRedis(url: string, dataDir: string, log: (message: string) => void): Promise<EnsuredRedis> {
  try {
    await pingRedis(url);
    return { url, started: false };
  } catch (err) {
    const target = new URL(url);
    const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(target.hostname);
    const hasServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!local || !hasServer) {
      throw new VeilError(
        'QUEUE_UNAVAILABLE',
        `No Redis answers at ${redact(url)} (${err instanceof Error ? err.message : String(err)}). ` +
          (local
            ? 'Install Redis (Debian/Ubuntu: sudo apt-get install redis-server) and Veil will start a private one, or set REDIS_URL.'
            : 'Check REDIS_URL and that the Redis server is running and reachable.'),
      );
    }
    const dir = join(dataDir, 'redis');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const port = target.port || '6379';
    const child = spawn(
      'redis-server',
      ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '60 1', '--protected-mode', 'yes', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 50; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      if (child.exitCode !== null) break;
      try {
        await pingRedis(url, 500);
        log(`No Redis was running at ${redact(url)}, so Veil started a private one (data in ${dir}).`);
        return { url, child, started: true };
      } catch {
        // not up yet
      }
    }
    child.kill();
    throw new VeilError('QUEUE_UNAVAILABLE', `Veil tried to start redis-server on port ${port} but it did not answer; is the port taken?`);
  }
}

/** A Redis URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an invalid REDIS_URL';
  }
}
