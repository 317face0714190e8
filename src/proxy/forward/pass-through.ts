import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { findHiddenPicture } from '../inspect/hidden-pictures.js';
import { QUERY_PICTURE_MIN } from '../proxy-core.js';
import { BAD_GATEWAY_HEADERS, badGatewayText } from './bad-gateway.js';
import { describeNetworkError } from './forward.js';
import { hopByHopNames } from './headers.js';

/**
 * Takes a request straight from node:http when it is a plain pass-through; answers false (and
 * leaves the request untouched) for anything the Hono app must see.
 */
export type PassThrough = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface PassThroughOptions {
  upstream: URL;
  trustProxy?: boolean;
  /** Paths Veil keeps for itself; default `/_veil/`. */
  reservedPrefix?: string;
  agent?: http.Agent;
}

// The same tests @hono/node-server applies before it uses a request-target and Host as they are:
// a request passing them has the URL the Hono path would build, unnormalised, so the reserved
// prefix and the hidden-picture check see exactly what they would see there.
const PLAIN_TARGET = /^\/[!#$&-;=?-[\]_a-z~]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/;
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

const HOP_BY_HOP = hopByHopNames(null);
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * Pass-through in plain node:http: a request with no body that no adapter could claim, outside
 * Veil's own paths, goes to the CMS over a keep-alive pool and its answer is piped back, with no
 * Web Request, Response or stream built on the way. Headers follow the rules of forward.ts and
 * headers.ts (hop-by-hop dropped both ways, X-Forwarded-* set, the client's Host kept), errors
 * become the same 502s, a visitor who leaves aborts the request to the CMS, and a slow visitor
 * slows the reading of the CMS's answer (pipe's backpressure).
 *
 * Requests with a body, and anything else the Hono path decides about, are declined: upload
 * inspection stays where it is, fail-closed. The edge (no node:http) never uses this.
 */
export function createPassThrough(options: PassThroughOptions): PassThrough {
  const { upstream, trustProxy = false } = options;
  const transport = upstream.protocol === 'https:' ? https : http;
  const agent = options.agent ?? new (upstream.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, scheduling: 'lifo' });
  const reserved = (options.reservedPrefix ?? '/_veil/').replace(/\/+$/, '');
  const base = upstream.pathname.replace(/\/+$/, '');
  const hostname = upstream.hostname.replace(/^\[|\]$/g, '');
  const port = upstream.port || undefined;
  const servername = upstream.protocol === 'https:' ? upstream.hostname : undefined;

  return (req, res) => {
    const target = req.url ?? '';
    const headers = passableRequest(req, target, reserved, trustProxy);
    if (!headers) return false;
    const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    setForwarded(headers.out, headers, req.socket.remoteAddress, protocol, trustProxy);
    // GET and HEAD bodies mean nothing and are not sent; a zero Content-Length on others is kept.
    if (req.method === 'GET' || req.method === 'HEAD') delete headers.out['content-length'];
    const request: https.RequestOptions = { hostname, port, method: req.method, path: base + target, headers: headers.out, agent, setHost: false, servername };
    exchange(transport, request, req, res, true);
    return true;
  };
}

interface ClientHeaders {
  out: OutgoingHttpHeaders;
  host: string;
  forwardedFor: string | undefined;
  forwardedProto: string | undefined;
  forwardedHost: string | undefined;
}

/** The headers for the CMS when `req` is a plain pass-through; undefined when Hono must decide. */
function passableRequest(req: IncomingMessage, target: string, reserved: string, trustProxy: boolean): ClientHeaders | undefined {
  if (req.method === 'CONNECT' || !PLAIN_TARGET.test(target) || DOT_SEGMENT.test(target)) return undefined;
  if (target.startsWith(reserved)) return undefined;
  const raw = req.rawHeaders;
  let connection: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // A body of any length, or framing Veil would have to interpret: the Hono path inspects it.
    if (name === 'transfer-encoding') return undefined;
    if (name === 'content-length' && raw[i + 1]!.trim() !== '0') return undefined;
    if (name === 'connection') connection = connection === undefined ? raw[i + 1]! : `${connection}, ${raw[i + 1]!}`;
    else if (name === 'host') {
      // Two Host headers: not plain; Hono's path joins and judges them.
      if (host !== undefined) return undefined;
      host = raw[i + 1]!;
    }
  }
  if (host === undefined || !PLAIN_HOST.test(host)) return undefined;
  // A picture may ride in a long request-target: the Hono path looks and refuses it there.
  if (target.length >= QUERY_PICTURE_MIN) {
    const hash = target.indexOf('#');
    if (findHiddenPicture(Buffer.from(hash === -1 ? target : target.slice(0, hash), 'latin1'))) return undefined;
  }
  const drop = connection === undefined ? HOP_BY_HOP : hopByHopNames(connection);
  const out: OutgoingHttpHeaders = { host };
  const found: ClientHeaders = { out, host, forwardedFor: undefined, forwardedProto: undefined, forwardedHost: undefined };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.has(name) || name === 'host' || name === 'expect') continue;
    // Repeats are joined with ", ", as a Web Headers object joins them on the Hono path.
    const value = raw[i + 1]!;
    if (name === 'x-forwarded-for') found.forwardedFor = joined(found.forwardedFor, value);
    else if (name === 'x-forwarded-proto') found.forwardedProto = joined(found.forwardedProto, value);
    else if (name === 'x-forwarded-host') found.forwardedHost = joined(found.forwardedHost, value);
    else if (trustProxy || (name !== 'forwarded' && name !== 'x-real-ip')) {
      const previous = out[name];
      out[name] = previous === undefined ? value : `${String(previous)}, ${value}`;
    }
  }
  return found;
}

function joined(previous: string | undefined, value: string): string {
  return previous === undefined ? value : `${previous}, ${value}`;
}

/**
 * setForwardedHeaders (headers.ts) on a plain object: the client's own X-Forwarded-*, Forwarded and
 * X-Real-IP count only behind a proxy Veil trusts. Expect was answered by Node already.
 */
function setForwarded(out: OutgoingHttpHeaders, from: ClientHeaders, clientIp: string | undefined, protocol: 'http' | 'https', trustProxy: boolean): void {
  const incomingFor = trustProxy ? from.forwardedFor : undefined;
  const chain = [incomingFor, clientIp].filter((part): part is string => Boolean(part));
  if (chain.length > 0) out['x-forwarded-for'] = chain.join(', ');
  out['x-forwarded-proto'] = (trustProxy ? from.forwardedProto : undefined) ?? protocol;
  const host = (trustProxy ? from.forwardedHost : undefined) ?? from.host;
  if (host) out['x-forwarded-host'] = host;
}

/**
 * One try at the CMS. A kept-alive connection the CMS closed just as it was reused is tried once
 * more (no body was sent, so nothing is repeated), as forward.ts does.
 */
function exchange(transport: typeof http | typeof https, request: https.RequestOptions, req: IncomingMessage, res: ServerResponse, mayRetry: boolean): void {
  const outgoing = transport.request(request);
  let incoming: IncomingMessage | undefined;
  let upstreamEnded = false;
  let retried = false;

  const onClientClose = (): void => {
    // The visitor left before the whole answer was written: stop the CMS's work, unless its
    // answer already ended (then its connection went back to the pool; leave it be).
    if (!res.writableFinished && !upstreamEnded) outgoing.destroy();
  };
  res.once('close', onClientClose);

  outgoing.on('error', (err: NodeJS.ErrnoException) => {
    if (incoming) {
      // Cut mid-answer: the head is on its way to the visitor, so the answer can only be cut too.
      if (!res.writableFinished) res.destroy();
      return;
    }
    if (res.destroyed || res.writableEnded) return;
    if (mayRetry && outgoing.reusedSocket && err.code === 'ECONNRESET') {
      retried = true;
      res.off('close', onClientClose);
      exchange(transport, request, req, res, false);
      return;
    }
    answerBadGateway(res, describeNetworkError(err));
  });

  outgoing.once('response', (answer: IncomingMessage) => {
    incoming = answer;
    if (retried || res.destroyed) {
      answer.destroy();
      return;
    }
    answer.on('error', () => {
      if (!res.writableFinished) res.destroy();
    });
    answer.once('end', () => {
      upstreamEnded = true;
    });
    answer.once('close', () => {
      // Closed before its end: the CMS cut the answer; the visitor's copy is cut as well.
      if (!upstreamEnded && !res.writableFinished) res.destroy();
    });
    const status = answer.statusCode ?? 502;
    try {
      res.writeHead(status, answer.statusMessage, answerHeaders(answer));
    } catch (err) {
      answer.destroy();
      if (!res.headersSent) answerBadGateway(res, `the website's server sent an answer Veil cannot pass on (${(err as Error).message})`);
      else res.destroy();
      return;
    }
    if (req.method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
      answer.resume();
      res.end();
      return;
    }
    answer.pipe(res);
  });

  outgoing.end();
}

/** The CMS's headers without hop-by-hop ones, as raw name/value pairs (repeats such as Set-Cookie kept apart). */
function answerHeaders(answer: IncomingMessage): string[] {
  const raw = answer.rawHeaders;
  const connection = answer.headers.connection;
  const drop = connection === undefined ? HOP_BY_HOP : hopByHopNames(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (!drop.has(name.toLowerCase())) out.push(name, raw[i + 1]!);
  }
  return out;
}

function answerBadGateway(res: ServerResponse, reason: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = badGatewayText(reason);
  res.writeHead(502, { ...BAD_GATEWAY_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
