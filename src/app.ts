import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import type { Config } from './config.js';
import { createDemoRoutes } from './demo/routes.js';
import type { DemoSite } from './demo/site.js';
import type { Logger } from './ops/log.js';
import type { Metrics } from './ops/metrics.js';
import { createProxyHandler } from './proxy/index.js';
import type { SanitiseUpload, UploadEvent } from './proxy/types.js';
import type { ObjectStore } from './storage/object-store.js';

export interface HealthCheck {
  name: string;
  /** Resolves when the part works; rejects with the reason otherwise. */
  check(): Promise<void>;
}

export interface AppDeps {
  config: Config;
  store: ObjectStore;
  sanitise: SanitiseUpload;
  metrics: Metrics;
  logger: Logger;
  health: HealthCheck[];
  /** Queue depth for /_veil/metrics. */
  queueCounts?: () => Promise<Record<string, number>>;
  /** The demo site, when no UPSTREAM_URL is set. */
  demo?: DemoSite;
  /** Admin routes (review queue, audit, login), mounted at /_veil; they keep their own Env type. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  admin?: Hono<any>;
  /** Extra routes under /_veil (e.g. the edge's ingest endpoint). */
  veilRoutes?: Hono[];
  /** True when the request carries a signed-in admin's session (the review system's sign-in). */
  isSignedInAdmin?: (c: Context) => boolean;
}

/**
 * The whole HTTP surface: Veil's own routes under /_veil/, then every other request through the
 * proxy (upload interception or untouched pass-through).
 */
export function createApp(deps: AppDeps): Hono {
  const { config, metrics, logger } = deps;
  const app = new Hono();

  app.get('/_veil/health', async (c) => {
    const results = await Promise.all(
      deps.health.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), 3000);
          return [name, { ok: true }] as const;
        } catch (err) {
          return [name, { ok: false, reason: err instanceof Error ? err.message : String(err) }] as const;
        }
      }),
    );
    const ok = results.every(([, r]) => r.ok);
    return c.json({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) }, ok ? 200 : 503);
  });

  app.get('/_veil/metrics', async (c) => {
    // As in the admin API, a wrong bearer token is not rescued by a session cookie.
    const signedIn = c.req.header('authorization') === undefined && Boolean(deps.isSignedInAdmin?.(c));
    if (!signedIn && !metricsAllowed(c.req.raw, c.env, config.admin.token)) {
      return c.text('Metrics need an admin signed in at /_veil/login, or Authorization: Bearer $VEIL_ADMIN_TOKEN (or a request from this machine when no token is set).', 401);
    }
    if (deps.queueCounts) {
      const counts = await deps.queueCounts().catch(() => ({}) as Record<string, number>);
      for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ state }, n);
    }
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  for (const routes of deps.veilRoutes ?? []) app.route('/_veil', routes);
  if (deps.demo) app.route('/_veil/demo', createDemoRoutes(deps.store, deps.demo, isLoopbackClient));
  if (deps.admin) app.route('/_veil', deps.admin);
  app.all('/_veil/*', (c) => c.json({ error: { code: 'NOT_FOUND', message: `No Veil page at ${new URL(c.req.url).pathname}.` } }, 404));

  app.all(
    '*',
    createProxyHandler({
      upstream: config.upstreamUrl ?? 'http://demo.veil.invalid/',
      ...(deps.demo ? { forwarder: deps.demo.forwarder } : {}),
      sanitise: deps.sanitise,
      spoolDir: `${config.dataDir}/spool`,
      limits: {
        maxUploadBytes: config.limits.maxUploadBytes,
        maxBodyBytes: config.limits.maxBodyBytes,
        uploadTimeoutMs: config.limits.uploadTimeoutMs,
      },
      trustProxy: config.trustProxy,
      onUpload: (event) => recordUpload(event, metrics, logger),
    }),
  );
  return app;
}

function recordUpload(event: UploadEvent, metrics: Metrics, logger: Logger): void {
  metrics.uploads.inc({ outcome: event.result, code: event.error?.code ?? '' });
  const fields = {
    uploadIds: event.uploadIds,
    // The adapter that claimed it names the route; the path may carry the file's name (REST, WebDAV).
    route: event.cms,
    method: event.method,
    result: event.result,
    images: event.images,
    upstreamStatus: event.upstreamStatus,
    durationMs: Math.round(event.durationMs),
    ...(event.error ? { code: event.error.code, error: event.error.message } : {}),
  };
  if (event.result === 'refused') logger.warn('upload refused', fields);
  else logger.info(`upload ${event.result}`, fields);
}

function metricsAllowed(req: Request, env: unknown, token: string | null): boolean {
  if (token) {
    const given = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1] ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }
  return isLoopbackClient(req, env);
}

/** True when the TCP peer is this machine (not what any header claims). */
export function isLoopbackClient(_req: Request, env: unknown): boolean {
  const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const peer = incoming?.socket?.remoteAddress ?? '';
  return peer === '127.0.0.1' || peer === '::1' || peer === '::ffff:127.0.0.1';
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
