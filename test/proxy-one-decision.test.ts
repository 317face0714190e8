import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SanitiseUpload } from '../src/proxy/types.js';
import { docx, mp4Boxes, pdfDocument } from './helpers/containers.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { formBody, parseForm, send, startProxy, type Received, type RunningProxy, type SendOptions } from './helpers/http.js';
import { startStubUpstream, type RecordedRequest, type StubUpstream } from './helpers/stub-upstream.js';

/**
 * One decision per body: what a body IS decides, never its Content-Type. A recording CMS shows
 * what got through; the stand-in sanitiser re-encodes with sharp (no metadata), as the real
 * pipeline does, so whatever the CMS receives can be checked with ExifTool.
 */
const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const HOST: [string, string] = ['Host', 'school.example'];

const reencode: SanitiseUpload = async (file) => {
  const bytes = await sharp(file.bytes).rotate().resize(320).jpeg({ quality: 70 }).toBuffer();
  return { kind: 'sanitised', uploadId: randomUUID(), bytes, filename: `photo-20261203-${randomUUID().slice(0, 6)}.jpg`, contentType: 'image/jpeg' };
};
let calls = 0;
const sanitise: SanitiseUpload = (file, ctx, signal) => {
  calls++;
  return reencode(file, ctx, signal);
};

let stub: StubUpstream;
let proxy: RunningProxy;
let spoolDir: string;
let work: string;
let small: Buffer;

beforeAll(async () => {
  stub = await startStubUpstream({ keepBodyBytes: 64 * 1024 * 1024 });
  spoolDir = mkdtempSync(join(tmpdir(), 'veil-decision-spool-'));
  work = mkdtempSync(join(tmpdir(), 'veil-decision-work-'));
  small = await sharp(PHOTO).resize(200).withMetadata().jpeg().toBuffer();
  // Generous: this checks decisions, not speed, and CI machines are busy.
  proxy = await startProxy({ upstream: stub.url, sanitise, spoolDir, limits: { maxUploadBytes: 5 * 1024 * 1024, maxBodyBytes: 64 * 1024 * 1024, uploadTimeoutMs: 30_000 } });
});

afterAll(async () => {
  await proxy.close();
  await stub.close();
  await closeExiftool();
  rmSync(spoolDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  calls = 0;
  stub.handle((req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ received: req.bodyLength }));
  });
});

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function raw(method: string, path: string, body: Buffer, contentType?: string): SendOptions {
  const headers: Array<[string, string]> = [HOST, ['Content-Length', String(body.length)]];
  if (contentType) headers.push(['Content-Type', contentType]);
  return { method, path, headers, body };
}

async function sendCounting(options: SendOptions): Promise<{ res: Received; forwarded: RecordedRequest[] }> {
  const before = stub.requests.length;
  const res = await send(proxy.port, options);
  return { res, forwarded: stub.requests.slice(before) };
}

/** Any 32-byte run of the original photo's compressed pixels in what the CMS received. */
function holdsOriginal(received: Buffer, original: Buffer): boolean {
  const sos = original.indexOf(Buffer.from([0xff, 0xda]));
  for (let at = sos + 100; at < original.length - 64; at += Math.max(1, Math.floor((original.length - sos) / 50))) {
    if (received.includes(original.subarray(at, at + 32))) return true;
  }
  return false;
}

async function gpsTags(bytes: Uint8Array): Promise<string[]> {
  const file = join(work, `${randomUUID()}.jpg`);
  writeFileSync(file, bytes);
  return Object.keys(await readAllTags(file)).filter((key) => /gps/i.test(key));
}

describe('a photo is a photo whatever its Content-Type says', () => {
  for (const type of ['text/plain', 'application/json', 'application/x-www-form-urlencoded', 'application/octet-stream', undefined]) {
    it(`sent raw as ${type ?? 'no Content-Type'}: the CMS gets the sanitised photo`, async () => {
      const { res, forwarded } = await sendCounting(raw('POST', '/wp-json/wp/v2/media', PHOTO, type));
      expect(res.status).toBe(201);
      expect(calls).toBe(1);
      expect(forwarded).toHaveLength(1);
      expect(holdsOriginal(forwarded[0]!.body, PHOTO)).toBe(false);
      expect(await gpsTags(forwarded[0]!.body)).toEqual([]);
      expect(forwarded[0]!.headers['content-type']).toEqual(['image/jpeg']);
    });
  }

  it('a WebDAV PUT of a photo as text/plain is sanitised too', async () => {
    const { forwarded } = await sendCounting(raw('PUT', '/remote.php/dav/files/staff/Photos/jane.jpg', PHOTO, 'text/plain'));
    expect(forwarded).toHaveLength(1);
    expect(holdsOriginal(forwarded[0]!.body, PHOTO)).toBe(false);
  });
});

describe('pictures that hide are refused, and nothing reaches the CMS', () => {
  const cases: [string, () => Buffer, string?][] = [
    ['padding before the JPEG', () => Buffer.concat([Buffer.from('\r\n\r\n    '), PHOTO]), 'application/octet-stream'],
    ['a JPEG with its SOI cut off (the second chunk of a split upload)', () => PHOTO.subarray(2), 'application/octet-stream'],
    ['the first two bytes of a JPEG alone', () => PHOTO.subarray(0, 2), 'application/octet-stream'],
    ['a JPEG after 8 KiB of text', () => Buffer.concat([Buffer.from('a'.repeat(8192)), PHOTO]), 'text/plain'],
    ['a hex-spelled JPEG in JSON', () => Buffer.from(JSON.stringify({ image: small.toString('hex') })), 'application/json'],
    ['base64url in JSON sent as application/x-json', () => Buffer.from(JSON.stringify({ image: small.toString('base64url') })), 'application/x-json'],
    ['entity-encoded data: URI in XML', () => Buffer.from(`<post><content>&lt;img src="data:image/jpeg;base64,${small.toString('base64').replace(/\//g, '&#47;')}"&gt;</content></post>`), 'application/xml'],
  ];
  for (const [name, body, type] of cases) {
    it(name, async () => {
      const { res, forwarded } = await sendCounting(raw('POST', '/index.php', body(), type));
      expect(forwarded).toEqual([]);
      expect(res.status).toBe(415);
      expect(res.body.toString()).toMatch(/picture/i);
    });
  }

  it('a binary body with a JPEG deep inside is judged whole: nothing reaches the CMS', async () => {
    const body = Buffer.concat([randomBytes(3 * 1024 * 1024), PHOTO, randomBytes(1024 * 1024)]);
    const { res, forwarded } = await sendCounting(raw('PUT', '/dav/archive.bin', body, 'application/octet-stream'));
    expect(res.status).toBe(415);
    expect(forwarded).toEqual([]);
  });

  it('a binary body too large to judge whole streams on, and is cut off before the JPEG reaches the CMS', async () => {
    // Past 4/3 of the 5 MiB photo limit (+64 KiB): checked byte by byte as it streams.
    const body = Buffer.concat([randomBytes(7 * 1024 * 1024), PHOTO, randomBytes(1024 * 1024)]);
    const next = stub.nextRequest();
    const { res, forwarded } = await sendCounting(raw('PUT', '/dav/archive.bin', body, 'application/octet-stream'));
    expect(res.status).toBe(415);
    // The body streams on while it is checked, so the CMS saw a request: cut off before the JPEG.
    const cutOff = forwarded[0] ?? (await next);
    expect(cutOff.aborted).toBe(true);
    expect(cutOff.bodyLength).toBeLessThan(7 * 1024 * 1024 + 64 * 1024);
    expect(holdsOriginal(cutOff.body, PHOTO)).toBe(false);
  });
});

describe('text bodies: pictures sanitised in place, in the body\'s own encoding', () => {
  it('JSON in UTF-16 with a pasted photo reaches the CMS in UTF-16, photo sanitised', async () => {
    const json = JSON.stringify({ title: 'Sports day', content: `<img src="data:image/jpeg;base64,${PHOTO.toString('base64')}">` });
    const body = Buffer.from(`\ufeff${json}`, 'utf16le');
    const { res, forwarded } = await sendCounting(raw('POST', '/wp-admin/admin-ajax.php', body, 'application/json; charset=utf-16'));
    expect(res.status).toBe(201);
    const got = forwarded[0]!.body;
    expect(got.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    const parsed = JSON.parse(got.subarray(2).toString('utf16le')) as { title: string; content: string };
    expect(parsed.title).toBe('Sports day');
    const picture = Buffer.from(/base64,([^"]+)"/.exec(parsed.content)![1]!, 'base64');
    expect(holdsOriginal(picture, PHOTO)).toBe(false);
    expect(await gpsTags(picture)).toEqual([]);
  });

  it('a multipart text field with a pasted photo (a Drupal node body) is rewritten in place, other parts byte for byte', async () => {
    const boundary = `----Veil${randomUUID().slice(0, 8)}`;
    const body = formBody(
      [
        { name: 'title[0][value]', data: 'Sports day' },
        { name: 'body[0][value]', data: `<p>Well done</p><img src="data:image/jpeg;base64,${PHOTO.toString('base64')}">` },
        { name: 'form_token', data: 'tok-123' },
      ],
      boundary,
    );
    const { res, forwarded } = await sendCounting({ method: 'POST', path: '/node/add/article', headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]], body });
    expect(res.status).toBe(201);
    const type = forwarded[0]!.headers['content-type']![0]!;
    const parts = parseForm(forwarded[0]!.body, /boundary=(.+)$/.exec(type)![1]!);
    expect(parts.map((p) => p.data.toString().slice(0, 12))).toEqual(['Sports day', '<p>Well done', 'tok-123']);
    expect(holdsOriginal(forwarded[0]!.body, PHOTO)).toBe(false);
    expect(parts[1]!.data.toString()).toMatch(/^<p>Well done<\/p><img src="data:image\/jpeg;base64,[A-Za-z0-9+/=]+">$/);
  });
});

describe('documents and videos that hold pictures or a place are refused until Veil can sanitise them', () => {
  const refused: [string, () => Buffer, string][] = [
    ['a PDF newsletter with a photo', () => pdfDocument({ photo: PHOTO }), 'application/pdf'],
    ['a DOCX with a photo in word/media/', () => docx(PHOTO), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['a phone video with its GPS position', () => mp4Boxes({ location: '+51.5072-000.1276/' }), 'video/mp4'],
  ];
  for (const [name, body, type] of refused) {
    it(`${name}: refused, with a message that says why`, async () => {
      const { res, forwarded } = await sendCounting(raw('POST', '/upload', body(), type));
      expect(forwarded).toEqual([]);
      expect(res.status).toBe(415);
      expect(res.body.toString()).toMatch(/pictures|place where it was made/);
    });
  }

  it('the same PDF inside a multipart form is refused too', async () => {
    const boundary = `----Veil${randomUUID().slice(0, 8)}`;
    const body = formBody([{ name: 'file', filename: 'newsletter.pdf', contentType: 'application/pdf', data: pdfDocument({ photo: PHOTO }) }], boundary);
    const { res, forwarded } = await sendCounting({ method: 'POST', path: '/upload', headers: [HOST, ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]], body });
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(415);
  });

  const passed: [string, () => Buffer, string][] = [
    ['a letter home as PDF', () => pdfDocument({ compressContent: true }), 'application/pdf'],
    ['a DOCX without pictures', () => docx(), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['a video without a location', () => mp4Boxes(), 'video/mp4'],
  ];
  for (const [name, body, type] of passed) {
    it(`${name}: passes byte for byte`, async () => {
      const bytes = body();
      const { res, forwarded } = await sendCounting(raw('POST', '/upload', bytes, type));
      expect(res.status).toBe(201);
      expect(forwarded[0]!.sha256).toBe(sha(bytes));
    });
  }
});
