import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { writeTags } from '../helpers/exiftool.js';
import { FixtureDir, heifEncAvailable } from '../helpers/fixtures.js';

/**
 * Originals that make a leak unambiguous: noisy pixels (so compressed data is unique to the
 * file), GPS and personal tags written by ExifTool, and for JPEG a second JPEG after EOI, as
 * phones append gain maps and motion photos.
 */
export interface Originals {
  jpeg: Buffer;
  png: Buffer;
  webp: Buffer;
  gif: Buffer;
  heic: Buffer | null;
  /** The HEIC with every brand in its ftyp rewritten to `avci`. */
  heicAvci: Buffer | null;
  bmp: Buffer;
  tga: Buffer;
  pcx: Buffer;
  ppm: Buffer;
}

const TAGS = [
  '-GPSLatitude=51.501', '-GPSLatitudeRef=N', '-GPSLongitude=0.1419', '-GPSLongitudeRef=W',
  '-Make=Apple', '-Model=iPhone 15', '-SerialNumber=SN-4451-2290', '-DateTimeOriginal=2026:06:01 10:00:00',
  '-Artist=Jane Teacher', '-XMP-dc:Creator=Jane Teacher', '-XMP-iptcExt:PersonInImage=Tom Pupil',
  '-ImageDescription=Tom Pupil, Year 6 sports day',
];

/** Deterministic noise over a gradient: photo-like enough for every encoder, unique per seed. */
export function noisyPixels(width: number, height: number, seed: number): Buffer {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const r = next();
      data[i] = clamp((x * 255) / width + ((r & 0x7f) - 64));
      data[i + 1] = clamp((y * 255) / height + (((r >>> 8) & 0x7f) - 64));
      data[i + 2] = clamp(128 + (((r >>> 16) & 0x7f) - 64));
    }
  }
  return data;
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

function noisy(width: number, height: number, seed: number): Sharp {
  return sharp(noisyPixels(width, height, seed), { raw: { width, height, channels: 3 } });
}

async function tagged(fx: FixtureDir, ext: string, bytes: Buffer, args = TAGS): Promise<Buffer> {
  const file = fx.unique(ext);
  writeFileSync(file, bytes);
  await writeTags(file, args);
  return readFileSync(file);
}

export const PHOTO_WIDTH = 512;
export const PHOTO_HEIGHT = 384;

export async function makeOriginals(fx: FixtureDir): Promise<Originals> {
  const w = PHOTO_WIDTH;
  const h = PHOTO_HEIGHT;
  const main = await tagged(fx, 'jpg', await noisy(w, h, 11).jpeg({ quality: 92, chromaSubsampling: '4:4:4' }).toBuffer());
  const gainMap = await tagged(fx, 'jpg', await noisy(128, 96, 12).jpeg({ quality: 90 }).toBuffer(), ['-GPSLatitude=51.501', '-GPSLatitudeRef=N', '-Comment=gain map of Tom Pupil']);
  const jpeg = Buffer.concat([main, gainMap]);
  const png = await tagged(fx, 'png', await noisy(320, 240, 21).png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer());
  const webp = await tagged(fx, 'webp', await noisy(w, h, 31).webp({ quality: 95 }).toBuffer());
  const gif = await tagged(fx, 'gif', await noisy(256, 192, 41).gif({ effort: 1, dither: 0 }).toBuffer(), ['-XMP-dc:Creator=Jane Teacher', '-XMP-iptcExt:PersonInImage=Tom Pupil', '-Comment=Tom Pupil']);
  let heic: Buffer | null = null;
  let heicAvci: Buffer | null = null;
  if (heifEncAvailable()) {
    const source = fx.unique('png');
    writeFileSync(source, await noisy(w, h, 51).png().toBuffer());
    const out = fx.unique('heic');
    execFileSync('heif-enc', ['-q', '70', source, '-o', out], { stdio: 'ignore' });
    heic = await tagged(fx, 'heic', readFileSync(out));
    heicAvci = onlyAvciBrand(heic);
  }
  const raw = noisyPixels(256, 192, 61);
  return { jpeg, png, webp, gif, heic, heicAvci, bmp: bmp(raw, 256, 192), tga: tga(raw, 256, 192), pcx: pcx(raw, 256, 192), ppm: ppm(raw, 256, 192) };
}

/** Rewrites the major and every compatible brand of the ftyp box to `avci`. */
export function onlyAvciBrand(heif: Buffer): Buffer {
  const out = Buffer.from(heif);
  const size = out.readUInt32BE(0);
  if (out.toString('latin1', 4, 8) !== 'ftyp') throw new Error('not an ISO BMFF file');
  out.write('avci', 8, 'latin1');
  for (let at = 16; at + 4 <= size; at += 4) out.write('avci', at, 'latin1');
  return out;
}

function ppm(rgb: Buffer, w: number, h: number): Buffer {
  return Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), rgb]);
}

function bgrRows(rgb: Buffer, w: number, h: number, bottomUp: boolean, pad: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const sy = bottomUp ? h - 1 - y : y;
    const row = Buffer.alloc(w * 3 + pad);
    for (let x = 0; x < w; x++) {
      const i = (sy * w + x) * 3;
      row[x * 3] = rgb[i + 2]!;
      row[x * 3 + 1] = rgb[i + 1]!;
      row[x * 3 + 2] = rgb[i]!;
    }
    rows.push(row);
  }
  return Buffer.concat(rows);
}

function bmp(rgb: Buffer, w: number, h: number): Buffer {
  const pad = (4 - ((w * 3) % 4)) % 4;
  const pixels = bgrRows(rgb, w, h, true, pad);
  const head = Buffer.alloc(54);
  head.write('BM', 0, 'latin1');
  head.writeUInt32LE(54 + pixels.length, 2);
  head.writeUInt32LE(54, 10);
  head.writeUInt32LE(40, 14);
  head.writeInt32LE(w, 18);
  head.writeInt32LE(h, 22);
  head.writeUInt16LE(1, 26);
  head.writeUInt16LE(24, 28);
  head.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([head, pixels]);
}

function tga(rgb: Buffer, w: number, h: number): Buffer {
  const head = Buffer.alloc(18);
  head[2] = 2; // uncompressed true-colour
  head.writeUInt16LE(w, 12);
  head.writeUInt16LE(h, 14);
  head[16] = 24;
  head[17] = 0x20; // top-left origin
  return Buffer.concat([head, bgrRows(rgb, w, h, false, 0), Buffer.from('\0\0\0\0\0\0\0\0TRUEVISION-XFILE.\0', 'latin1')]);
}

function pcx(rgb: Buffer, w: number, h: number): Buffer {
  const head = Buffer.alloc(128);
  head[0] = 0x0a;
  head[1] = 5;
  head[2] = 1; // RLE
  head[3] = 8;
  head.writeUInt16LE(w - 1, 8);
  head.writeUInt16LE(h - 1, 10);
  head.writeUInt16LE(72, 12);
  head.writeUInt16LE(72, 14);
  head[65] = 3; // planes
  head.writeUInt16LE(w, 66);
  head.writeUInt16LE(1, 68);
  const body: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let plane = 0; plane < 3; plane++) {
      for (let x = 0; x < w; x++) {
        const v = rgb[(y * w + x) * 3 + plane]!;
        if (v >= 0xc0) body.push(0xc1);
        body.push(v);
      }
    }
  }
  return Buffer.concat([head, Buffer.from(body)]);
}
