import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVeilError } from '../src/pipeline/errors.js';
import { readMultipartUpload, type FormPart, type MultipartUpload } from '../src/proxy/multipart/multipart-read.js';
import { rebuildMultipart, type PartReplacement } from '../src/proxy/multipart/multipart-rebuild.js';
import { formBody, parseForm } from './helpers/http.js';

const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const spoolDir = mkdtempSync(join(tmpdir(), 'veil-multipart-'));

afterAll(() => {
  expect(readdirSync(spoolDir)).toEqual([]);
  rmSync(spoolDir, { recursive: true, force: true });
});

/** The body as a stream cut into pieces of the given sizes (cycled), as a slow network would. */
function chunked(body: Buffer, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= body.length) return controller.close();
      const size = sizes[i++ % sizes.length]!;
      controller.enqueue(new Uint8Array(body.subarray(at, at + size)));
      at += size;
    },
  });
}

async function read(body: Buffer, boundary: string, sizes: number[], limits = { maxUploadBytes: 1024 * 1024, maxBodyBytes: 10 * 1024 * 1024 }): Promise<MultipartUpload> {
  return readMultipartUpload(chunked(body, sizes), `multipart/form-data; boundary=${boundary}`, { ...limits, spoolDir });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
const text = Buffer.from('a note\r\n--not-the-boundary\r\nwith CRLFs\r\n\r\n', 'utf8');
const form = formBody(
  [
    { name: 'action', data: 'upload-attachment' },
    { name: 'async-upload', filename: 'Jane Smith.jpg', contentType: 'image/jpeg', data: PHOTO },
    { name: 'notes', filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', data: text },
    { name: 'empty', data: '' },
  ],
  boundary,
);

describe('readMultipartUpload', () => {
  it.each([
    ['one byte at a time', [1]],
    ['odd sizes that split every boundary', [3, 7, 41, 2, 4096, 1, 65536]],
    ['the whole body at once', [form.length]],
  ])('finds the parts and the picture however the body is cut: %s', async (_name, sizes) => {
    const upload = await read(form, boundary, sizes);
    try {
      expect(upload.size).toBe(form.length);
      expect(upload.parts.map((p) => [p.name, p.filename, p.isFile, p.kind])).toEqual([
        ['action', undefined, false, undefined],
        ['async-upload', 'Jane Smith.jpg', true, 'jpeg'],
        ['notes', 'notes.txt', true, undefined],
        ['empty', undefined, false, undefined],
      ]);
      expect(upload.images.map((p) => p.name)).toEqual(['async-upload']);
      const image = upload.images[0]!;
      expect((await upload.spool.read(image.dataStart, image.dataEnd)).equals(PHOTO)).toBe(true);
      const notes = upload.parts[2]!;
      expect((await upload.spool.read(notes.dataStart, notes.dataEnd)).equals(text)).toBe(true);
    } finally {
      await upload.spool.close();
    }
  });

  it('replays the original body byte for byte', async () => {
    const upload = await read(form, boundary, [5, 999]);
    expect((await collect(upload.spool.stream([{ start: 0, end: upload.size }]))).equals(form)).toBe(true);
  });

  it('rebuilds with a fresh boundary: same order, other parts untouched, the picture replaced', async () => {
    const upload = await read(form, boundary, [1000]);
    const sanitised: PartReplacement = { bytes: Buffer.from('sanitised bytes'), filename: 'photo-20261126-abc123.jpg', contentType: 'image/jpeg' };
    const rebuilt = rebuildMultipart(upload, new Map<FormPart, PartReplacement>([[upload.images[0]!, sanitised]]));
    const body = await collect(rebuilt.body);
    expect(body.length).toBe(rebuilt.contentLength);
    const fresh = /boundary=(.+)$/.exec(rebuilt.contentType)![1]!;
    expect(fresh).not.toBe(boundary);
    const parts = parseForm(body, fresh);
    expect(parts.map((p) => p.headers['content-disposition'])).toEqual([
      'form-data; name="action"',
      'form-data; name="async-upload"; filename="photo-20261126-abc123.jpg"',
      'form-data; name="notes"; filename="notes.txt"',
      'form-data; name="empty"',
    ]);
    expect(parts[1]!.data.toString()).toBe('sanitised bytes');
    expect(parts[2]!.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(parts[2]!.data.equals(text)).toBe(true);
    expect(parts[0]!.data.toString()).toBe('upload-attachment');
  });

  it('refuses a picture larger than maxUploadBytes while it streams, leaving nothing behind', async () => {
    const error = await read(form, boundary, [4096], { maxUploadBytes: 50_000, maxBodyBytes: 10 * 1024 * 1024 }).catch((err: unknown) => err);
    expect(isVeilError(error) && error.code).toBe('FILE_TOO_LARGE');
  });

  it('refuses a body larger than maxBodyBytes', async () => {
    const error = await read(form, boundary, [4096], { maxUploadBytes: 10 * 1024 * 1024, maxBodyBytes: 100_000 }).catch((err: unknown) => err);
    expect(isVeilError(error) && error.code).toBe('FILE_TOO_LARGE');
  });

  it('a truncated body holding a picture is refused', async () => {
    const error = await read(form.subarray(0, form.length - 200), boundary, [777]).catch((err: unknown) => err);
    expect(isVeilError(error) && error.code).toBe('BAD_REQUEST');
  });

  it('a truncated body without pictures is handed back for replay as it is', async () => {
    const plain = formBody([{ name: 'a', data: 'b' }, { name: 'f', filename: 'f.txt', data: 'hello' }], boundary);
    const upload = await read(plain.subarray(0, plain.length - 10), boundary, [3]);
    expect(upload.images).toEqual([]);
    expect((await collect(upload.spool.stream([{ start: 0, end: upload.size }]))).equals(plain.subarray(0, plain.length - 10))).toBe(true);
  });
});
