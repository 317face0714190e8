import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createPassThrough, type PassThrough } from './forward/pass-through.js';
import type { ProxyOptions } from './app.js';

type Fetch = Parameters<typeof getRequestListener>[0];

/**
 * The HTTP server Veil listens with on Node: plain pass-through requests go straight to the CMS
 * (forward/pass-through.ts), everything else to the Hono app (Veil's own routes, uploads).
 */
export function createNodeServer(fetch: Fetch, passThrough?: PassThrough): http.Server {
  const hono = getRequestListener(fetch);
  if (!passThrough) return http.createServer(hono);
  return http.createServer((req, res) => {
    if (!passThrough(req, res)) void hono(req, res);
  });
}

/**
 * The pass-through for a proxy built with these options; none when a forwarder of its own is
 * given (the demo site, tests): then every request keeps to the Hono path and that forwarder.
 */
export function proxyPassThrough(options: Pick<ProxyOptions, 'upstream' | 'forwarder' | 'trustProxy' | 'reservedPrefix'>): PassThrough | undefined {
  if (options.forwarder) return undefined;
  return createPassThrough({ upstream: new URL(options.upstream), trustProxy: options.trustProxy ?? false, reservedPrefix: options.reservedPrefix });
}
