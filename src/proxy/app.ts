import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono, type MiddlewareHandler } from 'hono';
import { ghostAdapter } from './cms/ghost.js';
import { multipartAdapter } from './cms/multipart.js';
import { rawBodyAdapter } from './cms/raw-body.js';
import type { CmsAdapter, UploadMatch } from './cms/types.js';
import { wordpressAdapter } from './cms/wordpress.js';
import { createNodeForwarder } from './forward.js';
import { clientAddress } from './headers.js';
import { interceptUpload } from './intercept.js';
import type { ForwardHints, Forwarder, ProxyLimits, SanitiseUpload, UploadContext, UploadEvent } from './types.js';

export interface ProxyOptions {
  /** The CMS: everything not reserved for Veil goes there. */
  upstream: URL | string;
  /** The sanitising step (in Veil: the queue-backed ingest). */
  sanitise: SanitiseUpload;
  /** A private folder for request bodies being parsed (they may hold unsanitised photos). */
  spoolDir: string;
  /** Defaults to node:http forwarding to `upstream`; the edge passes a fetch-based one. */
  forwarder?: Forwarder;
  limits?: Partial<ProxyLimits>;
  /** CMS-specific adapters, most specific first; the generic multipart and raw-body ones are always appended. */
  adapters?: CmsAdapter[];
  /** Believe X-Forwarded-* from the peer (only when Veil sits behind a proxy you run). */
  trustProxy?: boolean;
  /** Paths Veil keeps for itself (admin routes); never forwarded. Default `/_veil/`. */
  reservedPrefix?: string;
  /** Called once per intercepted upload (carrying an image, or refused), for logs and metrics. */
  onUpload?: (event: UploadEvent) => void;
  /** Client address where no Node socket exists (the edge: e.g. CF-Connecting-IP). */
  clientIp?: (req: Request) => string | undefined;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  maxBodyBytes: 2 * 1024 * 1024 * 1024,
  uploadTimeoutMs: 120_000,
};

export const DEFAULT_ADAPTERS: readonly CmsAdapter[] = [wordpressAdapter, ghostAdapter];

/** The catch-all: upload interception for requests with a body, pass-through for everything else. */
export function createProxyHandler(options: ProxyOptions): MiddlewareHandler {
  const upstream = new URL(options.upstream);
  const forwarder = options.forwarder ?? createNodeForwarder(upstream, { trustProxy: options.trustProxy });
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const adapters = withGenericAdapters(options.adapters ?? DEFAULT_ADAPTERS);
  const reserved = options.reservedPrefix ?? '/_veil/';

  return async (c, next) => {
    const req = c.req.raw;
    const url = new URL(req.url);
    if (isReserved(url.pathname, reserved)) {
      await next();
      return;
    }
    const node = nodeBindings(c.env);
    const peer = node?.incoming.socket.remoteAddress ?? options.clientIp?.(req);
    const hints: ForwardHints = { rawTarget: node?.incoming.url, clientIp: peer, protocol: clientProtocol(node?.incoming, url), signal: req.signal };
    const forward = (outgoing: Request): Promise<Response> => forwarder(outgoing, hints);

    const claim = hasBodyToInspect(req, Boolean(node)) ? firstClaim(adapters, req, url) : undefined;
    let res: Response;
    if (!claim) {
      res = await forward(req);
    } else {
      const { adapter, match } = claim;
      const ctx: UploadContext = {
        cms: adapter.name,
        method: req.method,
        path: url.pathname,
        clientIp: clientAddress(peer, req.headers, options.trustProxy),
        user: match.user,
      };
      res = await interceptUpload(req, url, match, ctx, { sanitise: options.sanitise, forward, limits, spoolDir: options.spoolDir, onUpload: options.onUpload });
    }
    keepStatusText(node?.outgoing, res);
    return res;
  };
}

/** A Hono app with only the proxy; the lead's src/app.ts may instead mount createProxyHandler beside admin routes. */
export function createProxyApp(options: ProxyOptions): Hono {
  const app = new Hono();
  app.all('*', createProxyHandler(options));
  return app;
}

function withGenericAdapters(adapters: readonly CmsAdapter[]): CmsAdapter[] {
  const list = adapters.filter((adapter) => adapter !== multipartAdapter && adapter !== rawBodyAdapter);
  // Fail closed: whatever a site configures, an upload no specific adapter knows is still inspected.
  return [...list, multipartAdapter, rawBodyAdapter];
}

function firstClaim(adapters: CmsAdapter[], req: Request, url: URL): { adapter: CmsAdapter; match: UploadMatch } | undefined {
  for (const adapter of adapters) {
    const match = adapter.match(req, url);
    if (match) return { adapter, match };
  }
  return undefined;
}

function clientProtocol(incoming: IncomingMessage | undefined, url: URL): 'http' | 'https' {
  if (incoming) return (incoming.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return url.protocol === 'https:' ? 'https' : 'http';
}

function isReserved(pathname: string, prefix: string): boolean {
  return pathname.startsWith(prefix) || pathname === prefix.replace(/\/+$/, '');
}

/**
 * Bodies are inspected whenever HTTP/1.1 framing says there is one (GET and HEAD bodies have no
 * meaning and are not forwarded). A Web Request without framing headers (the edge) counts when it
 * has a stream; a Node request without them has no body.
 */
function hasBodyToInspect(req: Request, fromNodeSocket: boolean): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || !req.body) return false;
  const length = req.headers.get('content-length');
  if (length !== null) return length.trim() !== '0';
  return req.headers.has('transfer-encoding') || !fromNodeSocket;
}

function nodeBindings(env: unknown): { incoming: IncomingMessage; outgoing: ServerResponse } | undefined {
  const bindings = env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
  return bindings?.incoming?.socket && bindings.outgoing ? { incoming: bindings.incoming, outgoing: bindings.outgoing } : undefined;
}

/** @hono/node-server writes only the status code; the CMS's own reason phrase is kept this way. */
function keepStatusText(outgoing: ServerResponse | undefined, res: Response): void {
  if (outgoing && !outgoing.headersSent && res.statusText) outgoing.statusMessage = res.statusText;
}
