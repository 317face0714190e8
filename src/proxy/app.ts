import { Hono, type MiddlewareHandler } from 'hono';
import { createNodeForwarder } from './forward.js';
import { createProxyCore, type ProxyCoreOptions } from './proxy-core.js';
import { diskSpoolFactory } from './spool-disk.js';
import type { Forwarder } from './types.js';

export { DEFAULT_ADAPTERS, DEFAULT_LIMITS } from './proxy-core.js';

/** The Node proxy's options: the core's, with node:http forwarding and a disk spool chosen here. */
export interface ProxyOptions extends Omit<ProxyCoreOptions, 'forwarder' | 'spool'> {
  /** The CMS: everything not reserved for Veil goes there. */
  upstream: URL | string;
  /** A private folder for request bodies being parsed (they may hold unsanitised photos). */
  spoolDir: string;
  /** Defaults to node:http forwarding to `upstream`; the edge uses createProxyCore with a fetch-based one. */
  forwarder?: Forwarder;
}

/** The catch-all on Node: upload interception for requests with a body, pass-through for everything else. */
export function createProxyHandler(options: ProxyOptions): MiddlewareHandler {
  const { upstream, spoolDir, forwarder, ...core } = options;
  const upstreamUrl = new URL(upstream);
  return createProxyCore({
    ...core,
    forwarder: forwarder ?? createNodeForwarder(upstreamUrl, { trustProxy: options.trustProxy }),
    spool: diskSpoolFactory(spoolDir),
  });
}

/** A Hono app with only the proxy; the lead's src/app.ts may instead mount createProxyHandler beside admin routes. */
export function createProxyApp(options: ProxyOptions): Hono {
  const app = new Hono();
  app.all('*', createProxyHandler(options));
  return app;
}
