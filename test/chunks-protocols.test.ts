import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeExiftool, nonStructuralTags, readAllTags, writeTags } from './helpers/exiftool.js';
import { FixtureDir } from './helpers/fixtures.js';
import { formBody, parseForm, send, type Received } from './helpers/http.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * Upload libraries that send files in pieces, through the whole of Veil in front of a recording
 * stub CMS. A file in more than one piece is refused with a message naming the protocol and what
 * to change; no piece reaches the CMS. A file sent whole with the same fields is an ordinary
 * upload, sanitised.
 */
const fx = new FixtureDir();
let cms: StubUpstream;
let veil: TestVeil;
let photo: Buffer;
const PIECE = 64 * 1024;

async function gpsPhoto(): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 900, height: 600, channels: 3, background: { r: 90, g: 120, b: 150 }, noise: { type: 'gaussian', mean: 128, sigma: 50 } } }).jpeg({ quality: 90 }).toBuffer();
  const file = fx.write('gps.jpg', jpeg);
  await writeTags(file, ['-GPSLatitude=51.501', '-GPSLatitudeRef=N', '-GPSLongitude=0.1419', '-GPSLongitudeRef=W', '-Model=iPhone 15']);
  return readFileSync(file);
}

function scanData(jpeg: Buffer): Buffer {
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  return jpeg.subarray(sos + 2 + jpeg.readUInt16BE(sos + 2), jpeg.lastIndexOf(Buffer.from([0xff, 0xd9])));
}

function sharesWindow(seen: Buffer, secret: Buffer, size = 24): boolean {
  const windows = new Set<string>();
  for (let i = 0; i + size <= seen.length; i++) windows.add(seen.toString('latin1', i, i + size));
  for (let i = 0; i + size <= secret.length; i++) if (windows.has(secret.toString('latin1', i, i + size))) return true;
  return false;
}

function postForm(path: string, fields: Record<string, string>, file: Buffer, extraHeaders: Array<[string, string]> = [], field = 'file'): Promise<Received> {
  const boundary = `----veilPieces${Math.random().toString(16).slice(2)}`;
  const body = formBody([...Object.entries(fields).map(([name, data]) => ({ name, data })), { name: field, filename: 'jane-smith-year6.jpg', contentType: 'image/jpeg', data: file }], boundary);
  return send(veil.port, {
    method: 'POST',
    path,
    headers: [['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)], ['Accept', 'application/json'], ...extraHeaders],
    body,
  });
}

/** Refused as a file in pieces, naming the protocol; nothing forwarded. */
function expectRefused(answer: Received, protocol: string): void {
  expect(answer.status).toBe(415);
  const error = JSON.parse(answer.body.toString()).error;
  expect(error.code).toBe('UNSUPPORTED_FORMAT');
  expect(error.message).toContain(protocol);
  expect(error.message).toMatch(/in one piece/);
  expect(cms.requests).toHaveLength(0);
}

async function expectSanitisedForm(): Promise<void> {
  expect(cms.requests).toHaveLength(1);
  const req = cms.requests[0]!;
  expect(sharesWindow(req.body, scanData(photo))).toBe(false);
  const boundary = /boundary=([^;]+)/.exec(req.headers['content-type']![0]!)![1]!;
  const file = parseForm(req.body, boundary).find((part) => part.headers['content-disposition']!.includes('filename='))!;
  const tags = await readAllTags(fx.write(`received-${Date.now()}.jpg`, file.data));
  expect(tags['GPS:GPSLatitude']).toBeUndefined();
  expect(nonStructuralTags(tags)).toEqual([]);
}

beforeAll(async () => {
  cms = await startStubUpstream();
  [veil, photo] = await Promise.all([startTestVeil({ UPSTREAM_URL: cms.url.toString(), FACE_POLICY: 'blur' }), gpsPhoto()]);
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

const head = () => photo.subarray(0, PIECE);
const tail = () => photo.subarray(PIECE, 2 * PIECE);
const total = () => Math.ceil(photo.length / PIECE);

const FIELD_PROTOCOLS: Array<{ protocol: string; fields: (index: number) => Record<string, string> }> = [
  { protocol: 'Plupload', fields: (i) => ({ name: 'a.jpg', chunk: String(i), chunks: String(total()) }) },
  {
    protocol: 'resumable.js',
    fields: (i) => ({ resumableChunkNumber: String(i + 1), resumableChunkSize: String(PIECE), resumableTotalSize: String(photo.length), resumableIdentifier: 'x1', resumableFilename: 'a.jpg', resumableTotalChunks: String(total()) }),
  },
  { protocol: 'flow.js', fields: (i) => ({ flowChunkNumber: String(i + 1), flowChunkSize: String(PIECE), flowTotalSize: String(photo.length), flowIdentifier: 'x1', flowTotalChunks: String(total()) }) },
  { protocol: 'Dropzone', fields: (i) => ({ dzuuid: 'u-1', dzchunkindex: String(i), dztotalfilesize: String(photo.length), dzchunksize: String(PIECE), dztotalchunkcount: String(total()), dzchunkbyteoffset: String(i * PIECE) }) },
  { protocol: 'Fine Uploader', fields: (i) => ({ qquuid: 'u-1', qqpartindex: String(i), qqpartbyteoffset: String(i * PIECE), qqchunksize: String(PIECE), qqtotalparts: String(total()), qqtotalfilesize: String(photo.length), qqfilename: 'a.jpg' }) },
];

const INDEX_FIELD: Record<string, [string, string, number]> = {
  Plupload: ['chunk', 'chunks', 0],
  'resumable.js': ['resumableChunkNumber', 'resumableTotalChunks', 1],
  'flow.js': ['flowChunkNumber', 'flowTotalChunks', 1],
  Dropzone: ['dzchunkindex', 'dztotalchunkcount', 0],
  'Fine Uploader': ['qqpartindex', 'qqtotalparts', 0],
};

describe('files in pieces, by form fields', () => {
  for (const { protocol, fields } of FIELD_PROTOCOLS) {
    it(`${protocol}: Veil answers each piece, then sends the CMS the sanitised file as one piece of one`, async () => {
      expect(total(), 'the photo takes several pieces').toBeGreaterThan(2);
      const cookie: [string, string] = ['Cookie', `PHPSESSID=${protocol.replace(/\W/g, '')}`];
      for (let i = 0; i < total(); i++) {
        const answer = await postForm('/upload.php', { title: 'Sports day', ...fields(i) }, photo.subarray(i * PIECE, (i + 1) * PIECE), [cookie]);
        expect(answer.status, answer.body.toString()).toBe(200);
        if (i < total() - 1) {
          expect(JSON.parse(answer.body.toString())).toEqual({ success: true });
          expect(cms.requests, 'nothing reaches the CMS before the file is whole').toHaveLength(0);
        } else {
          expect(answer.body.toString()).toBe('ok');
        }
      }
      await expectSanitisedForm();
      const req = cms.requests[0]!;
      const boundary = /boundary=([^;]+)/.exec(req.headers['content-type']![0]!)![1]!;
      const value = (name: string) => parseForm(req.body, boundary).find((part) => part.headers['content-disposition'] === `form-data; name="${name}"`)?.data.toString();
      const [index, count, first] = INDEX_FIELD[protocol]!;
      expect(value(index)).toBe(String(first));
      expect(value(count)).toBe('1');
      expect(value('title')).toBe('Sports day');
      expect(req.headers.cookie).toEqual([cookie[1]]);
    });
  }

  it('a piece out of order is refused, and so is a later piece with no earlier ones; nothing forwarded', async () => {
    const { fields } = FIELD_PROTOCOLS.find((p) => p.protocol === 'resumable.js')!;
    expect((await postForm('/upload.php', fields(0), head())).status).toBe(200);
    const skipped = await postForm('/upload.php', fields(2), photo.subarray(2 * PIECE, 3 * PIECE));
    expect(skipped.status).toBe(400);
    expect(JSON.parse(skipped.body.toString()).error.message).toMatch(/out of order.*simultaneousUploads: 1/);
    const orphan = await postForm('/upload.php', FIELD_PROTOCOLS.find((p) => p.protocol === 'Dropzone')!.fields(1), tail());
    expect(JSON.parse(orphan.body.toString()).error.message).toMatch(/no earlier pieces/);
    expect(cms.requests).toHaveLength(0);
  });

  it('pieces from another session do not join an upload', async () => {
    const { fields } = FIELD_PROTOCOLS.find((p) => p.protocol === 'Dropzone')!;
    expect((await postForm('/upload.php', fields(0), head(), [['Cookie', 'PHPSESSID=mine']])).status).toBe(200);
    const other = await postForm('/upload.php', fields(1), tail(), [['Cookie', 'PHPSESSID=theirs']]);
    expect(JSON.parse(other.body.toString()).error.message).toMatch(/no earlier pieces/);
    expect(cms.requests).toHaveLength(0);
  });

  it('the fields in the query string count as PHP reads them', async () => {
    const answer = await postForm(`/upload.php?dzuuid=q&dzchunkindex=1&dztotalchunkcount=${total()}`, {}, tail());
    expect(JSON.parse(answer.body.toString()).error.message).toMatch(/Dropzone/);
    expect(cms.requests).toHaveLength(0);
  });

  it('a file sent whole with the same fields (one piece of one) is an ordinary upload, sanitised', async () => {
    const answer = await postForm('/upload.php', { dzuuid: 'u-2', dzchunkindex: '0', dztotalchunkcount: '1' }, photo);
    expect(answer.status).toBe(200);
    await expectSanitisedForm();
    cms.requests.length = 0;
    expect((await postForm('/upload.php', { chunk: '0', chunks: '1' }, photo)).status).toBe(200);
    await expectSanitisedForm();
  });

  it('a file part that begins inside a JPEG (a segment marker without SOI) is refused', async () => {
    const dht = photo.indexOf(Buffer.from([0xff, 0xc4]));
    const answer = await postForm('/upload.php', { title: 'x' }, photo.subarray(dht));
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.body.toString()).error.message).toMatch(/middle of a picture/);
    expect(cms.requests).toHaveLength(0);
  });
});

describe('files in pieces, by headers or raw bodies', () => {
  const raw = (method: string, path: string, headers: Array<[string, string]>, body: Buffer) =>
    send(veil.port, { method, path, headers: [['Content-Length', String(body.length)], ['Accept', 'application/json'], ...headers], body });

  it('tus: PATCH pieces are refused, the first and a later one', async () => {
    const tus: Array<[string, string]> = [['Tus-Resumable', '1.0.0'], ['Content-Type', 'application/offset+octet-stream']];
    expectRefused(await raw('PATCH', '/files/abc', [...tus, ['Upload-Offset', '0']], head()), 'tus');
    expectRefused(await raw('PATCH', '/files/abc', [...tus, ['Upload-Offset', String(PIECE)]], tail()), 'tus');
  });

  it('Content-Range: a partial range is refused, raw or multipart', async () => {
    expectRefused(await raw('PUT', '/upload', [['Content-Type', 'image/jpeg'], ['Content-Range', `bytes ${PIECE}-${2 * PIECE - 1}/${photo.length}`]], tail()), 'Content-Range');
    expectRefused(await postForm('/upload.php', {}, head(), [['Content-Range', `bytes 0-${PIECE - 1}/${photo.length}`]]), 'Content-Range');
  });

  it('Content-Range for the whole file is an ordinary upload, sanitised', async () => {
    const answer = await postForm('/upload.php', {}, photo, [['Content-Range', `bytes 0-${photo.length - 1}/${photo.length}`]]);
    expect(answer.status).toBe(200);
    await expectSanitisedForm();
  });

  it('flow.js and resumable.js raw ("octet") pieces, with their fields in the query string, are refused', async () => {
    expectRefused(await raw('POST', `/upload.php?flowChunkNumber=2&flowTotalChunks=${total()}&flowIdentifier=x`, [['Content-Type', 'application/octet-stream']], tail()), 'flow.js');
    expectRefused(await raw('POST', `/upload.php?resumableChunkNumber=1&resumableTotalChunks=${total()}`, [['Content-Type', 'text/plain']], head()), 'resumable.js');
  });

  it('Nextcloud chunking (v2 uploads folder, OC-Total-Length) is refused', async () => {
    expectRefused(await raw('PUT', '/remote.php/dav/uploads/teacher/web-file-upload-1/00002', [['Content-Type', 'application/octet-stream']], tail()), 'Nextcloud');
    expectRefused(await raw('PUT', '/remote.php/dav/files/teacher/a.jpg', [['OC-Total-Length', String(photo.length)]], head()), 'Nextcloud');
  });
});
