import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeExiftool } from '../helpers/exiftool.js';
import { FixtureDir } from '../helpers/fixtures.js';
import { send, type Received, type SendOptions } from '../helpers/http.js';
import { startStubUpstream, type RecordedRequest, type StubHandler, type StubUpstream } from '../helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from '../helpers/veil-stack.js';
import { describeHits, LeakDetector } from './leak-detector.js';
import { makeOriginals, PHOTO_WIDTH, type Originals } from './originals.js';

/**
 * One real Veil stack (proxy, BullMQ on Redis, worker, store) per test file, in front of a stub
 * CMS that records every byte. Each bypass attempt is a vitest `it`: it fails when the leak
 * detector finds the original in anything the CMS received, or when Veil stops answering.
 */
export type Outcome = 'leaked' | 'refused' | 'sanitised';

export interface AttemptRecord {
  cls: string;
  outcome: Outcome;
  status: number;
  forwarded: number;
  where?: string;
}

declare module '@vitest/runner' {
  interface TaskMeta {
    bypass?: AttemptRecord;
  }
}

export type OriginalKind = Exclude<keyof Originals, 'heic' | 'heicAvci'> | 'heic' | 'heicAvci';

export interface AttemptContext {
  port: number;
  /** The original this attempt tries to smuggle. */
  photo: Buffer;
  originals: Originals;
  cms: StubUpstream;
  send(options: SendOptions): Promise<Received>;
  /** Writes bytes on a fresh TCP connection, in the pieces given, and reads until Veil closes it. */
  raw(pieces: Array<Buffer | string>): Promise<RawAnswer>;
}

export interface RawAnswer {
  status: number;
  text: string;
}

export interface BypassStack {
  readonly port: number;
  readonly originals: Originals;
  readonly cms: StubUpstream;
  /** Extra originals made from the standard ones (documents, videos, SVG): registered per file. */
  extra: Map<string, Buffer>;
}

/** Small photos and a long edge below theirs, so every sanitised output is a new picture. */
export const STACK_ENV = {
  FACE_POLICY: 'allow',
  MAX_EDGE: String(Math.round(PHOTO_WIDTH * 0.75)),
  UPLOAD_TIMEOUT_MS: '30000',
};

const NETWORK_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE', 'HPE_INVALID_CONSTANT', 'UND_ERR_SOCKET']);

export function useBypassStack(setup?: (stack: BypassStack, fx: FixtureDir) => Promise<void>): BypassStack & { attempt: typeof attempt } {
  const fx = new FixtureDir();
  const detectors = new Map<string, Promise<LeakDetector>>();
  let veil: TestVeil | undefined;
  let cms: StubUpstream | undefined;
  let originals: Originals | undefined;
  const stack: BypassStack = {
    get port() { return veil!.port; },
    get originals() { return originals!; },
    get cms() { return cms!; },
    extra: new Map(),
  };

  beforeAll(async () => {
    cms = await startStubUpstream();
    [originals, veil] = await Promise.all([makeOriginals(fx), startTestVeil({ UPSTREAM_URL: cms.url.toString(), ...STACK_ENV })]);
    await setup?.(stack, fx);
  }, 180_000);
  afterAll(async () => {
    await veil?.close();
    await cms?.close();
    fx.remove();
    await closeExiftool();
  });

  function photoOf(kind: string): Buffer {
    const bytes = (originals as unknown as Record<string, Buffer | null>)[kind] ?? stack.extra.get(kind);
    if (!bytes) throw new Error(`no original "${kind}" on this machine`);
    return bytes;
  }

  function detectorFor(kind: string): Promise<LeakDetector> {
    let d = detectors.get(kind);
    if (!d) {
      d = LeakDetector.forOriginal(photoOf(kind));
      detectors.set(kind, d);
    }
    return d;
  }

  /**
   * One bypass attempt. `run` sends whatever it likes and returns the status of Veil's last
   * answer (0 when Veil closed the connection). `stub` scripts the CMS's answers for the attempt.
   */
  function attempt(name: string, kind: OriginalKind | string, run: (ctx: AttemptContext) => Promise<number | Received | RawAnswer | void>, options: { stub?: StubHandler; timeout?: number } = {}): void {
    it(name, async ({ task }) => {
      const photo = photoOf(kind);
      const upstream = cms!;
      if (options.stub) upstream.handle(options.stub);
      const before = upstream.requests.length;
      let status = 0;
      try {
        const answer = await run({
          port: veil!.port,
          photo,
          originals: originals!,
          cms: upstream,
          send: (opts) => send(veil!.port, opts),
          raw: (pieces) => rawExchange(veil!.port, pieces),
        });
        status = typeof answer === 'number' ? answer : answer?.status ?? 0;
      } catch (err) {
        if (!NETWORK_ERRORS.has((err as NodeJS.ErrnoException).code ?? '') && !/socket hang up|ECONNRESET|EPIPE/.test(String(err))) throw err;
      } finally {
        upstream.handle(defaultStub);
      }
      // The health answer is also a barrier: whatever Veil forwarded for this attempt has arrived.
      const health = await send(veil!.port, { path: '/_veil/health' }).catch(() => ({ status: 0 }));
      const received: RecordedRequest[] = upstream.requests.slice(before);
      const detector = await detectorFor(kind);
      let where: string | undefined;
      for (const request of received) {
        const report = detector.check({ body: request.body, url: request.url, headers: request.rawHeaders });
        if (report.leaked || report.exhausted) {
          where = `${request.method} ${request.url.slice(0, 80)}: ${describeHits(report)}`;
          break;
        }
      }
      const cls = task.suite?.name ?? '?';
      const outcome: Outcome = where ? 'leaked' : status === 0 || status >= 400 || received.length === 0 ? 'refused' : 'sanitised';
      task.meta.bypass = { cls, outcome, status, forwarded: received.length, ...(where ? { where } : {}) };
      expect(where ?? 'nothing of the original', 'what the CMS received').toBe('nothing of the original');
      expect(health.status, 'Veil still answers /_veil/health').toBe(200);
    }, options.timeout ?? 60_000);
  }

  return Object.assign(stack, { attempt });
}

const defaultStub: StubHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

/** For requests fetch and node:http refuse to send: smuggling, odd framing, absolute targets. */
export function rawExchange(port: number, pieces: Array<Buffer | string>, timeoutMs = 20_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: status ? Number(status[1]) : 0, text });
    };
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const piece of pieces) {
        if (socket.destroyed) return;
        const ok = socket.write(piece);
        if (!ok) await new Promise((r) => socket.once('drain', r));
      }
    });
  });
}

/** A request head for raw sockets; `Connection: close` so the answer ends with the socket. */
export function head(method: string, target: string, headers: Array<[string, string]>): string {
  return `${method} ${target} HTTP/1.1\r\nHost: school.example\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}Connection: close\r\n\r\n`;
}

export const b64 = (b: Buffer): string => b.toString('base64');
export const mime76 = (s: string): string => s.replace(/.{76}/g, '$&\r\n');
export const dataUri = (b: Buffer, type = 'image/jpeg'): string => `data:${type};base64,${b64(b)}`;
