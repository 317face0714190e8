import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { IMAGE_SNIFF_BYTES, imageKind, looksLikeImage } from '../src/proxy/inspect/looks-like-image.js';

const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');

async function encoded(format: 'png' | 'webp' | 'gif' | 'avif' | 'tiff' | 'heif'): Promise<Buffer> {
  const image = sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 30, b: 90 } } });
  return format === 'heif' ? image.heif({ compression: 'av1' }).toBuffer() : image.toFormat(format).toBuffer();
}

/** An ICO with one 16x16 PNG entry, written in code. */
function ico(png: Buffer): Buffer {
  const head = Buffer.alloc(22);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(1, 2);
  head.writeUInt16LE(1, 4);
  head[6] = 16;
  head[7] = 16;
  head.writeUInt16LE(1, 10);
  head.writeUInt16LE(32, 12);
  head.writeUInt32LE(png.length, 14);
  head.writeUInt32LE(22, 18);
  return Buffer.concat([head, png]);
}

function bmpHeader(): Buffer {
  const b = Buffer.alloc(64);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(64, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  return b;
}

describe('looksLikeImage knows pictures by their bytes', () => {
  it('a real JPEG photo', () => {
    expect(imageKind(PHOTO)).toBe('jpeg');
  });

  it.each(['png', 'webp', 'gif', 'avif', 'tiff'] as const)('%s written by sharp', async (format) => {
    expect(imageKind(await encoded(format))).toBe(format);
  });

  it('HEIF/AVIF containers by their ftyp brands', async () => {
    expect(imageKind(await encoded('heif'))).toMatch(/^(avif|heif)$/);
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(16)]);
    expect(imageKind(heic)).toBe('heif');
  });

  it('formats Veil refuses but a CMS would publish: BMP, ICO, JPEG XL, JPEG 2000, PSD, camera raw', async () => {
    expect(imageKind(bmpHeader())).toBe('bmp');
    expect(imageKind(ico(await encoded('png')))).toBe('ico');
    expect(imageKind(Buffer.from([0xff, 0x0a, 0xfa, 0x7f, 0x01, 0x90, 0x08, 0x06, 0x01]))).toBe('jxl');
    expect(imageKind(Buffer.from([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a, 0, 0]))).toBe('jxl');
    expect(imageKind(Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a, 0, 0]))).toBe('jp2');
    expect(imageKind(Buffer.concat([Buffer.from('8BPS\0\x01', 'latin1'), Buffer.alloc(20)]))).toBe('psd');
    expect(imageKind(Buffer.concat([Buffer.from('FUJIFILMCCD-RAW 0201', 'latin1'), Buffer.alloc(20)]))).toBe('camera-raw');
    expect(imageKind(Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypcrx \0\0\0\x01crx isom', 'latin1')]))).toBe('camera-raw');
  });

  it.each([
    ['plain', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['BOM, declaration, comment, DOCTYPE', '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generator: Adobe Illustrator -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd" [\n<!ENTITY ns "http://ns.adobe.com/">\n]>\n<svg version="1.1">'],
    ['namespace prefix', '<?xml version="1.0"?><svg:svg xmlns:svg="http://www.w3.org/2000/svg"></svg:svg>'],
    ['leading whitespace', '\n\n   \t<svg width="1" height="1"></svg>'],
  ])('SVG: %s', (_name, text) => {
    expect(imageKind(Buffer.from(text, 'utf8'))).toBe('svg');
  });

  it('SVG in UTF-16', () => {
    const text = '<?xml version="1.0" encoding="UTF-16"?><svg xmlns="http://www.w3.org/2000/svg"/>';
    expect(imageKind(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))).toBe('svg');
  });

  it('an XML prologue still open at the end of the sniff window counts as SVG (fail closed)', () => {
    const longComment = `<?xml version="1.0"?>\n<!-- ${'x'.repeat(IMAGE_SNIFF_BYTES)} -->\n<svg/>`;
    expect(imageKind(Buffer.from(longComment).subarray(0, IMAGE_SNIFF_BYTES))).toBe('svg');
  });
});

describe('looksLikeImage leaves other files alone', () => {
  it.each([
    ['HTML', '<!DOCTYPE html>\n<html><body><svg></svg></body></html>'],
    ['JSON', '{"title":"Sports day"}'],
    ['form data', 'action=upload-attachment&name=photo.jpg'],
    ['a WordPress export', '<?xml version="1.0" encoding="UTF-8" ?>\n<!-- This is a WordPress eXtended RSS file -->\n<rss version="2.0"></rss>'],
    ['text starting BM', 'BMW cars are parked at the front of the school today.'],
    ['PDF', '%PDF-1.7\n1 0 obj'],
    ['an empty body', ''],
  ])('%s', (_name, text) => {
    expect(looksLikeImage(Buffer.from(text))).toBe(false);
  });

  it.each([
    ['zip', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(40)])],
    ['gzip', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), deflateSync(Buffer.from('hello'))])],
    ['MP4 video', Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom\0\0\x02\0isomiso2avc1mp41', 'latin1'), Buffer.alloc(16)])],
    ['WAV audio', Buffer.concat([Buffer.from('RIFF\x24\0\0\0WAVEfmt ', 'latin1'), Buffer.alloc(20)])],
    ['an XML document cut short without a root', Buffer.from('<?xml version="1.0"?><!-- only a comment -->')],
  ])('%s', (_name, bytes) => {
    expect(looksLikeImage(bytes)).toBe(false);
  });
});
