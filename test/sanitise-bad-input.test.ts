import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { VeilError } from '../src/pipeline/errors.js';
import { DEFAULT_LIMITS } from '../src/pipeline/limits.js';
import { sanitiseImage } from '../src/pipeline/sanitise.js';
import { sniffFormat } from '../src/pipeline/sniff.js';
import { DEMO_PHOTO, pngBomb, tinyZip } from './helpers/fixtures.js';

async function refusal(bytes: Uint8Array, limits = DEFAULT_LIMITS): Promise<VeilError> {
  try {
    await sanitiseImage(bytes, { faces: null, limits });
  } catch (err) {
    expect(err).toBeInstanceOf(VeilError);
    return err as VeilError;
  }
  throw new Error('expected the file to be refused');
}

const photo = readFileSync(DEMO_PHOTO);

describe('formats are judged by their bytes', () => {
  it.each([
    ['SVG', Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), /SVG drawing/],
    ['SVG without a declaration', Buffer.from('  <svg width="10" height="10"></svg>'), /SVG drawing/],
    ['BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]), /BMP bitmap/],
    ['PDF', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj'), /PDF document/],
    ['MP4 video', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom\0\0\x02\0isomiso2')]), /MP4/],
    ['QuickTime video', Buffer.concat([Buffer.from([0, 0, 0, 0x14]), Buffer.from('ftypqt  \0\0\0\0qt  ')]), /QuickTime/],
    ['ZIP', tinyZip(), /ZIP archive/],
    ['HTML', Buffer.from('<!DOCTYPE html><html><body>hi</body></html>'), /HTML page/],
    ['random bytes', Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02]), /unrecognised binary data \(starting 13 37 de ad/],
  ])('%s is UNSUPPORTED_FORMAT and the message says what it is', async (_name, bytes, message) => {
    const err = await refusal(bytes);
    expect(err.code).toBe('UNSUPPORTED_FORMAT');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/JPEG, PNG, WebP/);
  });

  it('a PNG named .jpg and declared image/jpeg is still a PNG (the name is never read)', async () => {
    const png = await sharp(photo).resize(64).png().toBuffer();
    expect(sniffFormat(png)).toBe('png');
    const result = await sanitiseImage(png, { faces: null, originalName: 'photo.jpg' });
    expect(result.outcome === 'sanitised' && result.format).toBe('png');
  });

  it('an empty file is EMPTY_FILE', async () => {
    expect((await refusal(new Uint8Array())).code).toBe('EMPTY_FILE');
  });
});

describe('limits are checked before decoding', () => {
  it('a small PNG claiming 30000×30000 pixels is PIXEL_LIMIT, at once', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(200 * 1024);
    const before = process.memoryUsage().rss;
    const err = await refusal(bomb);
    expect(err.code).toBe('PIXEL_LIMIT');
    expect(err.message).toMatch(/30000×30000 pixels \(900 MP\).*50 MP \(MAX_PIXELS\)/);
    // Decoding would need 2.7 GB; refusing from the header allocates next to nothing.
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('MAX_PIXELS is honoured as configured', async () => {
    const err = await refusal(photo, { ...DEFAULT_LIMITS, maxPixels: 1_000_000 });
    expect(err.code).toBe('PIXEL_LIMIT');
    expect(err.message).toMatch(/1920×1280/);
  });

  it('a file over MAX_UPLOAD_BYTES is FILE_TOO_LARGE', async () => {
    const err = await refusal(photo, { ...DEFAULT_LIMITS, maxBytes: 100_000 });
    expect(err.code).toBe('FILE_TOO_LARGE');
    expect(err.message).toMatch(/141\.1 KB.*97\.7 KB \(MAX_UPLOAD_BYTES\)/);
  });

  it('an animation with too many frames is FRAME_LIMIT', async () => {
    const frames = 12;
    const strip = Buffer.alloc(8 * 8 * frames * 3);
    for (let f = 0; f < frames; f++) strip.fill(f * 20, f * 192, (f + 1) * 192); // distinct, or the encoder merges them
    const gif = await sharp(strip, { raw: { width: 8, height: 8 * frames, channels: 3, pageHeight: 8 } }).gif().toBuffer();
    const err = await refusal(gif, { ...DEFAULT_LIMITS, maxFrames: 10 });
    expect(err.code).toBe('FRAME_LIMIT');
    expect(err.message).toMatch(/12 frames.*10 \(MAX_FRAMES\)/);
  });
});

describe('damaged files are refused, not half-decoded', () => {
  it.each([0.3, 0.6, 0.95])('a JPEG cut at %f of its length is CORRUPT_IMAGE', async (fraction) => {
    const err = await refusal(photo.subarray(0, Math.floor(photo.length * fraction)));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.message).toMatch(/damaged or incomplete/);
  });

  it('a truncated PNG is CORRUPT_IMAGE', async () => {
    const png = await sharp(photo).resize(300).png().toBuffer();
    expect((await refusal(png.subarray(0, png.length - 2000))).code).toBe('CORRUPT_IMAGE');
  });

  it('a JPEG with garbage where its data should be is CORRUPT_IMAGE', async () => {
    const broken = Buffer.from(photo);
    for (let i = 2000; i < broken.length - 10; i += 97) broken[i] = 0xff;
    expect((await refusal(broken)).code).toBe('CORRUPT_IMAGE');
  });

  it('a header and nothing else is CORRUPT_IMAGE', async () => {
    expect((await refusal(photo.subarray(0, 30))).code).toBe('CORRUPT_IMAGE');
  });

  it('a WebP with a lying RIFF size is CORRUPT_IMAGE or sanitised, never a crash', async () => {
    const webp = Buffer.from(await sharp(photo).resize(200).webp().toBuffer());
    webp.writeUInt32LE(0x7fffffff, 4);
    const outcome = await sanitiseImage(webp, { faces: null }).then((r) => r.outcome, (e: VeilError) => e.code);
    expect(['sanitised', 'CORRUPT_IMAGE']).toContain(outcome);
  });
});
