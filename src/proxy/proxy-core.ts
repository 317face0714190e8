import { Hono, type MiddlewareHandler } from 'hono';
import { ghostAdapter } from './cms/ghost.js';
import { dokuwikiAdapter } from './cms/dokuwiki.js';
import { joomlaAdapter } from './cms/joomla.js';
import { mediawikiAdapter } from './cms/mediawiki.js';
import { ChunkAssemblies, DEFAULT_ASSEMBLY_IDLE_MS } from './chunks/index.js';
import { multipartAdapter } from './cms/multipart.js';
import { multipartOtherAdapter } from './cms/multipart-other.js';
import { rawBodyAdapter } from './cms/raw-body.js';
import { textBodyAdapter } from './cms/text-body.js';
import type { CmsAdapter, UploadMatch } from './cms/types.js';
import { wordpressAdapter } from './cms/wordpress.js';
import { clientAddress } from './forward/headers.js';
import { interceptUpload } from './intercept.js';
import { findHiddenPicture } from './inspect/hidden-pictures.js';
import { hiddenPicture } from './upload-errors.js';
import { genericAnswer } from './cms/answers.js';
import type { SpoolFactory } from './spool/spool.js';
import type { ForwardHints, Forwarder, ProxyLimits, SanitiseUpload, UploadContext, UploadEvent } from './types.js';

/**
 * The proxy with its platform parts given rather than chosen: how requests reach the CMS
 * (`forwarder`) and where multipart bodies are kept while parsed (`spool`). Node's entry point
 * (app.ts) passes node:http and a disk spool; the Cloudflare Worker (src/edge/) passes fetch and a
 * memory spool. This module and everything it imports must run in both.
 */
export interface ProxyCoreOptions {
  /** The sanitising step (in Veil: the queue-backed ingest; at the edge: a call to it). */
  sanitise: SanitiseUpload;
  forwarder: Forwarder;
  spool: SpoolFactory;
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

/** Shorter paths and query strings cannot carry a picture with anything in it worth hiding. */
export const QUERY_PICTURE_MIN = 96;

export const DEFAULT_LIMITS: ProxyLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  maxBodyBytes: 2 * 1024 * 1024 * 1024,
  uploadTimeoutMs: 120_000,
};

export const DEFAULT_ADAPTERS: readonly CmsAdapter[] = [wordpressAdapter, ghostAdapter, joomlaAdapter, mediawikiAdapter, dokuwikiAdapter];

/** What @hono/node-server puts in `c.env`, described by shape so this module needs no node:http. */
interface NodeIncoming {
  url?: string;
  socket: { remoteAddress?: string; encrypted?: boolean };
}
interface NodeOutgoing {
  headersSent: boolean;
  statusMessage: string;
}

/** The catch-all: upload interception for requests with a body, pass-through for everything else. */
export function createProxyCore(options: ProxyCoreOptions): MiddlewareHandler {
  const { forwarder } = options;
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const adapters = withGenericAdapters(options.adapters ?? DEFAULT_ADAPTERS);
  const reserved = options.reservedPrefix ?? '/_veil/';
  const chunks = new ChunkAssemblies(options.spool, {
    maxUploadBytes: limits.maxUploadBytes,
    maxTotalBytes: Math.max(limits.maxBodyBytes, limits.maxUploadBytes),
    maxAssemblies: 100,
    idleMs: DEFAULT_ASSEMBLY_IDLE_MS,
  });

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
    // A rebuilt request whose URL an adapter changed (a file name in the query) goes to that URL,
    // not to the request-target the client sent.
    const forward = (outgoing: Request): Promise<Response> => forwarder(outgoing, outgoing.url === req.url ? hints : { ...hints, rawTarget: undefined });

    const claim = hasBodyToInspect(req, Boolean(node)) ? firstClaim(adapters, req, url) : undefined;
    // A picture can ride in the request target too (a CMS may store any parameter, and PHP apps
    // read PATH_INFO); short targets, which nearly every page view has, cannot hold one.
    const target = url.pathname + url.search;
    if (target.length >= QUERY_PICTURE_MIN && findHiddenPicture(new TextEncoder().encode(target))) {
      const respond = claim?.match.respond ?? genericAnswer;
      return respond({ kind: 'refused', error: hiddenPicture() }, { url, fields: {}, accept: req.headers.get('accept') });
    }
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
      res = await interceptUpload(req, url, match, ctx, { sanitise: options.sanitise, forward, limits, spool: options.spool, onUpload: options.onUpload, chunks });
    }
    keepStatusText(node?.outgoing, res);
    return res;
  };
}

/** A Hono app with only the proxy core. */
export function createProxyCoreApp(options: ProxyCoreOptions): Hono {
  const app = new Hono();
  app.all('*', createProxyCore(options));
  return app;
}

function withGenericAdapters(adapters: readonly CmsAdapter[]): CmsAdapter[] {
  const generic = [multipartAdapter, multipartOtherAdapter, textBodyAdapter, rawBodyAdapter];
  const list = adapters.filter((adapter) => !generic.includes(adapter));
  // Fail closed: whatever a site configures, an upload no specific adapter knows is still inspected.
  return [...list, ...generic];
}

function firstClaim(adapters: CmsAdapter[], req: Request, url: URL): { adapter: CmsAdapter; match: UploadMatch } | undefined {
  for (const adapter of adapters) {
    const match = adapter.match(req, url);
    if (match) return { adapter, match };
  }
  return undefined;
}

function clientProtocol(incoming: NodeIncoming | undefined, url: URL): 'http' | 'https' {
  if (incoming) return incoming.socket.encrypted ? 'https' : 'http';
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

function nodeBindings(env: unknown): { incoming: NodeIncoming; outgoing: NodeOutgoing } | undefined {
  const bindings = env as { incoming?: NodeIncoming; outgoing?: NodeOutgoing } | undefined;
  return bindings?.incoming?.socket && bindings.outgoing ? { incoming: bindings.incoming, outgoing: bindings.outgoing } : undefined;
}

/** @hono/node-server writes only the status code; the CMS's own reason phrase is kept this way. */
function keepStatusText(outgoing: NodeOutgoing | undefined, res: Response): void {
  if (outgoing && !outgoing.headersSent && res.statusText) outgoing.statusMessage = res.statusText;
}
