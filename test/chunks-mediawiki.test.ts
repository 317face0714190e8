import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeExiftool, nonStructuralTags, readAllTags, writeTags } from './helpers/exiftool.js';
import { DEMO_DIR, FixtureDir } from './helpers/fixtures.js';
import { formBody, parseForm, send, type Received } from './helpers/http.js';
import { startStubUpstream, type RecordedRequest, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * MediaWiki stash chunks through the whole of Veil (proxy, queue, workers), in front of a stub
 * that records every request and answers as ApiUpload::getChunkResult does. What the stub
 * received, put together, is read with ExifTool and searched for any 24 bytes of the original's
 * compressed picture.
 */
const fx = new FixtureDir();
const CHUNK = 256 * 1024;
const SESSION = 'veilwiki_session=abc123def456';
let cms: StubUpstream;
let veil: TestVeil;
let photo: Buffer;
/** What the stub wiki put together from the chunks it was sent, by its own file key. */
const wikiFiles = new Map<string, Buffer>();

/** A ~2 MB camera JPEG of grain (no faces, no repeated patterns), with GPS and camera tags. */
async function grainPhoto(): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 1800, height: 1200, channels: 3, background: { r: 90, g: 120, b: 150 }, noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
    .jpeg({ quality: 92 })
    .toBuffer();
  const file = fx.write('grain.jpg', jpeg);
  await writeTags(file, ['-GPSLatitude=51.501', '-GPSLatitudeRef=N', '-GPSLongitude=0.1419', '-GPSLongitudeRef=W', '-Make=Apple', '-Model=iPhone 15']);
  return readFileSync(file);
}

/** The stand-in wiki: stash chunks by offset under its own file keys, as MediaWiki answers them. */
function stubWiki(req: RecordedRequest, res: ServerResponse): void {
  const boundary = /boundary=([^;]+)/.exec(req.headers['content-type']?.[0] ?? '')?.[1];
  const parts = boundary ? parseForm(req.body, boundary) : [];
  const field = (name: string) => parts.find((p) => p.headers['content-disposition']?.includes(`name="${name}"`))?.data;
  const json = (value: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(value));
  };
  const chunk = field('chunk');
  if (!chunk) return json({ upload: { result: 'Success', filename: field('filename')?.toString() } });
  const offset = Number(field('offset')?.toString());
  const filesize = Number(field('filesize')?.toString());
  const key = offset === 0 ? `wiki${wikiFiles.size + 1}.stash.jpg` : field('filekey')!.toString();
  const sofar = offset === 0 ? Buffer.alloc(0) : wikiFiles.get(key)!;
  if (sofar.length !== offset) return json({ error: { code: 'stashfailed', info: 'bad offset' } });
  const joined = Buffer.concat([sofar, chunk]);
  wikiFiles.set(key, joined);
  if (joined.length < filesize) return json({ upload: { result: 'Continue', offset: joined.length, filekey: key } });
  return json({ upload: { result: 'Success', filekey: key, imageinfo: { size: joined.length } } });
}

function chunkRequest(params: Record<string, string>, piece: Buffer, cookie = SESSION): Promise<Received> {
  const boundary = `----mwChunk${Math.random().toString(16).slice(2)}`;
  const body = formBody(
    [...Object.entries({ format: 'json', action: 'upload', stash: '1', token: 'csrf+\\', ...params }).map(([name, data]) => ({ name, data })), { name: 'chunk', filename: 'blob', contentType: 'application/octet-stream', data: piece }],
    boundary,
  );
  return send(veil.port, {
    method: 'POST',
    path: '/w/api.php',
    headers: [['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)], ['Cookie', cookie]],
    body,
  });
}

/** As mw.Api.chunkedUploadToStash: each piece at the offset the previous answer gave. */
async function uploadInChunks(bytes: Buffer, params: Record<string, string> = {}, cookie = SESSION): Promise<Array<Record<string, any>>> {
  const answers: Array<Record<string, any>> = [];
  let offset = 0;
  let filekey: string | undefined;
  for (;;) {
    const answer = await chunkRequest({ filename: 'Sports day.jpg', filesize: String(bytes.length), offset: String(offset), ...(filekey ? { filekey } : {}), ...params }, bytes.subarray(offset, offset + CHUNK), cookie);
    const json = JSON.parse(answer.body.toString()) as Record<string, any>;
    answers.push(json);
    if (json.upload?.result !== 'Continue') return answers;
    filekey = json.upload.filekey;
    offset = json.upload.offset;
  }
}

/** The JPEG's entropy-coded data: from the first SOS segment's data to EOI. */
function scanData(jpeg: Buffer): Buffer {
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  return jpeg.subarray(sos + 2 + jpeg.readUInt16BE(sos + 2), jpeg.lastIndexOf(Buffer.from([0xff, 0xd9])));
}

/** Whether any 24-byte window of `secret` occurs anywhere in `seen`. */
function sharesWindow(seen: Buffer, secret: Buffer, size = 24): boolean {
  const windows = new Set<string>();
  for (let i = 0; i + size <= seen.length; i++) windows.add(seen.toString('latin1', i, i + size));
  for (let i = 0; i + size <= secret.length; i++) if (windows.has(secret.toString('latin1', i, i + size))) return true;
  return false;
}

beforeAll(async () => {
  cms = await startStubUpstream();
  cms.handle(stubWiki);
  [veil, photo] = await Promise.all([startTestVeil({ UPSTREAM_URL: cms.url.toString(), FACE_POLICY: 'hold', MAX_UPLOAD_BYTES: '8MiB' }), grainPhoto()]);
});
beforeEach(() => {
  cms.requests.length = 0;
});
afterAll(async () => {
  await veil?.close();
  await cms?.close();
  fx.remove();
  await closeExiftool();
});

describe('MediaWiki stash chunks through Veil', () => {
  it('are answered by Veil with the next offset, and the wiki gets only the sanitised file, in chunks', async () => {
    expect(photo.length).toBeGreaterThan(4 * CHUNK);
    const answers = await uploadInChunks(photo);
    const pieces = Math.ceil(photo.length / CHUNK);
    expect(answers).toHaveLength(pieces);
    answers.slice(0, -1).forEach((answer, i) => {
      expect(answer.upload).toMatchObject({ result: 'Continue', offset: (i + 1) * CHUNK });
      expect(answer.upload.filekey).toMatch(/^[0-9a-f]{32}$/);
    });
    // The last answer is the wiki's own, with the wiki's file key for the commit.
    const last = answers.at(-1)!;
    expect(last.upload.result).toBe('Success');
    const stored = wikiFiles.get(last.upload.filekey)!;
    expect(stored).toBeDefined();

    // Nothing reached the wiki before the file was whole, and every request it got was sanitised.
    expect(cms.requests.length).toBeGreaterThan(0);
    for (const req of cms.requests) {
      expect(sharesWindow(req.body, scanData(photo)), 'no 24 bytes of the original picture').toBe(false);
      expect(req.headers.cookie).toEqual([SESSION]);
    }
    const file = fx.write('stored.jpg', stored);
    const tags = await readAllTags(file);
    expect(tags['GPS:GPSLatitude']).toBeUndefined();
    expect(nonStructuralTags(tags)).toEqual([]);
    expect((await sharp(stored).metadata()).format).toBe('jpeg');
  });

  it('the stash requests Veil makes carry the client\'s parameters and are chunked as the client chunked', async () => {
    await uploadInChunks(photo, { ignorewarnings: '1', comment: 'Year 6' });
    const first = cms.requests[0]!;
    const parts = parseForm(first.body, /boundary=([^;]+)/.exec(first.headers['content-type']![0]!)![1]!);
    const value = (name: string) => parts.find((p) => p.headers['content-disposition']!.includes(`name="${name}"`))?.data.toString();
    expect(value('action')).toBe('upload');
    expect(value('stash')).toBe('1');
    expect(value('token')).toBe('csrf+\\');
    expect(value('ignorewarnings')).toBe('1');
    expect(value('comment')).toBe('Year 6');
    expect(value('offset')).toBe('0');
    expect(value('filename')).toBe('Sports day.jpg');
    expect(Number(value('filesize'))).toBeLessThan(photo.length);
    expect(cms.requests.length, 'the sanitised file is still several chunks').toBeGreaterThan(1);
    for (const req of cms.requests.slice(0, -1)) {
      const chunk = parseForm(req.body, /boundary=([^;]+)/.exec(req.headers['content-type']![0]!)![1]!).find((p) => p.headers['content-disposition']!.includes('name="chunk"'))!;
      expect(chunk.data.length).toBe(CHUNK);
    }
  });

  it('a piece at an offset Veil has not reached is refused with Veil\'s own count, and nothing is forwarded', async () => {
    const first = JSON.parse((await chunkRequest({ filename: 'a.jpg', filesize: String(photo.length), offset: '0' }, photo.subarray(0, CHUNK))).body.toString());
    const filekey = first.upload.filekey as string;
    // The client claims the wiki already has two pieces: it has one.
    const skip = await chunkRequest({ filename: 'a.jpg', filesize: String(photo.length), offset: String(2 * CHUNK), filekey }, photo.subarray(2 * CHUNK, 3 * CHUNK));
    expect(skip.headers['mediawiki-api-error']).toEqual(['stashfailed']);
    const error = JSON.parse(skip.body.toString()).error;
    expect(error).toMatchObject({ code: 'stashfailed', offset: CHUNK });
    expect(error.info).toMatch(/byte 1048576|byte 262144/);
    expect(cms.requests).toHaveLength(0);
  });

  it('a file key from another session finds nothing', async () => {
    const first = JSON.parse((await chunkRequest({ filename: 'a.jpg', filesize: String(photo.length), offset: '0' }, photo.subarray(0, CHUNK))).body.toString());
    const stolen = await chunkRequest({ filename: 'a.jpg', filesize: String(photo.length), offset: String(CHUNK), filekey: first.upload.filekey }, photo.subarray(CHUNK, 2 * CHUNK), 'veilwiki_session=someoneelse');
    expect(JSON.parse(stolen.body.toString()).error.code).toBe('stashfailed');
    expect(cms.requests).toHaveLength(0);
  });

  it('a file larger than Veil accepts is refused at its first piece, in MediaWiki\'s shape', async () => {
    const answer = await chunkRequest({ filename: 'a.jpg', filesize: String(9 * 1024 * 1024), offset: '0' }, photo.subarray(0, CHUNK));
    const error = JSON.parse(answer.body.toString()).error;
    expect(error.code).toBe('veil-file-too-large');
    expect(error.info).toMatch(/larger than/);
    expect(cms.requests).toHaveLength(0);
  });

  it('a held photo is answered at its last piece as an API error, `info` readable, in the asked-for error format too', async () => {
    const faces = readFileSync(`${DEMO_DIR}/sample2.jpg`);
    const bc = (await uploadInChunks(faces)).at(-1)!;
    expect(bc.error.code).toBe('veil-held');
    expect(bc.error.info).toMatch(/review/);
    expect(bc.error.reference).toMatch(/\d{8}-\d{6}-/);
    const plain = (await uploadInChunks(faces, { errorformat: 'plaintext', formatversion: '2' })).at(-1)!;
    expect(plain.errors[0]).toMatchObject({ code: 'veil-held', module: 'upload' });
    expect(plain.errors[0].text).toMatch(/review/);
    const html = (await uploadInChunks(faces, { errorformat: 'html', formatversion: '2' })).at(-1)!;
    expect(html.errors[0].html).toMatch(/review/);
    expect(cms.requests).toHaveLength(0);
  });

  it('a piece that says it overruns the file is refused', async () => {
    const answer = await chunkRequest({ filename: 'a.jpg', filesize: String(CHUNK), offset: '0' }, photo.subarray(0, CHUNK + 10));
    expect(JSON.parse(answer.body.toString()).error.code).toBe('invalid-chunk');
    expect(cms.requests).toHaveLength(0);
  });

  it('a whole file sent to api.php is sanitised, and Special:Upload refusals are a page with a way back', async () => {
    const boundary = '----mwWhole';
    const body = formBody([{ name: 'action', data: 'upload' }, { name: 'filename', data: 'x.jpg' }, { name: 'file', filename: 'x.jpg', contentType: 'image/jpeg', data: photo }], boundary);
    const whole = await send(veil.port, { method: 'POST', path: '/api.php', headers: [['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]], body });
    expect(whole.status).toBe(200);
    expect(cms.requests).toHaveLength(1);
    expect(sharesWindow(cms.requests[0]!.body, scanData(photo))).toBe(false);

    const faces = readFileSync(`${DEMO_DIR}/sample2.jpg`);
    const form = formBody([{ name: 'wpDestFile', data: 'x.jpg' }, { name: 'wpUploadFile', filename: 'x.jpg', contentType: 'image/jpeg', data: faces }], boundary);
    const page = await send(veil.port, { method: 'POST', path: '/index.php?title=Special:Upload', headers: [['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(form.length)]], body: form });
    expect(page.headers['content-type']![0]).toMatch(/^text\/html/);
    const html = page.body.toString();
    expect(html).toMatch(/review/);
    expect(html).toContain('href="/index.php?title=Special:Upload"');
    expect(cms.requests).toHaveLength(1);
  });
});
