/**
 * Veil on Cloudflare Workers (wrangler.toml `main`). The same Hono routing and CMS adapters as the
 * Node proxy (src/proxy/proxy-core.ts), with the platform parts the edge can have: fetch to
 * ORIGIN_URL, multipart bodies held in memory, and photos sent to the Node service's
 * `/_veil/ingest`, because sharp, ONNX and BullMQ need Node. Admin pages stay on the Node service;
 * the edge answers only `/_veil/health`. Imports nothing Node-only (test/edge-bundle.test.ts).
 */
import { Hono } from 'hono';
import { VeilError } from '../pipeline/errors.js';
import { createFetchForwarder } from '../proxy/forward/forward-fetch.js';
import { createProxyCore } from '../proxy/proxy-core.js';
import { memorySpoolFactory } from '../proxy/spool/spool-memory.js';
import type { SanitiseUpload, UploadEvent } from '../proxy/types.js';
import { readEdgeConfig, type EdgeConfig, type EdgeEnv } from './config.js';
import { createIngestClient } from './ingest-client.js';

export type { EdgeEnv } from './config.js';

/** Built once per isolate and set of bindings, not per request. */
const apps = new WeakMap<object, Hono>();

export default {
  fetch(req: Request, env: EdgeEnv, ctx: unknown): Response | Promise<Response> {
    let app = apps.get(env);
    if (!app) {
      app = createEdgeApp(env);
      apps.set(env, app);
    }
    return app.fetch(req, env, ctx as never);
  },
};

export function createEdgeApp(env: EdgeEnv): Hono {
  const app = new Hono();
  const read = readEdgeConfig(env);

  app.get('/_veil/health', (c) => {
    if (!read.ok) return c.json({ status: 'misconfigured', role: 'edge', problems: read.problems }, 503, noStore);
    const { ingest } = read.config;
    return c.json({ status: ingest.ok ? 'ok' : 'degraded', role: 'edge', uploads: ingest.ok ? 'checked by the Node service' : `refused: ${ingest.problem}` }, 200, noStore);
  });
  app.all('/_veil/*', (c) =>
    c.json({ error: { code: 'NOT_FOUND', message: "Veil's admin pages and API run on the Node service, not at the edge." } }, 404, noStore),
  );

  if (!read.ok) {
    const message = `Veil at the edge is not configured: ${read.problems.join('; ')}. See docs/edge.md.\n`;
    app.all('*', () => new Response(message, { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8', ...noStore } }));
    return app;
  }

  const { config } = read;
  app.all(
    '*',
    createProxyCore({
      sanitise: edgeSanitiser(config),
      forwarder: createFetchForwarder(config.origin),
      spool: memorySpoolFactory(config.limits.maxBodyBytes),
      limits: config.limits,
      // Cloudflare sets this header itself; whatever X-Forwarded-For a visitor sends is a claim.
      clientIp: (req) => req.headers.get('cf-connecting-ip') ?? undefined,
      trustProxy: false,
      onUpload: logUpload,
    }),
  );
  return app;
}

function edgeSanitiser(config: EdgeConfig): SanitiseUpload {
  const { ingest } = config;
  if (ingest.ok) return createIngestClient({ url: ingest.url, secret: ingest.secret });
  const error = new VeilError('INGEST_UNAVAILABLE', `Veil at the edge is not set up to check photos (${ingest.problem}), so the photo was not published.`);
  return async () => ({ kind: 'refused', error });
}

/** One line per intercepted upload, for `wrangler tail` and Workers Logs (no file names: they name pupils). */
function logUpload(event: UploadEvent): void {
  console.log(JSON.stringify({ msg: 'veil upload', ...event }));
}

const noStore = { 'cache-control': 'no-store' };
