import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/ops/log.js';
import { startVeil, type ExtensionFactory, type Role, type RunningVeil } from '../../src/server.js';
import { deleteRedisPrefix, SHARED_REDIS_URL, uniquePrefix } from './redis-server.js';

export interface TestVeil extends RunningVeil {
  port: number;
  config: Config;
  dataDir: string;
  /** Stops Veil and removes its data folder. */
  close(): Promise<void>;
}

/**
 * The real Veil (proxy, queue, worker threads, store) on a free port, with its own data folder
 * and its own key prefix on the shared Redis unless REDIS_URL is given.
 */
export async function startTestVeil(env: Record<string, string> = {}, role: Role = 'all', extensions?: ExtensionFactory, logger: Logger = silentLogger): Promise<TestVeil> {
  const dataDir = mkdtempSync(join(tmpdir(), 'veil-stack-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_PREFIX: uniquePrefix('stack'),
    UPLOAD_TIMEOUT_MS: '60000',
    ...env,
  });
  const veil = await startVeil(config, role, extensions, logger);
  const port = veil.url ? Number(new URL(veil.url).port) : 0;
  return {
    ...veil,
    port,
    config,
    dataDir,
    async close() {
      await veil.stop();
      rmSync(dataDir, { recursive: true, force: true });
      // The Redis this Veil used may be gone (fault tests stop theirs); its keys went with it.
      await deleteRedisPrefix(config.redis.url, config.redis.prefix).catch(() => 0);
    },
  };
}
