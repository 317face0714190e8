import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createProxyApp, type ProxyOptions } from '../../src/proxy/app.js';
import { createNodeServer, proxyPassThrough } from '../../src/proxy/node-server.js';

export interface RunningProxy {
  port: number;
  /** How many requests reached the Hono app (the rest went straight through in node:http). */
  readonly honoRequests: number;
  url: URL;
  close(): Promise<void>;
}

/**
 * The proxy on a random loopback port, as `veil start` serves it: plain pass-through in node:http,
 * the rest through Hono (`passThrough: false` keeps every request on the Hono path).
 */
export async function startProxy(options: ProxyOptions & { passThrough?: boolean }): Promise<RunningProxy> {
  const { passThrough = true, ...proxyOptions } = options;
  const app = createProxyApp(proxyOptions);
  let honoRequests = 0;
  const fetch: typeof app.fetch = (...args) => {
    honoRequests++;
    return app.fetch(...args);
  };
  const server = createNodeServer(fetch, passThrough ? proxyPassThrough(proxyOptions) : undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get honoRequests() {
      return honoRequests;
    },
    url: new URL(`http://127.0.0.1:${port}/`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SendOptions {
  method?: string;
  path?: string;
  /** Name/value pairs sent as given (repeats allowed, case kept). */
  headers?: Array<[string, string]>;
  body?: Buffer | string | Readable | AsyncIterable<Uint8Array>;
}

export interface Received {
  status: number;
  statusMessage: string;
  rawHeaders: string[];
  /** Lower-cased names; repeated headers keep every value. */
  headers: Record<string, string[]>;
  body: Buffer;
}

/** Opens a request with node:http (exact control over target and headers); resolves at the answer's head. */
export function open(port: number, options: SendOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: string[] = [];
    for (const [name, value] of options.headers ?? []) headers.push(name, value);
    // Node's setHost does not apply to headers given as a raw list; HTTP/1.1 needs a Host.
    if (headers.length > 0 && !(options.headers ?? []).some(([name]) => name.toLowerCase() === 'host')) headers.push('Host', `127.0.0.1:${port}`);
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: options.method ?? 'GET',
      path: options.path ?? '/',
      headers: headers.length > 0 ? headers : undefined,
      agent: false,
      setHost: !(options.headers ?? []).some(([name]) => name.toLowerCase() === 'host'),
    } as http.RequestOptions);
    req.once('response', resolve);
    req.once('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      const source = body instanceof Readable ? body : Readable.from(body);
      source.on('error', (err) => req.destroy(err));
      source.pipe(req);
    }
  });
}

export async function send(port: number, options: SendOptions = {}): Promise<Received> {
  return receive(await open(port, options));
}

export async function receive(res: IncomingMessage): Promise<Received> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders, headers: headerMap(res.rawHeaders), body: Buffer.concat(chunks) };
}

export function headerMap(rawHeaders: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) (out[rawHeaders[i]!.toLowerCase()] ??= []).push(rawHeaders[i + 1]!);
  return out;
}

export interface FormPartSpec {
  name: string;
  filename?: string;
  contentType?: string;
  /** Extra header lines for the part, e.g. `Content-Transfer-Encoding: base64`. */
  extraHeaders?: string[];
  data: Buffer | string;
}

/** A multipart/form-data body written the way browsers write it. */
export function formBody(parts: FormPartSpec[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    for (const line of part.extraHeaders ?? []) head += `${line}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Splits a multipart body into its parts (headers and exact content bytes), for assertions. */
export function parseForm(body: Buffer, boundary: string): Array<{ headers: Record<string, string>; data: Buffer }> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let at = text.indexOf(delimiter);
  while (at !== -1) {
    const after = at + delimiter.length;
    if (text.subarray(after, after + 2).toString() === '--') break;
    const headEnd = text.indexOf('\r\n\r\n', after);
    const next = text.indexOf(delimiter, headEnd);
    const headers: Record<string, string> = {};
    for (const line of text.subarray(after + 2, headEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: text.subarray(headEnd + 4, next) });
    at = next;
  }
  return parts;
}
