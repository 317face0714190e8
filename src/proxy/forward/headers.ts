/**
 * Header rules shared by every forwarder (node:http here, fetch at the edge), so both treat the
 * CMS the same way.
 */

/** RFC 9110 §7.6.1 connection-specific headers, plus the non-standard ones proxies also drop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Header names that only describe this connection: the fixed list and whatever Connection names. */
export function hopByHopNames(connectionHeader: string | null): Set<string> {
  const names = new Set(HOP_BY_HOP);
  for (const token of (connectionHeader ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

/** A copy of `headers` without hop-by-hop headers, keeping repeated Set-Cookie lines apart. */
export function withoutHopByHop(headers: Headers): Headers {
  const drop = hopByHopNames(headers.get('connection'));
  const out = new Headers();
  for (const [name, value] of headers) {
    if (!drop.has(name)) out.append(name, value);
  }
  return out;
}

export interface ForwardedFrom {
  clientIp?: string;
  protocol: 'http' | 'https';
  /** The Host the client asked for. */
  host?: string;
  /** Only behind a proxy Veil trusts may incoming X-Forwarded-* be believed. */
  trustProxy?: boolean;
}

/**
 * Sets X-Forwarded-For/Proto/Host for the CMS. Without trustProxy, whatever the client sent in
 * X-Forwarded-*, Forwarded or X-Real-IP is discarded: the CMS would otherwise take a client's
 * claim for the proxy's word (logins rate-limited by IP, https detection).
 */
export function setForwardedHeaders(headers: Headers, from: ForwardedFrom): void {
  const incomingFor = from.trustProxy ? headers.get('x-forwarded-for') : null;
  const incomingProto = from.trustProxy ? headers.get('x-forwarded-proto') : null;
  const incomingHost = from.trustProxy ? headers.get('x-forwarded-host') : null;
  if (!from.trustProxy) {
    headers.delete('forwarded');
    headers.delete('x-real-ip');
  }
  const chain = [incomingFor, from.clientIp].filter((part): part is string => Boolean(part));
  if (chain.length > 0) headers.set('x-forwarded-for', chain.join(', '));
  else headers.delete('x-forwarded-for');
  headers.set('x-forwarded-proto', incomingProto ?? from.protocol);
  const host = incomingHost ?? from.host;
  if (host) headers.set('x-forwarded-host', host);
  else headers.delete('x-forwarded-host');
}

/**
 * The client address as Veil should record it: the socket peer, or behind a trusted proxy the
 * last address that proxy appended (earlier entries are the client's own claims).
 */
export function clientAddress(peer: string | undefined, headers: Headers, trustProxy: boolean | undefined): string | undefined {
  if (!trustProxy) return peer;
  const chain = (headers.get('x-forwarded-for') ?? '').split(',').map((part) => part.trim()).filter(Boolean);
  return chain.at(-1) ?? peer;
}
