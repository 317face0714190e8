import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { VeilError } from '../src/pipeline/errors.js';
import type { SanitiseUpload, UploadContext, UploadEvent, UploadFile } from '../src/proxy/types.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { formBody, parseForm, send, startProxy, type Received, type RunningProxy, type SendOptions } from './helpers/http.js';
import { startStubUpstream, type RecordedRequest, type StubUpstream } from './helpers/stub-upstream.js';
import { zipArchive } from './helpers/containers.js';

const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const PHOTO2 = readFileSync('node_modules/@vladmandic/face-api/demo/sample2.jpg');
const HOST: [string, string] = ['Host', 'school.example'];

/**
 * Stand-in for the real sanitising step (in Veil: the queue-backed ingest, which stores the original,
 * queues it and waits for a worker). This one re-encodes with sharp, which drops all metadata, and
 * refuses what the pipeline refuses: formats outside its list. Tests swap in held / refused /
 * throwing / hanging behaviours.
 */
const ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff']);
const reencode: SanitiseUpload = async (file) => {
  const format = await sharp(file.bytes).metadata().then((m) => m.format, () => undefined);
  if (!format || !ACCEPTED.has(format)) {
    return { kind: 'refused', uploadId: randomUUID(), error: new VeilError('UNSUPPORTED_FORMAT', `Veil cannot publish ${format ?? 'this kind of'} pictures; please upload a JPEG or PNG.`) };
  }
  const bytes = await sharp(file.bytes).rotate().jpeg({ quality: 80 }).toBuffer();
  produced.push(bytes);
  return { kind: 'sanitised', uploadId: randomUUID(), bytes, filename: `photo-20261126-${randomUUID().slice(0, 6)}.jpg`, contentType: 'image/jpeg' };
};

let standIn: SanitiseUpload = reencode;
let produced: Buffer[] = [];
let calls: Array<{ file: UploadFile; ctx: UploadContext; signal: AbortSignal }> = [];
const events: UploadEvent[] = [];
const sanitise: SanitiseUpload = (file, ctx, signal) => {
  calls.push({ file, ctx, signal });
  return standIn(file, ctx, signal);
};

let stub: StubUpstream;
let proxy: RunningProxy;
let spoolDir: string;
let work: string;

beforeAll(async () => {
  stub = await startStubUpstream();
  spoolDir = mkdtempSync(join(tmpdir(), 'veil-proxy-spool-'));
  work = mkdtempSync(join(tmpdir(), 'veil-proxy-work-'));
  proxy = await startProxy({
    upstream: stub.url,
    sanitise,
    spoolDir,
    // Veil's own default: these tests are about what is forwarded, not about time. The one test of
    // the timeout runs its own proxy with a sanitiser that never answers.
    limits: { maxUploadBytes: 5 * 1024 * 1024, maxBodyBytes: 20 * 1024 * 1024, uploadTimeoutMs: 60_000 },
    onUpload: (event) => events.push(event),
  });
});

/** Spool files this process still has open (they are unlinked at once, so only /proc shows them). */
function openSpoolFiles(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(spoolDir));
}

afterAll(async () => {
  await proxy.close();
  await stub.close();
  await closeExiftool();
  // Spooled bodies (which held the unsanitised photos) are gone, on success and on refusal alike.
  expect(openSpoolFiles()).toEqual([]);
  expect(readdirSync(spoolDir)).toEqual([]);
  rmSync(spoolDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  standIn = reencode;
  produced = [];
  calls = [];
  events.length = 0;
  stub.handle((req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 42, received: req.bodyLength }));
  });
});

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function multipart(path: string, parts: Parameters<typeof formBody>[0], extra: Array<[string, string]> = []): SendOptions {
  const boundary = `----WebKitFormBoundary${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const body = formBody(parts, boundary);
  return {
    method: 'POST',
    path,
    headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)], ...extra],
    body,
  };
}

/** Sends, and reports whether the CMS received anything. */
async function sendCounting(options: SendOptions): Promise<{ res: Received; forwarded: RecordedRequest[] }> {
  const before = stub.requests.length;
  const res = await send(proxy.port, options);
  // Anything forwarded would have arrived before the answer came back.
  return { res, forwarded: stub.requests.slice(before) };
}

async function gpsTags(bytes: Uint8Array): Promise<string[]> {
  const file = join(work, `${randomUUID()}.jpg`);
  writeFileSync(file, bytes);
  const tags = await readAllTags(file);
  return Object.keys(tags).filter((key) => /gps/i.test(key));
}

function receivedForm(req: RecordedRequest): ReturnType<typeof parseForm> {
  const type = req.headers['content-type']?.[0] ?? '';
  const boundary = /boundary=(.+)$/.exec(type)?.[1];
  expect(boundary).toBeTruthy();
  return parseForm(req.body, boundary!);
}

describe('a photo in a multipart upload', () => {
  it('reaches the CMS sanitised, renamed, with the other parts byte for byte', async () => {
    expect(await gpsTags(PHOTO)).not.toEqual([]);
    const notes = Buffer.from('%PDF-1.4\n% a school letter, not a picture\n');
    const { res, forwarded } = await sendCounting(
      multipart('/upload', [
        { name: 'title', data: 'Sports day – Year 6 ✓' },
        { name: 'photo', filename: 'Jane Smith year 6.jpg', contentType: 'image/jpeg', data: PHOTO },
        { name: 'letter', filename: 'letter.pdf', contentType: 'application/pdf; name="letter.pdf"', data: notes },
        { name: 'empty', data: '' },
      ]),
    );
    expect(res.status).toBe(201);
    expect(forwarded).toHaveLength(1);
    const req = forwarded[0]!;
    expect(Number(req.headers['content-length']?.[0])).toBe(req.bodyLength);
    const parts = receivedForm(req);
    expect(parts.map((p) => p.headers['content-disposition'])).toEqual([
      'form-data; name="title"',
      expect.stringMatching(/^form-data; name="photo"; filename="photo-20261126-[0-9a-f-]{6}\.jpg"$/),
      'form-data; name="letter"; filename="letter.pdf"',
      'form-data; name="empty"',
    ]);
    expect(parts[0]!.data.toString('utf8')).toBe('Sports day – Year 6 ✓');
    expect(parts[1]!.headers['content-type']).toBe('image/jpeg');
    expect(sha(parts[1]!.data)).toBe(sha(produced[0]!));
    expect(await gpsTags(parts[1]!.data)).toEqual([]);
    expect(parts[2]!.headers['content-type']).toBe('application/pdf; name="letter.pdf"');
    expect(parts[2]!.data.equals(notes)).toBe(true);
    expect(parts[3]!.data.length).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.file).toMatchObject({ filename: 'Jane Smith year 6.jpg', declaredType: 'image/jpeg', field: 'photo' });
    expect(sha(calls[0]!.file.bytes)).toBe(sha(PHOTO));
    expect(calls[0]!.ctx).toMatchObject({ cms: 'multipart', method: 'POST', path: '/upload', clientIp: '127.0.0.1' });
    expect(events).toMatchObject([{ result: 'sanitised', images: 1, cms: 'multipart', upstreamStatus: 201 }]);
  });

  it('with no picture in it reaches the CMS as the original body, byte for byte', async () => {
    // A real archive (a directory Veil can read) with code and no pictures in it.
    const zip = zipArchive([{ name: 'my-plugin/my-plugin.php', data: Buffer.alloc(300_000, 'echo 1;\n'), deflate: true }]);
    const options = multipart('/wp-admin/update.php?action=upload-plugin', [
      { name: '_wpnonce', data: 'abc123' },
      { name: 'pluginzip', filename: 'plugin.zip', contentType: 'application/zip', data: zip },
    ]);
    const { res, forwarded } = await sendCounting(options);
    expect(res.status).toBe(201);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.sha256).toBe(sha(options.body as Buffer));
    expect(forwarded[0]!.headers['content-type']).toEqual([options.headers!.find(([n]) => n === 'Content-Type')![1]]);
    expect(forwarded[0]!.url).toBe('/wp-admin/update.php?action=upload-plugin');
    expect(calls).toHaveLength(0);
  });

  it('with several photos: all are sanitised', async () => {
    const { res, forwarded } = await sendCounting(
      multipart('/upload', [
        { name: 'files[]', filename: 'a.jpg', contentType: 'image/jpeg', data: PHOTO },
        { name: 'files[]', filename: 'b.jpg', contentType: 'image/jpeg', data: PHOTO2 },
      ]),
    );
    expect(res.status).toBe(201);
    const parts = receivedForm(forwarded[0]!);
    expect(parts.map((p) => sha(p.data)).sort()).toEqual(produced.map(sha).sort());
    expect(parts).toHaveLength(2);
    for (const part of parts) expect(await gpsTags(part.data)).toEqual([]);
  });

  it('with several photos, one refused: the whole upload is refused and nothing is forwarded', async () => {
    standIn = async (file, ctx, signal) => (file.filename === 'b.jpg' ? { kind: 'refused', error: new VeilError('CORRUPT_IMAGE', 'This picture could not be read.') } : reencode(file, ctx, signal));
    const { res, forwarded } = await sendCounting(
      multipart('/upload', [
        { name: 'files[]', filename: 'a.jpg', contentType: 'image/jpeg', data: PHOTO },
        { name: 'files[]', filename: 'b.jpg', contentType: 'image/jpeg', data: PHOTO2 },
      ]),
    );
    expect(res.status).toBe(422);
    expect(res.body.toString()).toContain('This picture could not be read.');
    expect(forwarded).toEqual([]);
  });

  it('an SVG or a BMP sent as "photo.jpg", image/jpeg, goes to the sanitiser and is not passed through', async () => {
    const svg = Buffer.from('\ufeff<?xml version="1.0"?>\n<!-- made by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    for (const bytes of [svg, bmp(4, 4)]) {
      calls = [];
      const { res, forwarded } = await sendCounting(multipart('/upload', [{ name: 'photo', filename: 'photo.jpg', contentType: 'image/jpeg', data: bytes }]));
      expect(forwarded).toEqual([]);
      expect(res.status).toBe(415);
      expect(calls).toHaveLength(1);
      expect(sha(calls[0]!.file.bytes)).toBe(sha(bytes));
    }
  });

  it('an oversized photo is answered 413 and nothing is forwarded', async () => {
    const big = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg({ quality: 100 }).toBuffer();
    expect(big.length).toBeGreaterThan(5 * 1024 * 1024);
    const { res, forwarded } = await sendCounting(multipart('/upload', [{ name: 'photo', filename: 'big.jpg', contentType: 'image/jpeg', data: big }]));
    expect(res.status).toBe(413);
    expect(res.body.toString()).toMatch(/larger than the 5 MB/);
    expect(forwarded).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('a body over maxBodyBytes is answered 413 before anything is forwarded', async () => {
    const options = multipart('/upload', [{ name: 'archive', filename: 'big.zip', contentType: 'application/zip', data: Buffer.alloc(21 * 1024 * 1024, 1) }]);
    const { res, forwarded } = await sendCounting(options);
    expect(res.status).toBe(413);
    expect(forwarded).toEqual([]);
  });

  it('answers JSON to a client that accepts JSON', async () => {
    standIn = async () => ({ kind: 'held', uploadId: 'u-1', reference: 'VEIL-7QX', message: 'Faces were found; the safeguarding lead will review this photo.' });
    const { res } = await sendCounting(multipart('/upload', [{ name: 'photo', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }], [['Accept', 'application/json']]));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toEqual({
      error: { code: 'FACES_HELD', message: 'Faces were found; the safeguarding lead will review this photo. Reference: VEIL-7QX.', uploadId: 'u-1', reference: 'VEIL-7QX' },
    });
  });
});

describe('when the CMS is down', () => {
  it('a sanitised upload is answered 502 and its spool is released', async () => {
    const gone = await startStubUpstream();
    const url = gone.url;
    await gone.close();
    const orphan = await startProxy({ upstream: url, sanitise, spoolDir });
    try {
      const res = await send(orphan.port, multipart('/upload', [{ name: 'photo', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }, { name: 'notes', filename: 'n.txt', data: 'x'.repeat(100_000) }]));
      expect(res.status).toBe(502);
      expect(calls).toHaveLength(1);
      // The spool is released as the 502 goes out; wait for that rather than for a fixed time.
      await vi.waitFor(() => expect(openSpoolFiles()).toEqual([]), { timeout: 10_000, interval: 20 });
    } finally {
      await orphan.close();
    }
  });
});

describe('a raw photo body', () => {
  it('reaches the CMS sanitised, with new Content-Type, Content-Length and filename', async () => {
    const { res, forwarded } = await sendCounting({
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="Jane Smith.jpg"'], ['Content-Length', String(PHOTO.length)], ['Authorization', `Basic ${Buffer.from('teacher:app pass word').toString('base64')}`]],
      body: PHOTO,
    });
    expect(res.status).toBe(201);
    const req = forwarded[0]!;
    expect(req.sha256).toBe(sha(produced[0]!));
    expect(req.headers['content-type']).toEqual(['image/jpeg']);
    expect(req.headers['content-length']).toEqual([String(produced[0]!.length)]);
    expect(req.headers['content-disposition']?.[0]).toMatch(/^attachment; filename="photo-20261126-[0-9a-f-]{6}\.jpg"$/);
    expect(req.headers.authorization).toHaveLength(1);
    expect(await gpsTags(req.body)).toEqual([]);
    expect(calls[0]!.file).toMatchObject({ filename: 'Jane Smith.jpg', declaredType: 'image/jpeg' });
    expect(calls[0]!.ctx).toMatchObject({ cms: 'wordpress', user: 'teacher' });
  });

  it('that is not a picture streams through untouched', async () => {
    const body = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(200_000, 3)]);
    const { forwarded } = await sendCounting({ method: 'PUT', path: '/files/report.pdf', headers: [HOST, ['Content-Type', 'application/pdf'], ['Content-Length', String(body.length)]], body });
    expect(forwarded[0]!.sha256).toBe(sha(body));
    expect(forwarded[0]!.headers['content-length']).toEqual([String(body.length)]);
    expect(calls).toEqual([]);
  });

  it('too large is answered 413 and nothing is forwarded', async () => {
    const big = Buffer.concat([PHOTO.subarray(0, 1000), Buffer.alloc(6 * 1024 * 1024)]);
    const { res, forwarded } = await sendCounting({ method: 'POST', path: '/api/photos', headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Length', String(big.length)]], body: big });
    expect(res.status).toBe(413);
    expect(forwarded).toEqual([]);
  });

  it('sent compressed is refused, since Veil cannot look inside', async () => {
    const { res, forwarded } = await sendCounting({ method: 'POST', path: '/api/photos', headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Encoding', 'gzip'], ['Content-Length', '10']], body: Buffer.alloc(10) });
    expect(res.status).toBe(415);
    expect(forwarded).toEqual([]);
  });
});

describe('WordPress uploads are recognised and answered as WordPress would', () => {
  const cookie: [string, string] = ['Cookie', 'wordpress_test_cookie=WP+Cookie+check; wordpress_logged_in_0123abcd=ms.jones%7C1764000000%7Ctoken%7Chmac'];
  const asyncUpload = (path = '/wp-admin/async-upload.php', action = true): SendOptions =>
    multipart(
      path,
      [
        { name: 'name', data: 'Jane <b>Smith</b>.jpg' },
        ...(action ? [{ name: 'action', data: 'upload-attachment' }] : [{ name: 'short', data: '1' }]),
        { name: '_wpnonce', data: '5f3a1b' },
        { name: 'async-upload', filename: 'Jane <b>Smith</b>.jpg', contentType: 'image/jpeg', data: PHOTO },
      ],
      [cookie],
    );

  it.each([
    ['async-upload.php (media modal)', asyncUpload()],
    ['async-upload.php in a sub-folder site', asyncUpload('/blog/wp-admin/async-upload.php')],
    ['media-new.php (browser uploader)', multipart('/wp-admin/media-new.php', [{ name: 'post_id', data: '0' }, { name: 'async-upload', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }, { name: 'html-upload', data: 'Upload' }], [cookie])],
    ['REST multipart', multipart('/wp-json/wp/v2/media', [{ name: 'file', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }, { name: 'alt_text', data: 'Sports day' }], [cookie])],
    ['REST ?rest_route= raw', { method: 'POST', path: '/?rest_route=/wp/v2/media', headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename=p.jpg'], ['Content-Length', String(PHOTO.length)], cookie], body: PHOTO } satisfies SendOptions],
  ])('%s', async (_name, options) => {
    const { res, forwarded } = await sendCounting(options);
    expect(res.status).toBe(201);
    expect(forwarded).toHaveLength(1);
    expect(calls[0]!.ctx).toMatchObject({ cms: 'wordpress', user: 'ms.jones' });
    expect(await gpsTags(produced[0]!)).toEqual([]);
  });

  it('held in the media modal: HTTP 200, {success:false}, the message and the escaped filename; nothing forwarded', async () => {
    standIn = async () => ({ kind: 'held', uploadId: 'up-9', reference: 'VEIL-9', message: 'This photo shows faces, so it is waiting for the safeguarding lead (reference VEIL-9).' });
    const { res, forwarded } = await sendCounting(asyncUpload());
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toEqual(['text/plain; charset=UTF-8']);
    expect(JSON.parse(res.body.toString())).toEqual({
      success: false,
      data: { message: 'This photo shows faces, so it is waiting for the safeguarding lead (reference VEIL-9).', filename: 'Jane &#60;b&#62;Smith&#60;/b&#62;.jpg' },
    });
    expect(events).toMatchObject([{ result: 'held', uploadIds: ['up-9'], user: 'ms.jones', cms: 'wordpress' }]);
  });

  it('refused on the Add New page uploader: the error-div WordPress prints', async () => {
    standIn = async () => ({ kind: 'refused', error: new VeilError('UNSUPPORTED_FORMAT', 'Veil cannot publish this kind of picture.') });
    const { res, forwarded } = await sendCounting(asyncUpload('/wp-admin/async-upload.php', false));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toMatch(/^<div class="error-div error">.*&#8220;Jane &#60;b&#62;Smith&#60;\/b&#62;\.jpg&#8221; has failed to upload\.<\/strong><br \/>Veil cannot publish this kind of picture\.<\/div>$/);
  });

  it('refused on media-new.php: a wp_die page with the status', async () => {
    standIn = async () => ({ kind: 'refused', error: new VeilError('CORRUPT_IMAGE', 'This picture could not be read.') });
    const { res, forwarded } = await sendCounting(multipart('/wp-admin/media-new.php', [{ name: 'async-upload', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }, { name: 'html-upload', data: 'Upload' }]));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(422);
    expect(res.body.toString()).toContain('<title>WordPress &rsaquo; Error</title>');
    expect(res.body.toString()).toContain('<p>This picture could not be read.</p>');
  });

  it('a throwing sanitiser: REST error JSON, 500, nothing forwarded', async () => {
    standIn = async () => {
      throw new Error('redis exploded');
    };
    const { res, forwarded } = await sendCounting(multipart('/wp-json/wp/v2/media', [{ name: 'file', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }]));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body.toString())).toEqual({ code: 'veil_internal', message: 'Unexpected error: redis exploded', data: { status: 500 } });
  });

  it('a sanitiser that never answers: TIMEOUT after uploadTimeoutMs, its signal aborted, nothing forwarded', async () => {
    standIn = () => new Promise(() => undefined);
    const impatient = await startProxy({ upstream: stub.url, sanitise, spoolDir, limits: { maxUploadBytes: 5 * 1024 * 1024, maxBodyBytes: 20 * 1024 * 1024, uploadTimeoutMs: 400 } });
    try {
      const before = stub.requests.length;
      const res = await send(impatient.port, { method: 'POST', path: '/wp-json/wp/v2/media', headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Length', String(PHOTO.length)]], body: PHOTO });
      expect(stub.requests.slice(before)).toEqual([]);
      expect(res.status).toBe(504);
      expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'veil_timeout', data: { status: 504 } });
      expect(calls[0]!.signal.aborted).toBe(true);
      expect(calls[0]!.signal.reason).toBeInstanceOf(VeilError);
    } finally {
      await impatient.close();
    }
  });

  it('held via REST: veil_upload_held with a 4xx the block editor shows', async () => {
    standIn = async () => ({ kind: 'held', uploadId: 'up-3', reference: 'VEIL-3', message: 'Held for review.' });
    const { res } = await sendCounting(multipart('/wp-json/wp/v2/media', [{ name: 'file', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }]));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toEqual({ code: 'veil_upload_held', message: 'Held for review. Reference: VEIL-3.', data: { status: 403, upload_id: 'up-3', reference: 'VEIL-3' } });
  });

  it('an oversized photo in the media modal: WordPress JSON, nothing forwarded', async () => {
    const big = Buffer.concat([PHOTO, Buffer.alloc(6 * 1024 * 1024)]);
    const { res, forwarded } = await sendCounting(multipart('/wp-admin/async-upload.php', [{ name: 'action', data: 'upload-attachment' }, { name: 'async-upload', filename: 'big.jpg', contentType: 'image/jpeg', data: big }]));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ success: false, data: { message: expect.stringMatching(/larger than the 5 MB/), filename: 'big.jpg' } });
  });
});

// WordPress XML-RPC: test/xmlrpc.test.ts.

describe('Joomla uploads (pictures as base64 inside JSON)', () => {
  const TOKEN = 'a3f9c0ffee0123456789abcdef012345';
  const MEDIA = '/administrator/index.php?option=com_media&format=json&mediatypes=0,1,2,3&task=api.files&path=local-images:/2026';
  const json = (method: string, path: string, value: unknown): SendOptions => {
    const body = JSON.stringify(value);
    return { method, path, headers: [HOST, ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body };
  };
  const received = (req: RecordedRequest) => JSON.parse(req.body.toString('utf8')) as Record<string, string>;

  it('the media manager\'s upload reaches Joomla sanitised and renamed, its token and query untouched', async () => {
    const { res, forwarded } = await sendCounting(json('POST', MEDIA, { [TOKEN]: '1', name: 'Jane Smith year 6.jpg', content: PHOTO.toString('base64') }));
    expect(res.status).toBe(201);
    expect(calls).toHaveLength(1);
    expect(sha(calls[0]!.file.bytes)).toBe(sha(PHOTO));
    expect(calls[0]!.file.filename).toBe('Jane Smith year 6.jpg');
    expect(calls[0]!.ctx.cms).toBe('joomla');
    expect(forwarded).toHaveLength(1);
    const got = forwarded[0]!;
    expect(got.url).toBe(MEDIA);
    expect(got.headers['content-length']).toEqual([String(got.bodyLength)]);
    const body = received(got);
    expect(Object.keys(body)).toEqual([TOKEN, 'name', 'content']);
    expect(body[TOKEN]).toBe('1');
    expect(body.name).toMatch(/^photo-20261126-[0-9a-f]{6}\.jpg$/);
    const bytes = Buffer.from(body.content!, 'base64');
    expect(sha(bytes)).toBe(sha(produced[0]!));
    expect(await gpsTags(PHOTO)).not.toEqual([]);
    expect(await gpsTags(bytes)).toEqual([]);
  });

  it('the web services API\'s upload gets the new name in its path', async () => {
    const { forwarded } = await sendCounting(json('POST', '/api/index.php/v1/media/files', { path: 'local-images:/2026/sports/Jane.jpg', content: PHOTO.toString('base64') }));
    const body = received(forwarded[0]!);
    expect(body.path).toMatch(/^local-images:\/2026\/sports\/photo-20261126-[0-9a-f]{6}\.jpg$/);
    expect(sha(Buffer.from(body.content!, 'base64'))).toBe(sha(produced[0]!));
  });

  it('replacing a file keeps the name the site links to', async () => {
    const { forwarded } = await sendCounting(json('PUT', `${MEDIA}/team.jpg`, { [TOKEN]: '1', content: PHOTO.toString('base64') }));
    const body = received(forwarded[0]!);
    expect(Object.keys(body)).toEqual([TOKEN, 'content']);
    expect(sha(Buffer.from(body.content!, 'base64'))).toBe(sha(produced[0]!));
  });

  it('a new folder, a PDF and other calls go on byte for byte, unsanitised', async () => {
    for (const options of [
      json('POST', MEDIA, { [TOKEN]: '1', name: 'trips' }),
      json('POST', MEDIA, { [TOKEN]: '1', name: 'letter.pdf', content: Buffer.from('%PDF-1.4\n% a letter home\n').toString('base64') }),
      json('PUT', `${MEDIA}/team.jpg`, { [TOKEN]: '1', newPath: 'local-images:/2025/team.jpg', move: '1' }),
    ]) {
      const { forwarded } = await sendCounting(options);
      expect(forwarded).toHaveLength(1);
      expect(forwarded[0]!.body.toString('utf8')).toBe(options.body);
    }
    expect(calls).toEqual([]);
  });

  it('a held photo is answered as Joomla\'s JsonResponse, and nothing reaches Joomla', async () => {
    standIn = async () => ({ kind: 'held', uploadId: 'j-1', reference: 'VEIL-J1', message: 'Held for review.' });
    const { res, forwarded } = await sendCounting(json('POST', MEDIA, { [TOKEN]: '1', name: 'p.jpg', content: PHOTO.toString('base64') }));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toEqual({ success: false, message: 'Held for review. Reference: VEIL-J1.', messages: null, data: null });
  });

  it('a body that is not JSON, or a picture behind a data: prefix, is not waved through', async () => {
    const broken = `{"name":"p.jpg","content":"${PHOTO.toString('base64')}"`;
    const { res, forwarded } = await sendCounting({ method: 'POST', path: MEDIA, headers: [HOST, ['Content-Type', 'application/json'], ['Content-Length', String(broken.length)]], body: broken });
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ success: false, message: expect.stringMatching(/not valid JSON/) });

    const dataUri = await sendCounting(json('POST', MEDIA, { name: 'p.jpg', content: `data:image/jpeg;base64,${PHOTO.toString('base64')}` }));
    expect(calls).toHaveLength(1);
    expect(sha(Buffer.from(received(dataUri.forwarded[0]!).content!, 'base64'))).toBe(sha(produced[0]!));
  });
});

describe('pictures pasted into a rich-text editor (data: URIs inside forms and JSON)', () => {
  const form = (fields: Record<string, string>): SendOptions => {
    const body = new URLSearchParams(fields).toString();
    return { method: 'POST', path: '/administrator/index.php?option=com_content&view=article&layout=edit&id=7', headers: [HOST, ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)], ['Cookie', 'joomla_admin=abc']], body };
  };

  it('an article saved with a pasted photo reaches the CMS with the photo sanitised, everything else byte for byte', async () => {
    const article = `<p>Sports day</p><p><img src="data:image/jpeg;base64,${PHOTO.toString('base64')}" alt=""></p>`;
    const options = form({ 'jform[title]': 'Sports day – Year 6 ✓', 'jform[articletext]': article, task: 'article.apply', c0ffee: '1' });
    const { res, forwarded } = await sendCounting(options);
    expect(res.status).toBe(201);
    expect(calls.map((c) => c.ctx.cms)).toEqual(['text-body']);
    expect(sha(calls[0]!.file.bytes)).toBe(sha(PHOTO));
    const got = forwarded[0]!;
    expect(got.headers['content-length']).toEqual([String(got.bodyLength)]);
    expect(got.headers.cookie).toEqual(['joomla_admin=abc']);
    const sent = options.body as string;
    const before = sent.slice(0, sent.indexOf('data%3A'));
    expect(got.body.toString('latin1').startsWith(before)).toBe(true);
    expect(got.body.toString('latin1').endsWith('&task=article.apply&c0ffee=1')).toBe(true);
    const saved = new URLSearchParams(got.body.toString('latin1')).get('jform[articletext]')!;
    const uri = /src="data:image\/jpeg;base64,([^"]+)"/.exec(saved)![1]!;
    const bytes = Buffer.from(uri, 'base64');
    expect(sha(bytes)).toBe(sha(produced[0]!));
    expect(await gpsTags(bytes)).toEqual([]);
  });

  it('a post saved as JSON with two pasted photos: both replaced, in order', async () => {
    const body = JSON.stringify({ title: 'Trip', content: `<img src="data:image/jpeg;base64,${PHOTO.toString('base64')}"><img src="data:image/jpeg;base64,${PHOTO2.toString('base64')}">`, status: 'draft' });
    const { forwarded } = await sendCounting({ method: 'POST', path: '/wp-json/wp/v2/posts/12', headers: [HOST, ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]], body });
    expect(calls.map((c) => sha(c.file.bytes))).toEqual([sha(PHOTO), sha(PHOTO2)]);
    const saved = JSON.parse(forwarded[0]!.body.toString()) as { title: string; content: string; status: string };
    expect(saved.title).toBe('Trip');
    expect(saved.status).toBe('draft');
    const uris = [...saved.content.matchAll(/base64,([^"]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64'));
    // Both are the sanitiser's outputs, each where its own photo was (the two finish in either order).
    expect(uris.map(sha).sort()).toEqual(produced.map(sha).sort());
    const heights = async (bytes: Buffer[]) => Promise.all(bytes.map(async (b) => (await sharp(b).metadata()).height));
    expect(await heights(uris)).toEqual(await heights([PHOTO, PHOTO2]));
  });

  it('forms and JSON without pictures go on byte for byte; a held pasted photo stops the whole save', async () => {
    const plain = form({ 'jform[title]': 'Letters home', 'jform[articletext]': '<p>No pictures here. data:text/plain;base64,SGVsbG8=</p>' });
    const { forwarded } = await sendCounting(plain);
    expect(forwarded[0]!.body.toString('latin1')).toBe(plain.body);
    expect(calls).toEqual([]);

    standIn = async () => ({ kind: 'held', uploadId: 't-1', reference: 'VEIL-T1', message: 'Held for review.' });
    const held = await sendCounting(form({ 'jform[articletext]': `<img src="data:image/jpeg;base64,${PHOTO.toString('base64')}">` }));
    expect(held.forwarded).toEqual([]);
    expect(held.res.status).toBe(403);
    expect(held.res.body.toString()).toMatch(/Held for review\. Reference: VEIL-T1\./);
  });
});

describe('multipart bodies that are not forms (multipart/related, /mixed)', () => {
  const related = (parts: string[], subtype = 'related'): SendOptions => {
    const body = Buffer.concat([...parts.map((p) => Buffer.from(`--b0undary\r\n${p}\r\n`, 'latin1')), Buffer.from('--b0undary--\r\n')]);
    return { method: 'POST', path: '/api/upload', headers: [HOST, ['Content-Type', `multipart/${subtype}; boundary=b0undary`], ['Content-Length', String(body.length)]], body };
  };
  const meta = 'Content-Type: application/json\r\n\r\n{"title":"Sports day"}';

  it('a picture in any part, raw or base64, is refused and nothing is forwarded', async () => {
    for (const options of [
      related([meta, `Content-Type: image/jpeg\r\n\r\n${PHOTO.toString('latin1')}`]),
      related([meta, `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${PHOTO.toString('base64').replace(/.{76}/g, '$&\r\n')}`], 'mixed'),
    ]) {
      const { res, forwarded } = await sendCounting(options);
      expect(forwarded).toEqual([]);
      expect(res.status).toBe(415);
      expect(res.body.toString()).toMatch(/cannot be sent this way/);
    }
    expect(calls).toEqual([]);
  });

  it('without a picture the body goes on byte for byte', async () => {
    const options = related([meta, 'Content-Type: text/plain\r\n\r\nA letter home.']);
    const { forwarded } = await sendCounting(options);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.body.equals(options.body as Buffer)).toBe(true);
  });
});

describe('Ghost uploads', () => {
  it('a held photo is answered in Ghost admin API form', async () => {
    standIn = async () => ({ kind: 'held', uploadId: 'g-1', reference: 'VEIL-G1', message: 'Held for review.' });
    const { res, forwarded } = await sendCounting(multipart('/ghost/api/admin/images/upload/', [{ name: 'file', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }, { name: 'purpose', data: 'image' }]));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toMatchObject({ errors: [{ message: 'Held for review. Reference: VEIL-G1.', type: 'NoPermissionError', code: 'FACES_HELD', id: 'g-1' }] });
  });
});

describe('uploads built to slip past a parser are refused, not passed through', () => {
  const boundary = 'XyZBoundary';
  const crafted = (body: Buffer): SendOptions => ({
    method: 'POST',
    path: '/wp-admin/async-upload.php',
    headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]],
    body,
  });

  it('a file part whose disposition is not form-data (busboy skips it, PHP reads it)', async () => {
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: attachment; name="async-upload"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      PHOTO,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const { res, forwarded } = await sendCounting(crafted(body));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toMatch(/^<div class="error-div error">.*could not read this upload safely/);
  });

  it('bare-LF line endings (PHP accepts them, busboy does not)', async () => {
    const body = Buffer.concat([Buffer.from(`--${boundary}\nContent-Disposition: form-data; name="async-upload"; filename="x.jpg"\nContent-Type: image/jpeg\n\n`), PHOTO, Buffer.from(`\n--${boundary}--\n`)]);
    const { forwarded } = await sendCounting(crafted(body));
    expect(forwarded).toEqual([]);
  });

  it('a picture sent as a plain field, without a filename', async () => {
    const { res, forwarded } = await sendCounting(multipart('/upload', [{ name: 'photo', data: PHOTO }]));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(400);
  });

  it('a part with Content-Transfer-Encoding: base64', async () => {
    const { res, forwarded } = await sendCounting(multipart('/upload', [{ name: 'photo', filename: 'p.jpg', contentType: 'image/jpeg', extraHeaders: ['Content-Transfer-Encoding: base64'], data: PHOTO.toString('base64') }]));
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(400);
  });

  it('two boundary parameters', async () => {
    const body = formBody([{ name: 'photo', filename: 'p.jpg', contentType: 'image/jpeg', data: PHOTO }], 'BBB');
    const { res, forwarded } = await sendCounting({ method: 'POST', path: '/upload', headers: [HOST, ['Content-Type', 'multipart/form-data; xboundary=AAA; boundary=BBB'], ['Content-Length', String(body.length)]], body });
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(400);
  });
});

/** A minimal 24-bit BMP, written in code. */
function bmp(width: number, height: number): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const pixels = rowBytes * height;
  const out = Buffer.alloc(54 + pixels, 0x80);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(0, 6);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(0, 30);
  out.writeUInt32LE(pixels, 34);
  out.writeInt32LE(2835, 38);
  out.writeInt32LE(2835, 42);
  out.writeUInt32LE(0, 46);
  out.writeUInt32LE(0, 50);
  return out;
}
