import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { badGateway } from './bad-gateway.js';
import { hopByHopNames, setForwardedHeaders, withoutHopByHop } from './headers.js';
import type { ForwardHints, Forwarder } from '../types.js';
import { requestHasBody, upstreamPath } from './upstream-target.js';

export interface ForwardOptions extends ForwardHints {
  trustProxy?: boolean;
  agent?: http.Agent;
}

/** Bodies of these answers are empty by definition; a Response may not carry one. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * Streams `req` to the CMS at `upstream` and its answer back, untouched: raw path and query,
 * streamed bodies both ways, no redirect following, Content-Encoding left alone. node:http is used
 * rather than fetch because fetch (undici) decompresses gzip answers and follows redirects.
 * An unreachable CMS becomes a 502 with a plain-text explanation; never throws.
 */
export async function forwardRequest(req: Request, upstream: URL, options: ForwardOptions = {}): Promise<Response> {
  const hasBody = requestHasBody(req);
  const first = await exchange(req, upstream, options, hasBody);
  // A kept-alive connection the CMS closed just as it was reused: safe to try once more when no
  // body was sent (the Node documentation's advice for keep-alive agents).
  if (first instanceof StaleConnection) return settle(await exchange(req, upstream, options, hasBody));
  return first;
}

class StaleConnection {
  constructor(readonly response: Response) {}
}

function settle(result: Response | StaleConnection): Response {
  return result instanceof StaleConnection ? result.response : result;
}

function exchange(req: Request, upstream: URL, options: ForwardOptions, hasBody: boolean): Promise<Response | StaleConnection> {
  const signal = options.signal ?? req.signal;
  const headers = upstreamHeaders(req, options, hasBody);
  const transport = upstream.protocol === 'https:' ? https : http;

  return new Promise<Response | StaleConnection>((resolve) => {
    let answered = false;
    const answer = (res: Response | StaleConnection): void => {
      if (!answered) {
        answered = true;
        resolve(res);
      }
    };
    if (signal?.aborted) {
      answer(badGateway('the visitor closed the connection before the request was sent'));
      return;
    }

    const outgoing = transport.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname.replace(/^\[|\]$/g, ''),
      port: upstream.port || undefined,
      method: req.method,
      path: upstreamPath(upstream, req, options.rawTarget),
      headers: toNodeHeaders(headers),
      agent: options.agent,
      // TLS must name the CMS's server, not the public Host header the CMS is given.
      servername: upstream.protocol === 'https:' ? upstream.hostname : undefined,
    });

    const abort = (): void => {
      outgoing.destroy(new Error('The visitor closed the connection.'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    outgoing.once('close', () => signal?.removeEventListener('abort', abort));

    outgoing.once('response', (incoming) => {
      try {
        answer(toWebResponse(incoming, req.method, () => outgoing.destroy()));
      } catch (err) {
        incoming.destroy();
        answer(badGateway(`the website's server sent an answer Veil cannot pass on (${(err as Error).message})`));
      }
    });
    outgoing.on('error', (err: NodeJS.ErrnoException) => {
      const response = badGateway(describeNetworkError(err));
      const retry = !hasBody && outgoing.reusedSocket && err.code === 'ECONNRESET' && !signal?.aborted;
      answer(retry ? new StaleConnection(response) : response);
    });

    if (hasBody && req.body) {
      const source = Readable.fromWeb(req.body as import('node:stream/web').ReadableStream<Uint8Array>);
      source.on('error', (err) => outgoing.destroy(err));
      // The CMS may answer before reading everything (e.g. its own 413): stop reading the client then.
      outgoing.once('close', () => source.destroy());
      source.pipe(outgoing);
    } else {
      outgoing.end();
    }
  });
}

/** The default Node forwarder: a keep-alive agent per upstream, hints passed through. */
export function createNodeForwarder(upstream: URL, options: { trustProxy?: boolean; agent?: http.Agent } = {}): Forwarder {
  const agent = options.agent ?? new (upstream.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });
  return (req, hints = {}) => forwardRequest(req, upstream, { ...hints, trustProxy: options.trustProxy, agent });
}

function upstreamHeaders(req: Request, options: ForwardOptions, hasBody: boolean): Headers {
  const headers = withoutHopByHop(req.headers);
  // Node already answered any `Expect: 100-continue` for the client; the CMS must not be asked again.
  headers.delete('expect');
  const url = new URL(req.url);
  const host = req.headers.get('host') ?? url.host;
  // The client's Host is kept so the CMS builds its own public URLs.
  headers.set('host', host);
  setForwardedHeaders(headers, {
    clientIp: options.clientIp,
    protocol: options.protocol ?? (url.protocol === 'https:' ? 'https' : 'http'),
    host,
    trustProxy: options.trustProxy,
  });
  if (!hasBody) headers.delete('content-length');
  else if (!headers.has('content-length')) headers.set('transfer-encoding', 'chunked');
  return headers;
}

function toNodeHeaders(headers: Headers): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of headers) {
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else out[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  }
  return out;
}

function toWebResponse(incoming: http.IncomingMessage, method: string, abortUpstream: () => void): Response {
  const drop = hopByHopNames(incoming.headers.connection ?? null);
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!drop.has(name)) headers.append(name, raw[i + 1]!);
  }
  const status = incoming.statusCode ?? 502;
  const noBody = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
  if (noBody) {
    incoming.on('error', () => {});
    incoming.resume();
  }
  return new Response(noBody ? null : nodeToWebStream(incoming, abortUpstream), {
    status,
    statusText: incoming.statusMessage ?? '',
    headers,
  });
}

/**
 * Chunks are handed on as they arrive; reading pauses while the client is slower than the CMS.
 * The visitor may leave at any moment, even between the CMS's last chunk and its end (Node
 * still emits 'end' after a destroy then), so the stream is settled once and every controller
 * call is guarded: a late event must never throw from an event handler, which would end the process.
 */
function nodeToWebStream(incoming: http.IncomingMessage, abortUpstream: () => void): ReadableStream<Uint8Array> {
  let settled = false;
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const settle = (how: () => void): void => {
          if (settled) return;
          settled = true;
          try {
            how();
          } catch {
            // The reader went away in the meantime: nothing is left to tell.
          }
        };
        incoming.on('data', (chunk: Buffer) => {
          if (settled) return;
          try {
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          } catch {
            settled = true;
            incoming.destroy();
            return;
          }
          if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
        });
        incoming.once('end', () => {
          ended = true;
          settle(() => controller.close());
        });
        // `on`, not `once`: a second error with no listener would be thrown.
        incoming.on('error', (err) => settle(() => controller.error(err)));
        incoming.once('close', () => settle(() => controller.error(new Error("The website's server closed the connection mid-answer."))));
      },
      pull() {
        if (!settled) incoming.resume();
      },
      cancel() {
        const wasEnded = ended;
        settled = true;
        incoming.destroy();
        // Once the answer ended, its connection went back to the keep-alive pool: leave it be.
        if (!wasEnded) abortUpstream();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** An upstream failure in words a school's IT technician can act on (the reason part of a 502). */
export function describeNetworkError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return "the website's server refused the connection (is it running?)";
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return "the website's server name could not be found";
    case 'ETIMEDOUT':
      return "the website's server did not answer in time";
    case 'ECONNRESET':
      return "the website's server closed the connection without answering";
    default:
      return `the website's server could not be reached (${err.code ?? err.message})`;
  }
}

export { badGateway };
