/**
 * Veil at the edge, end to end: the Worker (wrangler.toml, src/edge/worker.ts) runs in workerd via
 * wrangler's unstable_startWorker; the CMS is a stub origin on loopback; photos go to the Node
 * ingest endpoint (createIngestRoute on @hono/node-server) whose sanitising step is the real
 * pipeline with the ONNX face detector.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newUploadId } from '../src/ingest/ingest.js';
import { MemoryReplayGuard } from '../src/ingest/replay-guard.js';
import { INGEST_HEADERS, decodeContext, signIngestRequest } from '../src/ingest/signature.js';
import { faceOptions } from '../src/pipeline/face-options.js';
import { decodeForDetection, detectFaces, minFaceHeightFor } from '../src/pipeline/faces.js';
import { sanitiseImage } from '../src/pipeline/sanitise.js';
import type { SanitiseUpload } from '../src/proxy/types.js';
import { startEdgeWorker, startIngestService, TEST_INGEST_SECRET, type IngestCall, type IngestService, type RunningWorker } from './helpers/edge.js';
import { closeExiftool, nonStructuralTags, readAllTags } from './helpers/exiftool.js';
import { formBody, parseForm, send, type Received, type SendOptions } from './helpers/http.js';
import { startStubUpstream, type RecordedRequest, type StubUpstream } from './helpers/stub-upstream.js';

// onnxruntime-node's native library otherwise tries to send telemetry to Microsoft (a DNS lookup of
// mobile.events.data.microsoft.com, seen with strace); it reads this when the first session starts.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** 1920 px group photo with GPS EXIF and real faces. */
const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const HOST: [string, string] = ['Host', 'school.example'];

/**
 * The Node service's step without its queue: in production createIngest stores the original and
 * waits for a BullMQ worker, which runs exactly this pipeline call. Redis and S3 add nothing to what
 * the edge is tested for here, so the endpoint calls the pipeline directly.
 */
let pipelineRuns = 0;
const realPipeline: SanitiseUpload = async (file) => {
  pipelineRuns++;
  const uploadId = newUploadId();
  const result = await sanitiseImage(file.bytes, { faces: faceOptions({ policy: 'blur' }), originalName: file.filename });
  if (result.outcome === 'held') return { kind: 'held', uploadId, reference: uploadId, message: result.reasons.join('; ') };
  return { kind: 'sanitised', uploadId, bytes: result.bytes, filename: result.filename, contentType: result.contentType };
};

let stub: StubUpstream;
let ingest: IngestService;
let worker: RunningWorker;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'veil-edge-'));
  stub = await startStubUpstream();
  ingest = await startIngestService({ sanitise: realPipeline, secret: TEST_INGEST_SECRET, replay: new MemoryReplayGuard(), maxBytes: 25 * 1024 * 1024, timeoutMs: 60_000 });
  const started = performance.now();
  worker = await startEdgeWorker({ ORIGIN_URL: stub.url.href, VEIL_INGEST_URL: ingest.url.href }, { INGEST_SECRET: TEST_INGEST_SECRET });
  console.log(`[edge] Worker ready in workerd after ${Math.round(performance.now() - started)} ms`);
});

afterAll(async () => {
  await worker?.dispose();
  await ingest?.close();
  await stub?.close();
  await closeExiftool();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  stub.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Headers that describe one connection: not part of the end-to-end message. */
const PER_CONNECTION = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date', 'content-length']);
/** Set by Veil on the way to the CMS (checked on their own below). */
const ADDED_BY_VEIL = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
/**
 * Set by the Workers platform on every subrequest, in production as here: fetch takes Host from
 * ORIGIN_URL, asks for compressed answers and names the Worker (CF-Worker).
 */
const SET_BY_PLATFORM = new Set(['host', 'accept-encoding', 'cf-worker']);

function endToEnd(headers: Record<string, string[]>, ...also: Set<string>[]): Record<string, string[]> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_CONNECTION.has(name) && !also.some((set) => set.has(name))));
}

interface Exchange {
  direct: Received;
  viaEdge: Received;
  directSeen: RecordedRequest;
  edgeSeen: RecordedRequest;
}

/** Sends the same request straight to the CMS and through the Worker. */
async function throughBoth(options: SendOptions): Promise<Exchange> {
  const directSeenP = stub.nextRequest();
  const direct = await send(stub.port, options);
  const directSeen = await directSeenP;
  const before = stub.requests.length;
  const edgeSeenP = stub.nextRequest();
  const viaEdge = await send(worker.port, options);
  const edgeSeen = await edgeSeenP;
  // Redirects are not followed: exactly one request reached the CMS.
  expect(stub.requests.length - before).toBe(1);
  return { direct, viaEdge, directSeen, edgeSeen };
}

function expectSameExchange({ direct, viaEdge, directSeen, edgeSeen }: Exchange): void {
  expect(viaEdge.status).toBe(direct.status);
  expect(viaEdge.statusMessage).toBe(direct.statusMessage);
  expect(sha(viaEdge.body)).toBe(sha(direct.body));
  expect(endToEnd(viaEdge.headers)).toEqual(endToEnd(direct.headers));
  expect(edgeSeen.method).toBe(directSeen.method);
  expect(edgeSeen.url).toBe(directSeen.url);
  expect(edgeSeen.sha256).toBe(directSeen.sha256);
  expect(endToEnd(edgeSeen.headers, ADDED_BY_VEIL, SET_BY_PLATFORM)).toEqual(endToEnd(directSeen.headers, ADDED_BY_VEIL, SET_BY_PLATFORM));
}

describe('pass-through at the edge is what calling the CMS directly gives', () => {
  it('an HTML page with a query string, its caching headers and the raw query kept', async () => {
    stub.handle((req, res) => {
      res.writeHead(200, 'OK', { 'content-type': 'text/html; charset=UTF-8', etag: '"abc"', 'cache-control': 'max-age=60', link: '<https://school.example/wp-json/>; rel="https://api.w.org/"', vary: 'Cookie' });
      res.end(`<!doctype html><title>School</title><p>${req.url}</p>`);
    });
    const both = await throughBoth({ path: '/news/?p=42&s=caf%C3%A9+au+lait&tags[]=a&tags[]=b', headers: [HOST, ['Accept', 'text/html'], ['Cookie', 'wp-settings-1=x; pll_language=en']] });
    expectSameExchange(both);
    expect(both.edgeSeen.url).toBe('/news/?p=42&s=caf%C3%A9+au+lait&tags[]=a&tags[]=b');
  });

  it('a JSON POST and the CMS answer with its own status text', async () => {
    stub.handle((req, res) => {
      res.writeHead(201, 'Created Here', { 'content-type': 'application/json; charset=UTF-8', location: 'https://school.example/wp-json/wp/v2/posts/7' });
      res.end(JSON.stringify({ id: 7, received: req.body.toString('utf8') }));
    });
    const body = JSON.stringify({ title: 'Sports day', status: 'draft' });
    const both = await throughBoth({
      method: 'POST',
      path: '/wp-json/wp/v2/posts?context=edit',
      headers: [HOST, ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))], ['X-WP-Nonce', 'n0nce']],
      body,
    });
    expectSameExchange(both);
    expect(JSON.parse(both.viaEdge.body.toString())).toEqual({ id: 7, received: body });
  });

  it('redirects are handed back, not followed, with every Set-Cookie kept apart', async () => {
    stub.handle((_req, res) => {
      res.setHeader('set-cookie', ['wordpress_logged_in_x=admin%7C123; path=/; HttpOnly', 'wordpress_sec_x=admin%7C456; path=/wp-admin; secure; HttpOnly', 'wp-settings-time-1=1700000000; expires=Thu, 01 Jan 2099 00:00:00 GMT']);
      res.writeHead(302, 'Found', { location: 'https://school.example/wp-admin/', 'content-type': 'text/html' });
      res.end();
    });
    const body = 'log=admin&pwd=secret&wp-submit=Log+In';
    const both = await throughBoth({
      method: 'POST',
      path: '/wp-login.php',
      headers: [HOST, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]],
      body,
    });
    expectSameExchange(both);
    expect(both.viaEdge.status).toBe(302);
    expect(both.viaEdge.headers['location']).toEqual(['https://school.example/wp-admin/']);
    expect(both.viaEdge.headers['set-cookie']).toHaveLength(3);
  });

  it('a gzip answer arrives byte for byte, still encoded', async () => {
    const gz = gzipSync(Buffer.from('<p>'.concat('Term dates. '.repeat(2000), '</p>')));
    stub.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(gz);
    });
    const both = await throughBoth({ path: '/term-dates/', headers: [HOST] });
    expectSameExchange(both);
    expect(both.viaEdge.headers['content-encoding']).toEqual(['gzip']);
    expect(sha(both.viaEdge.body)).toBe(sha(gz));
  });

  it('error pages too (404)', async () => {
    stub.handle((_req, res) => {
      res.writeHead(404, 'Not Found', { 'content-type': 'text/html; charset=UTF-8', 'x-pingback': 'https://school.example/xmlrpc.php' });
      res.end('<h1>Page not found</h1>');
    });
    expectSameExchange(await throughBoth({ path: '/no-such-page', headers: [HOST] }));
  });

  it('a multipart form without a picture is replayed from memory byte for byte', async () => {
    const boundary = '----WebKitFormBoundaryedge0001';
    const letter = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(200_000, 0x41)]);
    const body = formBody(
      [
        { name: '_wpnonce', data: 'abc123' },
        { name: 'async-upload', filename: 'term-letter.pdf', contentType: 'application/pdf', data: letter },
      ],
      boundary,
    );
    const both = await throughBoth({
      method: 'POST',
      path: '/wp-admin/async-upload.php',
      headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]],
      body,
    });
    expectSameExchange(both);
    expect(both.edgeSeen.sha256).toBe(sha(body));
    expect(both.edgeSeen.headers['content-length']).toEqual([String(body.length)]);
  });

  it('sets X-Forwarded-* for the CMS from what the platform knows, not from what the client claims', async () => {
    const before = stub.requests.length;
    await send(worker.port, { path: '/', headers: [HOST, ['X-Forwarded-For', '6.6.6.6'], ['X-Forwarded-Host', 'evil.example'], ['Forwarded', 'for=6.6.6.6']] });
    const seen = stub.requests.at(-1)!;
    expect(stub.requests.length - before).toBe(1);
    // Locally workerd's CF-Connecting-IP is the loopback peer; on Cloudflare it is the visitor.
    expect(seen.headers['x-forwarded-for']).toEqual(['127.0.0.1']);
    expect(seen.headers['x-forwarded-host']).toEqual(['school.example']);
    expect(seen.headers['x-forwarded-proto']).toEqual(['http']);
    expect(seen.headers['forwarded']).toBeUndefined();
    // fetch names the origin in Host (docs/edge.md: point ORIGIN_URL at the site's own name on Cloudflare).
    expect(seen.headers['host']).toEqual([stub.url.host]);
  });

  it('keeps /_veil/ for itself: a tiny health answer, nothing else, nothing forwarded', async () => {
    const before = stub.requests.length;
    const health = await send(worker.port, { path: '/_veil/health', headers: [HOST] });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: 'ok', role: 'edge' });
    const admin = await send(worker.port, { path: '/_veil/review', headers: [HOST] });
    expect(admin.status).toBe(404);
    expect(JSON.parse(admin.body.toString()).error.message).toMatch(/Node service/);
    expect(stub.requests.length).toBe(before);
  });
});

async function exifFindings(bytes: Uint8Array): Promise<{ gps: string[]; other: string[] }> {
  const file = join(work, `${randomUUID()}.jpg`);
  writeFileSync(file, bytes);
  const tags = await readAllTags(file);
  return { gps: Object.keys(tags).filter((key) => /gps/i.test(key)), other: nonStructuralTags(tags) };
}

/** Faces the detector finds at `minFaceHeight` px or taller (in the image's own pixels). */
async function facesIn(bytes: Uint8Array, minFaceHeight?: number): Promise<number> {
  const image = await decodeForDetection(bytes);
  return (await detectFaces(image, { minFaceHeight: minFaceHeight ?? minFaceHeightFor(image.width, image.height) })).length;
}

/** The photo as it reached the CMS must be clean and redacted; checked with ExifTool and the detector. */
async function expectCleanAndRedacted(bytes: Uint8Array): Promise<void> {
  expect(sha(bytes)).not.toBe(sha(PHOTO));
  expect(await exifFindings(bytes)).toEqual({ gps: [], other: [] });
  expect(await facesIn(bytes, 16)).toBe(0);
}

async function sendCounting(options: SendOptions): Promise<{ res: Received; forwarded: RecordedRequest[] }> {
  const before = stub.requests.length;
  const res = await send(worker.port, options);
  return { res, forwarded: stub.requests.slice(before) };
}

describe('a GPS-tagged group photo uploaded through the Worker', () => {
  let restCall: IngestCall | undefined;

  it('the photo itself carries GPS and faces the detector finds (so the checks below can fail)', async () => {
    expect((await exifFindings(PHOTO)).gps).not.toEqual([]);
    expect(await facesIn(PHOTO)).toBeGreaterThanOrEqual(3);
  });

  it('by the WordPress REST API (raw body) reaches the CMS clean, redacted and renamed', async () => {
    stub.handle((req, res) => {
      res.writeHead(201, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ id: 99, bytes: req.bodyLength }));
    });
    const callsBefore = ingest.calls.length;
    const started = performance.now();
    const { res, forwarded } = await sendCounting({
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [
        HOST,
        ['Content-Type', 'image/jpeg'],
        ['Content-Disposition', 'attachment; filename="Jane Smith sports day.jpg"'],
        ['Authorization', `Basic ${Buffer.from('head.teacher:app pass word').toString('base64')}`],
        ['Content-Length', String(PHOTO.length)],
      ],
      body: PHOTO,
    });
    console.log(`[edge] REST upload through the Worker and the real pipeline: ${Math.round(performance.now() - started)} ms`);
    expect(res.status).toBe(201);
    expect(forwarded).toHaveLength(1);
    const received = forwarded[0]!;
    expect(received.url).toBe('/wp-json/wp/v2/media');
    expect(received.headers['content-type']).toEqual(['image/jpeg']);
    expect(Number(received.headers['content-length']?.[0])).toBe(received.bodyLength);
    const disposition = received.headers['content-disposition']?.[0] ?? '';
    expect(disposition).toMatch(/^attachment; filename="photo-[\w-]+\.jpg"$/);
    expect(disposition).not.toMatch(/Jane/);
    expect(JSON.parse(res.body.toString())).toEqual({ id: 99, bytes: received.bodyLength });
    await expectCleanAndRedacted(received.body);

    // The ingest service got the original and what the Worker knew about it, signed.
    expect(ingest.calls.length - callsBefore).toBe(1);
    restCall = ingest.calls.at(-1)!;
    expect(restCall.status).toBe(200);
    expect(sha(restCall.body)).toBe(sha(PHOTO));
    const context = decodeContext(new Headers(restCall.headers).get(INGEST_HEADERS.context)!);
    expect(context).toEqual({ cms: 'wordpress', method: 'POST', path: '/wp-json/wp/v2/media', clientIp: '127.0.0.1', user: 'head.teacher', filename: 'Jane Smith sports day.jpg', declaredType: 'image/jpeg' });
  });

  it('by the media modal (async-upload.php multipart) reaches the CMS clean, with the other fields byte for byte', async () => {
    stub.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ success: true, data: { id: 100 } }));
    });
    const boundary = '----WebKitFormBoundaryEdgeUpload1';
    const fields = [
      { name: 'name', data: 'Jane Smith sports day.jpg' },
      { name: 'action', data: 'upload-attachment' },
      { name: '_wpnonce', data: '0a1b2c3d4e' },
    ];
    const body = formBody([...fields, { name: 'async-upload', filename: 'Jane Smith sports day.jpg', contentType: 'image/jpeg', data: PHOTO }], boundary);
    const { res, forwarded } = await sendCounting({
      method: 'POST',
      path: '/wp-admin/async-upload.php',
      headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)], ['Cookie', 'wordpress_logged_in_abc=head.teacher%7C1%7Ctok%7Chmac']],
      body,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ success: true, data: { id: 100 } });
    expect(forwarded).toHaveLength(1);
    const received = forwarded[0]!;
    expect(Number(received.headers['content-length']?.[0])).toBe(received.bodyLength);
    const receivedBoundary = /boundary=(.+)$/.exec(received.headers['content-type']?.[0] ?? '')?.[1];
    expect(receivedBoundary).toBeTruthy();
    const parts = parseForm(received.body, receivedBoundary!);
    expect(parts).toHaveLength(4);
    fields.forEach((field, i) => {
      expect(parts[i]!.headers['content-disposition']).toBe(`form-data; name="${field.name}"`);
      expect(parts[i]!.data.toString('utf8')).toBe(field.data);
    });
    const photo = parts[3]!;
    expect(photo.headers['content-disposition']).toMatch(/^form-data; name="async-upload"; filename="photo-[\w-]+\.jpg"$/);
    expect(photo.headers['content-type']).toBe('image/jpeg');
    await expectCleanAndRedacted(photo.data);
    const context = decodeContext(new Headers(ingest.calls.at(-1)!.headers).get(INGEST_HEADERS.context)!);
    expect(context).toMatchObject({ cms: 'wordpress', path: '/wp-admin/async-upload.php', user: 'head.teacher', field: 'async-upload' });
  });

  it('by Joomla\'s media manager (base64 inside JSON) reaches the CMS clean and renamed', async () => {
    stub.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true,"message":null,"messages":null,"data":{}}');
    });
    const path = '/administrator/index.php?option=com_media&format=json&mediatypes=0,1,2,3&task=api.files&path=local-images:/';
    const body = JSON.stringify({ f00d: '1', name: 'Jane Smith sports day.jpg', content: PHOTO.toString('base64') });
    const { res, forwarded } = await sendCounting({ method: 'POST', path, headers: [HOST, ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body });
    expect(res.status).toBe(200);
    expect(forwarded).toHaveLength(1);
    const received = JSON.parse(forwarded[0]!.body.toString()) as Record<string, string>;
    expect(received.f00d).toBe('1');
    expect(received.name).toMatch(/^photo-[\w-]+\.jpg$/);
    await expectCleanAndRedacted(Buffer.from(received.content!, 'base64'));
  });

  describe("the ingest endpoint refuses calls that are not the Worker's own, fresh ones", () => {
    /** The captured call's signed headers, as the Worker sent them. */
    const signedHeaders = (call: IngestCall): Array<[string, string]> => call.headers.filter(([name]) => name.startsWith('x-veil-') || name === 'content-type');

    it("the Worker's call replayed verbatim: 409, and the photo is not processed again", async () => {
      expect(restCall).toBeDefined();
      const runs = pipelineRuns;
      const res = await fetch(ingest.url, { method: 'POST', headers: signedHeaders(restCall!), body: restCall!.body as Uint8Array<ArrayBuffer> });
      expect(res.status).toBe(409);
      expect(pipelineRuns).toBe(runs);
    });

    it("the Worker's call with one byte of the photo changed (a forgery): 401", async () => {
      const forged = Buffer.from(restCall!.body);
      forged[5000] = forged[5000]! ^ 0x01;
      const runs = pipelineRuns;
      const res = await fetch(ingest.url, { method: 'POST', headers: signedHeaders(restCall!), body: forged as Uint8Array<ArrayBuffer> });
      expect(res.status).toBe(401);
      expect(pipelineRuns).toBe(runs);
    });

    it('a correctly signed call with a stale timestamp (10 minutes old): 401', async () => {
      const context = decodeContext(new Headers(restCall!.headers).get(INGEST_HEADERS.context)!)!;
      const headers = await signIngestRequest({ secret: TEST_INGEST_SECRET, method: 'POST', path: ingest.url.pathname, body: PHOTO, context, timestamp: Math.floor(Date.now() / 1000) - 600 });
      const runs = pipelineRuns;
      const res = await fetch(ingest.url, { method: 'POST', headers, body: PHOTO });
      expect(res.status).toBe(401);
      expect(pipelineRuns).toBe(runs);
    });
  });
});

describe('when the ingest service cannot be used', () => {
  let edge: RunningWorker;
  let otherIngest: IngestService;

  beforeAll(async () => {
    // A service with another secret: first a misconfigured pair, then (closed) an unreachable one.
    otherIngest = await startIngestService({ sanitise: realPipeline, secret: 'the-service-has-another-secret-000000000', replay: new MemoryReplayGuard(), maxBytes: 25 * 1024 * 1024 });
    edge = await startEdgeWorker({ ORIGIN_URL: stub.url.href, VEIL_INGEST_URL: otherIngest.url.href }, { INGEST_SECRET: TEST_INGEST_SECRET });
  });

  afterAll(async () => {
    await edge?.dispose();
    await otherIngest?.close();
  });

  const restUpload: SendOptions = {
    method: 'POST',
    path: '/wp-json/wp/v2/media',
    headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="sample1.jpg"'], ['Content-Length', String(PHOTO.length)], ['Accept', 'application/json']],
    body: PHOTO,
  };

  async function viaEdge(options: SendOptions): Promise<{ res: Received; forwarded: RecordedRequest[] }> {
    const before = stub.requests.length;
    const res = await send(edge.port, options);
    return { res, forwarded: stub.requests.slice(before) };
  }

  it("secrets that differ: the upload is refused in the REST API's own error shape, naming INGEST_SECRET", async () => {
    const runs = pipelineRuns;
    const { res, forwarded } = await viaEdge(restUpload);
    expect(forwarded).toEqual([]);
    expect(pipelineRuns).toBe(runs);
    expect(res.status).toBe(503);
    const answer = JSON.parse(res.body.toString());
    expect(answer).toMatchObject({ code: 'veil_ingest_unavailable', data: { status: 503 } });
    expect(answer.message).toMatch(/INGEST_SECRET/);
  });

  it("service down: uploads fail closed with a clear message in the CMS's format; pass-through goes on", async () => {
    await otherIngest.close();

    const rest = await viaEdge(restUpload);
    expect(rest.forwarded).toEqual([]);
    expect(rest.res.status).toBe(503);
    expect(JSON.parse(rest.res.body.toString())).toEqual({
      code: 'veil_ingest_unavailable',
      message: expect.stringMatching(/^Veil's processing service could not be reached; the photo was not published\./),
      data: { status: 503 },
    });

    // The media modal shows `data.message` next to the file name (WordPress's own failure shape).
    const boundary = '----WebKitFormBoundaryEdgeDown01';
    const body = formBody([{ name: 'action', data: 'upload-attachment' }, { name: 'async-upload', filename: 'sample1.jpg', contentType: 'image/jpeg', data: PHOTO }], boundary);
    const modal = await viaEdge({ method: 'POST', path: '/wp-admin/async-upload.php', headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]], body });
    expect(modal.forwarded).toEqual([]);
    expect(modal.res.status).toBe(200);
    expect(JSON.parse(modal.res.body.toString())).toEqual({ success: false, data: { message: expect.stringMatching(/could not be reached; the photo was not published/), filename: 'sample1.jpg' } });

    stub.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<h1>Welcome</h1>');
    });
    const page = await viaEdge({ path: '/', headers: [HOST] });
    expect(page.res.status).toBe(200);
    expect(page.res.body.toString()).toBe('<h1>Welcome</h1>');
    expect(page.forwarded).toHaveLength(1);
  });
});
