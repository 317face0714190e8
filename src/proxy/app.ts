import type { ServerResponse } from 'node:http';
import { Readable, pipeline } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type MiddlewareHandler } from 'hono';
import { createNodeForwarder } from './forward/forward.js';
import { createProxyCore, type ProxyCoreOptions } from './proxy-core.js';
import { diskSpoolFactory } from './spool/spool-disk.js';
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
  const proxy = createProxyCore({
    ...core,
    forwarder: forwarder ?? createNodeForwarder(upstreamUrl, { trustProxy: options.trustProxy }),
    spool: diskSpoolFactory(spoolDir),
  });
  return async (c, next) => {
    const res = await proxy(c, next);
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    return res && res.body && outgoing ? streamToNode(res, outgoing) : res;
  };
}

/**
 * Writes an answer with a body straight to Node's response. @hono/node-server, to work out a
 * Content-Length, waits a timer tick whenever a body's second chunk is not there yet: about
 * 1.3 ms on every page passed through. The CMS's own framing headers say all that is needed.
 */
function streamToNode(res: Response, outgoing: ServerResponse): Response {
  outgoing.statusCode = res.status;
  if (res.statusText) outgoing.statusMessage = res.statusText;
  for (const [name, value] of res.headers) if (name !== 'set-cookie') outgoing.setHeader(name, value);
  const cookies = res.headers.getSetCookie();
  if (cookies.length > 0) outgoing.setHeader('set-cookie', cookies);
  pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), outgoing, () => {
    // An upstream or client failure mid-answer: pipeline has already destroyed both ends.
  });
  return RESPONSE_ALREADY_SENT;
}

/** A Hono app with only the proxy; the lead's src/app.ts may instead mount createProxyHandler beside admin routes. */
export function createProxyApp(options: ProxyOptions): Hono {
  const app = new Hono();
  app.all('*', createProxyHandler(options));
  return app;
}
