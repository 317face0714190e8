/**
 * The edge for tests: the real Worker (wrangler.toml, src/edge/worker.ts) in workerd through
 * wrangler's unstable_startWorker, and the Node ingest service on a loopback port. Wrangler runs
 * with metrics, the `cf` object download and update checks off and a private config home, so it
 * contacts nothing outside this machine.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createIngestRoute, type IngestRouteOptions } from '../../src/ingest/http-endpoint.js';

export const EDGE_CONFIG = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));
/** At least 32 characters, as INGEST_SECRET must be. */
export const TEST_INGEST_SECRET = 'test-ingest-secret-0123456789abcdef-edge';

export interface RunningWorker {
  url: URL;
  port: number;
  dispose(): Promise<void>;
}

/**
 * Wrangler's settings and debug logs go to a home of the project's own (.wrangler/ is git-ignored
 * and is where wrangler keeps its build files anyway), never to the user's ~/.config.
 */
const WRANGLER_HOME = fileURLToPath(new URL('../../.wrangler/test-home', import.meta.url));

/** Keeps wrangler off the network and out of the user's settings; set before wrangler is loaded. */
export function quietWranglerEnv(): Record<string, string> {
  mkdirSync(WRANGLER_HOME, { recursive: true, mode: 0o700 });
  const env = { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true', XDG_CONFIG_HOME: WRANGLER_HOME };
  Object.assign(process.env, env);
  return env;
}

/** The Worker in workerd with wrangler.toml's settings, its [vars] replaced by `vars`. */
export async function startEdgeWorker(vars: Record<string, string>, secrets: Record<string, string> = {}): Promise<RunningWorker> {
  quietWranglerEnv();
  const { unstable_startWorker } = await import('wrangler');
  const bindings: Record<string, { type: 'plain_text' | 'secret_text'; value: string }> = {};
  for (const [name, value] of Object.entries(vars)) bindings[name] = { type: 'plain_text', value };
  for (const [name, value] of Object.entries(secrets)) bindings[name] = { type: 'secret_text', value };
  const worker = await unstable_startWorker({
    config: EDGE_CONFIG,
    bindings,
    // No .env or .dev.vars file of the developer's may change what is tested.
    envFiles: [],
    // The CLI derives this from compatibility_flags; the API needs it said (nodejs_compat, date >= 2024-09-23).
    build: { nodejsCompatMode: 'v2' },
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, remote: false, persist: false, watch: false, logLevel: 'warn' },
  });
  try {
    await worker.ready;
    const url = await worker.url;
    return {
      url,
      port: Number(url.port),
      dispose: () => worker.dispose(),
    };
  } catch (err) {
    await worker.dispose().catch(() => undefined);
    throw err;
  }
}

/** One call as the ingest service received it, to replay or tamper with. */
export interface IngestCall {
  headers: Array<[string, string]>;
  body: Buffer;
  status?: number;
}

export interface IngestService {
  url: URL;
  port: number;
  calls: IngestCall[];
  close(): Promise<void>;
}

/** createIngestRoute served by @hono/node-server, mounted at /_veil as src/app.ts mounts it. */
export async function startIngestService(options: IngestRouteOptions): Promise<IngestService> {
  const calls: IngestCall[] = [];
  const app = new Hono();
  app.use('*', async (c, next) => {
    const call: IngestCall = { headers: [...c.req.raw.headers], body: Buffer.from(await c.req.raw.clone().arrayBuffer()) };
    calls.push(call);
    await next();
    call.status = c.res.status;
  });
  app.route('/_veil', createIngestRoute(options));
  const server = await new Promise<http.Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as http.Server)) as http.Server;
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`http://127.0.0.1:${port}/_veil/ingest`),
    port,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback address where nothing listens: a port that was just free. */
export async function unreachableUrl(pathname: string): Promise<URL> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return new URL(`http://127.0.0.1:${port}${pathname}`);
}
