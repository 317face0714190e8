import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sanitiseImage, type SanitiseResult } from '../src/pipeline/sanitise.js';
import { closeExiftool, nonStructuralTags, readAllTags } from './helpers/exiftool.js';
import {
  DEMO_PHOTO, FIXTURE_FORMATS, FixtureDir, heifEncAvailable, RICH, richFixture, tinyZip, withC2paSegment,
  type FixtureFormat,
} from './helpers/fixtures.js';

const fx = new FixtureDir();
afterAll(async () => {
  fx.remove();
  await closeExiftool();
});

async function sanitiseFile(file: string, maxEdge = 1600): Promise<Extract<SanitiseResult, { outcome: 'sanitised' }>> {
  const result = await sanitiseImage(readFileSync(file), { faces: null, maxEdge, originalName: 'jane-smith-year6.jpg' });
  if (result.outcome !== 'sanitised') throw new Error('expected a sanitised result');
  return result;
}

const EXPECTED_OUTPUT: Record<FixtureFormat, string> = {
  jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'jpeg', heic: 'jpeg', avif: 'jpeg',
};

describe.each(FIXTURE_FORMATS)('a %s full of metadata', (format) => {
  const skip = format === 'heic' && !heifEncAvailable();
  let input: string;
  let output: string;
  let result: Extract<SanitiseResult, { outcome: 'sanitised' }>;

  beforeAll(async () => {
    if (skip) return;
    input = await richFixture(fx, format, 800);
    result = await sanitiseFile(input, 500);
    output = fx.write(`out-${format}.${result.filename.split('.').pop()}`, result.bytes);
  });

  it.skipIf(skip)('really carries the metadata before (ExifTool agrees)', async () => {
    const before = await readAllTags(input);
    const keys = Object.keys(before).join(' ');
    expect(keys).toMatch(/GPSLatitude/);
    expect(keys).toMatch(/Creator|Artist/);
    expect(nonStructuralTags(before).length).toBeGreaterThan(10);
  });

  it.skipIf(skip)('comes out with only structural tags (ExifTool)', async () => {
    const after = await readAllTags(output);
    expect(nonStructuralTags(after)).toEqual([]);
    const text = JSON.stringify(after);
    for (const value of [RICH.serial, RICH.person, RICH.artist, RICH.comment, RICH.model]) expect(text).not.toContain(value);
  });

  it.skipIf(skip)('keeps the format family, with no trace of the values in the bytes', async () => {
    expect(result.format).toBe(EXPECTED_OUTPUT[format]);
    expect((await sharp(result.bytes).metadata()).format).toBe(EXPECTED_OUTPUT[format]);
    const raw = Buffer.from(result.bytes).toString('latin1');
    for (const value of [RICH.serial, RICH.person, RICH.artist, 'iPhone']) expect(raw).not.toContain(value);
  });

  it.skipIf(skip)('is downscaled so the long edge is MAX_EDGE', async () => {
    const meta = await sharp(result.bytes).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBe(500);
    expect(result.report.output?.width).toBe(meta.width);
  });

  it.skipIf(skip)('reports what was removed, in words', () => {
    const kinds = result.report.removed.map((f) => f.kind);
    expect(kinds).toContain('gps');
    const gps = result.report.removed.find((f) => f.kind === 'gps');
    if (format !== 'gif') expect(gps?.detail).toMatch(/51\.50100, -0\.14190/);
    expect(kinds).toContain('people');
    expect(result.report.removed.find((f) => f.kind === 'people')?.detail).toContain(RICH.person);
    expect(kinds).toContain('author');
    expect(kinds).toContain('capture-time');
    if (format !== 'gif') {
      expect(kinds).toEqual(expect.arrayContaining(['camera', 'serial-number', 'colour-profile']));
      expect(result.report.removed.find((f) => f.kind === 'serial-number')?.detail).toContain(RICH.serial);
    }
    if (format === 'jpeg') expect(kinds).toEqual(expect.arrayContaining(['thumbnail', 'comment', 'keywords']));
    expect(result.report.input.filename).toBe('jane-smith-year6.jpg');
    expect(result.filename).toMatch(/^photo-\d{8}-[0-9a-f]{6}\.(jpg|png|webp|gif)$/);
  });
});

describe('the real camera photo from @vladmandic/face-api (GPS-tagged)', () => {
  it('loses its GPS position, camera and dates, and becomes 1600 px wide', async () => {
    const before = await readAllTags(DEMO_PHOTO);
    expect(before['GPS:GPSLatitude']).toBeDefined();
    expect(before['IFD0:Make']).toBe('SONY');

    const result = await sanitiseFile(DEMO_PHOTO);
    const out = fx.write('demo-out.jpg', result.bytes);
    const after = await readAllTags(out);
    expect(nonStructuralTags(after)).toEqual([]);
    expect(after['File:ImageWidth']).toBe(1600);
    expect(after['File:ImageHeight']).toBe(1067);
    expect(result.report.removed.find((f) => f.kind === 'gps')?.detail).toMatch(/^37\.3196\d, -121\.9465\d/);
    expect(result.report.removed.find((f) => f.kind === 'camera')?.detail).toContain('ILCE-7M2');
  });
});

describe('things hidden in and after the image', () => {
  it('drops a ZIP appended after the JPEG end marker, and says so', async () => {
    const jpeg = await (await sharp(DEMO_PHOTO).resize(400).jpeg().toBuffer());
    const polyglot = Buffer.concat([jpeg, tinyZip()]);
    const input = fx.write('polyglot.jpg', polyglot);

    const result = await sanitiseFile(input);
    expect(Buffer.from(result.bytes).includes(Buffer.from('PK\x03\x04'))).toBe(false);
    expect(Buffer.from(result.bytes).subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const hidden = result.report.removed.find((f) => f.kind === 'hidden-data');
    expect(hidden?.detail).toMatch(/ZIP archive/);
    expect(nonStructuralTags(await readAllTags(fx.write('polyglot-out.jpg', result.bytes)))).toEqual([]);
  });

  it('drops a C2PA/JUMBF manifest (APP11)', async () => {
    const jpeg = await sharp(DEMO_PHOTO).resize(300).jpeg().toBuffer();
    const input = fx.write('c2pa.jpg', withC2paSegment(jpeg));
    expect(Object.keys(await readAllTags(input)).join(' ')).toMatch(/JUMBF|JUMD/i);
    const result = await sanitiseFile(input);
    expect(result.report.removed.map((f) => f.kind)).toContain('content-credentials');
    expect(Object.keys(await readAllTags(fx.write('c2pa-out.jpg', result.bytes))).join(' ')).not.toMatch(/JUMBF|JUMD/i);
  });

  it('drops PNG text chunks and keeps transparency', async () => {
    const rgba = await sharp({ create: { width: 64, height: 48, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 0.5 } } }).png().toBuffer();
    const input = fx.write('alpha.png', rgba);
    const { writeTags } = await import('./helpers/exiftool.js');
    await writeTags(input, ['-PNG:Comment=Ann Pupil, class 4B', '-PNG:Author=Mr Head']);
    const result = await sanitiseFile(input);
    expect(result.format).toBe('png');
    const meta = await sharp(result.bytes).metadata();
    expect(meta.hasAlpha).toBe(true);
    const { data } = await sharp(result.bytes).raw().toBuffer({ resolveWithObject: true });
    expect(data[3]).toBeGreaterThan(120);
    expect(data[3]).toBeLessThan(135);
    expect(result.report.removed.find((f) => f.kind === 'comment')?.detail).toContain('Ann Pupil');
    expect(nonStructuralTags(await readAllTags(fx.write('alpha-out.png', result.bytes)))).toEqual([]);
  });

  it('keeps a GIF animated, frame count and all', async () => {
    const frames = 4;
    const strip = Buffer.alloc(40 * 30 * frames * 3);
    for (let f = 0; f < frames; f++) strip.fill(f * 60, f * 40 * 30 * 3, (f + 1) * 40 * 30 * 3);
    const gif = await sharp(strip, { raw: { width: 40, height: 30 * frames, channels: 3, pageHeight: 30 } })
      .gif({ delay: [100, 200, 300, 400], loop: 0 }).toBuffer();
    const input = fx.write('anim.gif', gif);
    const { writeTags } = await import('./helpers/exiftool.js');
    await writeTags(input, ['-Comment=Ann Pupil', `-XMP-dc:Creator=${RICH.artist}`]);
    const result = await sanitiseFile(input);
    expect(result.format).toBe('gif');
    const meta = await sharp(result.bytes).metadata();
    expect(meta.pages).toBe(frames);
    expect(meta.delay).toEqual([100, 200, 300, 400]);
    const after = await readAllTags(fx.write('anim-out.gif', result.bytes));
    expect(nonStructuralTags(after)).toEqual([]);
    expect(result.report.removed.map((f) => f.kind)).toEqual(expect.arrayContaining(['comment', 'author']));
  });
});

describe('colour', () => {
  it('converts through the embedded profile to sRGB, then drops the profile', async () => {
    // Pure sRGB red stored as Display P3 numbers: honouring the profile gives red back.
    const red = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .withIccProfile('p3').png().toBuffer();
    // keepIccProfile() reads the stored numbers without converting them.
    const stored = await sharp(red).keepIccProfile().raw().toBuffer();
    expect(stored[0]).toBeLessThan(245); // P3 numbers for sRGB red differ from 255,0,0
    const input = fx.write('p3.png', red);
    const result = await sanitiseFile(input);
    const { data } = await sharp(result.bytes).keepIccProfile().raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBeGreaterThan(248);
    expect(data[1]).toBeLessThan(12);
    expect(data[2]).toBeLessThan(12);
    expect((await sharp(result.bytes).metadata()).icc).toBeUndefined();
  });

  it('turns a CMYK JPEG into an sRGB one', async () => {
    const cmyk = await sharp(DEMO_PHOTO).resize(200).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const result = await sanitiseFile(fx.write('cmyk.jpg', cmyk));
    const meta = await sharp(result.bytes).metadata();
    expect(meta.space).toBe('srgb');
    expect(meta.channels).toBe(3);
  });
});

describe('size', () => {
  it('never upscales a small image', async () => {
    const small = await sharp(DEMO_PHOTO).resize(300).jpeg().toBuffer();
    const result = await sanitiseFile(fx.write('small.jpg', small));
    expect((await sharp(result.bytes).metadata()).width).toBe(300);
  });

  it('shrinks a tall image by its long edge', async () => {
    const tall = await sharp(DEMO_PHOTO).resize(600, 1800, { fit: 'fill' }).jpeg().toBuffer();
    const result = await sanitiseFile(fx.write('tall.jpg', tall), 900);
    const meta = await sharp(result.bytes).metadata();
    expect(meta.height).toBe(900);
    expect(meta.width).toBe(300);
  });

  it('writes the uploaded original nowhere but the report', async () => {
    const result = await sanitiseFile(DEMO_PHOTO);
    writeFileSync(fx.path('x.jpg'), result.bytes);
    expect(JSON.stringify(result.report.output)).not.toContain('jane');
  });
});
