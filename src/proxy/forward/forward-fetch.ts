import { badGateway } from './bad-gateway.js';
import { hopByHopNames, setForwardedHeaders, withoutHopByHop } from './headers.js';
import type { ForwardHints, Forwarder } from '../types.js';
import { requestHasBody, upstreamPath } from './upstream-target.js';

export interface FetchForwarderOptions {
  trustProxy?: boolean;
  /** The platform's fetch by default; a test or a service binding may pass its own. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** Bodies of these answers are empty by definition; a Response may not carry one. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * The forwarder for platforms whose only way out is fetch (Cloudflare Workers): the request goes
 * to `upstream` with the client's path and query, streamed, redirects handed back rather than
 * followed, hop-by-hop headers dropped and X-Forwarded-* set as the Node forwarder sets them.
 *
 * Unlike node:http, fetch decides the Host header from the URL, so the CMS sees the origin's host
 * and finds the client's in X-Forwarded-Host (docs/edge.md says why and what to configure).
 * On Workers the body is left encoded both ways (`encodeResponseBody`/`encodeBody: 'manual'`), so
 * a gzip answer reaches the visitor byte for byte; other platforms ignore those fields.
 * An unreachable CMS becomes a 502 with a plain-text explanation; never throws.
 */
export function createFetchForwarder(upstream: URL, options: FetchForwarderOptions = {}): Forwarder {
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  return async (req: Request, hints: ForwardHints = {}): Promise<Response> => {
    const signal = hints.signal ?? req.signal;
    if (signal?.aborted) return badGateway('the visitor closed the connection before the request was sent');
    // Concatenated, not resolved: a path such as //evil.example must stay a path on the CMS.
    const target = upstream.origin + upstreamPath(upstream, req, hints.rawTarget);
    const hasBody = requestHasBody(req);
    const headers = upstreamHeaders(req, hints, options.trustProxy, hasBody);
    const init = {
      method: req.method,
      headers,
      body: hasBody ? fixedLength(req.body!, headers.get('content-length')) : null,
      redirect: 'manual',
      signal,
      duplex: 'half',
      encodeResponseBody: 'manual',
    } as RequestInit;
    let res: Response;
    try {
      res = await send(target, init);
    } catch (err) {
      return badGateway(signal?.aborted ? 'the visitor closed the connection' : `the website's server could not be reached (${(err as Error).message})`);
    }
    return toClientResponse(res, req.method);
  };
}

function upstreamHeaders(req: Request, hints: ForwardHints, trustProxy: boolean | undefined, hasBody: boolean): Headers {
  const headers = withoutHopByHop(req.headers);
  // The platform already answered any `Expect: 100-continue`; the CMS must not be asked again.
  headers.delete('expect');
  const url = new URL(req.url);
  const host = req.headers.get('host') ?? url.host;
  headers.delete('host');
  setForwardedHeaders(headers, {
    clientIp: hints.clientIp,
    protocol: hints.protocol ?? (url.protocol === 'https:' ? 'https' : 'http'),
    host,
    trustProxy,
  });
  if (!hasBody) headers.delete('content-length');
  return headers;
}

/**
 * A stream of known length sent with Content-Length rather than chunked: PHP and many CMS hosts
 * refuse chunked uploads. Workers do this for a FixedLengthStream only; elsewhere the header is enough.
 */
function fixedLength(body: ReadableStream<Uint8Array>, contentLength: string | null): ReadableStream<Uint8Array> {
  const FixedLengthStream = (globalThis as { FixedLengthStream?: new (length: number) => TransformStream<Uint8Array, Uint8Array> }).FixedLengthStream;
  const length = Number(contentLength ?? NaN);
  if (!FixedLengthStream || !Number.isSafeInteger(length) || length < 0) return body;
  return body.pipeThrough(new FixedLengthStream(length));
}

/** The CMS's answer as it came, minus the headers that only described the hop from the CMS. */
function toClientResponse(res: Response, method: string): Response {
  const drop = hopByHopNames(res.headers.get('connection'));
  const headers = new Headers();
  for (const [name, value] of res.headers) {
    if (!drop.has(name)) headers.append(name, value);
  }
  const noBody = method === 'HEAD' || NULL_BODY_STATUSES.has(res.status);
  if (noBody) void res.body?.cancel().catch(() => undefined);
  return new Response(noBody ? null : res.body, { status: res.status, statusText: res.statusText, headers, encodeBody: 'manual' } as ResponseInit);
}
