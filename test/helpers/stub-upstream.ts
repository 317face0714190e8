import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Exactly what the stand-in CMS received. */
export interface RecordedRequest {
  method: string;
  /** The request-target as sent, not normalised. */
  url: string;
  /** Header names and values in the order and case they arrived. */
  rawHeaders: string[];
  /** Lower-cased names; repeated headers keep every value. */
  headers: Record<string, string[]>;
  /** The body, when no larger than keepBodyBytes (empty otherwise: use length and sha256). */
  body: Buffer;
  bodyLength: number;
  sha256: string;
  /** The upload was cut off before its end. */
  aborted: boolean;
}

export type StubHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;
/** Called as soon as the request head arrives, before its body: for streaming tests. */
export type StubStreamHandler = (incoming: IncomingMessage, res: ServerResponse, recorded: Promise<RecordedRequest>) => void;

export interface StubUpstream {
  url: URL;
  port: number;
  requests: RecordedRequest[];
  /** Answer requests with `handler` after their body has arrived (default: 200 "ok"). */
  handle(handler: StubHandler): void;
  /** Answer requests as soon as their head arrives. */
  handleStreaming(handler: StubStreamHandler): void;
  /** Resolves with the next request to arrive complete. */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on a random loopback port standing in for the CMS: it records every request
 * byte for byte (hashing bodies as they stream, so a 1 GB upload costs no memory) and answers as
 * the test scripts it.
 */
export async function startStubUpstream(options: { keepBodyBytes?: number } = {}): Promise<StubUpstream> {
  const keep = options.keepBodyBytes ?? 64 * 1024 * 1024;
  const requests: RecordedRequest[] = [];
  const waiters: Array<(req: RecordedRequest) => void> = [];
  let handler: StubHandler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
  let streamHandler: StubStreamHandler | undefined;

  const record = (incoming: IncomingMessage): Promise<RecordedRequest> =>
    new Promise((resolve) => {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let length = 0;
      let done = false;
      const finish = (aborted: boolean): void => {
        if (done) return;
        done = true;
        const headers: Record<string, string[]> = {};
        for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
          (headers[incoming.rawHeaders[i]!.toLowerCase()] ??= []).push(incoming.rawHeaders[i + 1]!);
        }
        const recorded: RecordedRequest = {
          method: incoming.method ?? '',
          url: incoming.url ?? '',
          rawHeaders: [...incoming.rawHeaders],
          headers,
          body: length <= keep ? Buffer.concat(chunks) : Buffer.alloc(0),
          bodyLength: length,
          sha256: hash.digest('hex'),
          aborted,
        };
        requests.push(recorded);
        waiters.splice(0).forEach((wake) => wake(recorded));
        resolve(recorded);
      };
      incoming.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (length <= keep) chunks.push(chunk);
        else chunks.length = 0;
      });
      incoming.on('end', () => finish(false));
      incoming.on('error', () => finish(true));
      incoming.on('close', () => finish(!incoming.complete));
    });

  const server = http.createServer((incoming, res) => {
    const recorded = record(incoming);
    if (streamHandler) {
      streamHandler(incoming, res, recorded);
      return;
    }
    recorded.then(async (req) => {
      try {
        await handler(req, res);
      } catch (err) {
        res.destroy(err as Error);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    port,
    requests,
    handle(next) {
      streamHandler = undefined;
      handler = next;
    },
    handleStreaming(next) {
      streamHandler = next;
    },
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
