import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { writeTags } from './exiftool.js';

/** Real photos with real faces and real GPS EXIF, shipped by an npm package (no download). */
export const DEMO_DIR = 'node_modules/@vladmandic/face-api/demo';
export const DEMO_PHOTO = `${DEMO_DIR}/sample1.jpg`;

export type FixtureFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heic' | 'avif';
export const FIXTURE_FORMATS: FixtureFormat[] = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heic', 'avif'];
const EXT: Record<FixtureFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tif', heic: 'heic', avif: 'avif' };

/** What every rich fixture carries, so tests can check each item is reported and then gone. */
export const RICH = {
  latitude: 51.501,
  longitude: -0.1419,
  make: 'Apple',
  model: 'iPhone 15',
  serial: 'SN-4451-2290',
  artist: 'Jane Teacher',
  person: 'Tom Pupil',
  keyword: 'Year 6 sports day',
  comment: 'Tom at sports day, Oakfield Primary',
  taken: '2026:06:01 10:00:00',
};

const RICH_ARGS = [
  `-GPSLatitude=${Math.abs(RICH.latitude)}`, '-GPSLatitudeRef=N',
  `-GPSLongitude=${Math.abs(RICH.longitude)}`, '-GPSLongitudeRef=W',
  `-Make=${RICH.make}`, `-Model=${RICH.model}`, `-SerialNumber=${RICH.serial}`,
  `-DateTimeOriginal=${RICH.taken}`, `-Artist=${RICH.artist}`,
  `-XMP-dc:Creator=${RICH.artist}`, `-XMP-iptcExt:PersonInImage=${RICH.person}`,
  `-IPTC:Keywords=${RICH.keyword}`, `-IPTC:By-line=${RICH.artist}`,
  `-Comment=${RICH.comment}`, `-UserComment=${RICH.comment}`, `-ImageDescription=${RICH.person}, ${RICH.keyword}`,
];

export class FixtureDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'veil-fixtures-'));
  private count = 0;

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, bytes: Uint8Array): string {
    const file = this.path(name);
    writeFileSync(file, bytes);
    return file;
  }

  unique(ext: string): string {
    this.count += 1;
    return this.path(`fixture-${this.count}.${ext}`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A photo-like base picture: a real demo photo, downscaled. */
export async function basePhoto(width = 800): Promise<Sharp> {
  const pixels = await sharp(`${DEMO_DIR}/sample2.jpg`).resize(width).removeAlpha().toBuffer();
  return sharp(pixels);
}

export function heifEncAvailable(): boolean {
  return spawnSync('heif-enc', ['--version'], { encoding: 'utf8' }).status !== null;
}

/**
 * A file in `format` with GPS, camera, serial, date, author, person, keywords, comments and an
 * ICC profile written by ExifTool (plus an EXIF thumbnail for JPEG). Returns its path.
 */
export async function richFixture(fx: FixtureDir, format: FixtureFormat, width = 800): Promise<string> {
  const base = await basePhoto(width);
  const file = fx.unique(EXT[format]);
  switch (format) {
    case 'jpeg': writeFileSync(file, await base.withIccProfile('p3').jpeg({ quality: 90 }).toBuffer()); break;
    case 'png': writeFileSync(file, await base.withIccProfile('p3').png().toBuffer()); break;
    case 'webp': writeFileSync(file, await base.withIccProfile('p3').webp().toBuffer()); break;
    case 'gif': writeFileSync(file, await base.gif().toBuffer()); break;
    case 'tiff': writeFileSync(file, await base.withIccProfile('p3').tiff({ compression: 'lzw' }).toBuffer()); break;
    case 'avif': writeFileSync(file, await base.withIccProfile('p3').avif({ effort: 0, quality: 60 }).toBuffer()); break;
    case 'heic': {
      // sharp cannot write HEVC; Debian's heif-enc (libheif + x265) can, like an iPhone.
      const source = fx.unique('png');
      writeFileSync(source, await base.withIccProfile('p3').png().toBuffer());
      execFileSync('heif-enc', ['-q', '60', source, '-o', file], { stdio: 'ignore' });
      break;
    }
  }
  await writeTags(file, RICH_ARGS);
  if (format === 'jpeg') {
    const thumb = fx.write(`thumb-${Date.now()}.jpg`, await sharp(readFileSync(file)).resize(160).jpeg().toBuffer());
    await writeTags(file, [`-ThumbnailImage<=${thumb}`]);
  }
  if (format === 'png') await writeTags(file, ['-PNG:Author=Jane Teacher', '-PNG:Description=Tom Pupil']);
  return file;
}

/** Upright reference: red top-left, green top-right, blue bottom-left, yellow bottom-right. */
export const QUADRANTS = [
  [220, 30, 30],
  [30, 200, 30],
  [30, 30, 220],
  [230, 220, 30],
] as const;

export function quadrantAt(x: number, y: number, width: number, height: number): readonly [number, number, number] {
  return QUADRANTS[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!;
}

/**
 * Stored pixels that show the quadrant picture upright once EXIF orientation `o` is applied.
 * The mapping is written out here from the EXIF specification, not taken from sharp, so the
 * test does not grade sharp with sharp.
 */
export function orientedQuadrants(o: number, width = 240, height = 160): { data: Buffer; width: number; height: number } {
  const swap = o >= 5;
  const w = swap ? height : width;
  const h = swap ? width : height;
  const data = Buffer.alloc(w * h * 3);
  for (let sy = 0; sy < h; sy++) {
    for (let sx = 0; sx < w; sx++) {
      const [x, y] = displayPosition(o, sx, sy, w, h);
      data.set(quadrantAt(x, y, width, height), (sy * w + sx) * 3);
    }
  }
  return { data, width: w, height: h };
}

function displayPosition(o: number, sx: number, sy: number, w: number, h: number): [number, number] {
  switch (o) {
    case 2: return [w - 1 - sx, sy];
    case 3: return [w - 1 - sx, h - 1 - sy];
    case 4: return [sx, h - 1 - sy];
    case 5: return [sy, sx];
    case 6: return [h - 1 - sy, sx];
    case 7: return [h - 1 - sy, w - 1 - sx];
    case 8: return [sy, w - 1 - sx];
    default: return [sx, sy];
  }
}

/** A JPEG (or another format) of the quadrant picture stored with EXIF orientation `o`. */
export async function orientedFixture(fx: FixtureDir, o: number, format: 'jpeg' | 'png' | 'webp' | 'tiff' = 'jpeg'): Promise<string> {
  const { data, width, height } = orientedQuadrants(o);
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  const bytes = format === 'jpeg' ? await img.jpeg({ quality: 95 }).toBuffer()
    : format === 'png' ? await img.png().toBuffer()
      : format === 'webp' ? await img.webp({ quality: 95 }).toBuffer()
        : await img.tiff().toBuffer();
  const file = fx.unique(format === 'jpeg' ? 'jpg' : format === 'tiff' ? 'tif' : format);
  writeFileSync(file, bytes);
  await writeTags(file, [`-IFD0:Orientation#=${o}`]);
  return file;
}

/** A PNG whose header claims `width`×`height` pixels but whose data is tiny: a decompression bomb. */
export function pngBomb(width = 30000, height = 30000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  // Zeros compress about 1000:1: a few KB of data stand for a picture of any claimed size.
  const idat = deflateSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** A minimal ZIP archive (one stored file), as appended to "polyglot" images. */
export function tinyZip(): Buffer {
  const name = Buffer.from('secret.txt');
  const content = Buffer.from('pupil list: Tom, Ann, Raj\n');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  return Buffer.concat([local, name, content]);
}

/** A JPEG APP11 segment holding a JUMBF box labelled c2pa, as content-credential tools write. */
export function withC2paSegment(jpeg: Buffer): Buffer {
  const label = Buffer.from('c2pa\0');
  const jumd = Buffer.concat([u32(8 + 16 + 1 + label.length), Buffer.from('jumd'), Buffer.alloc(16), Buffer.from([3]), label]);
  const jumb = Buffer.concat([u32(8 + jumd.length), Buffer.from('jumb'), jumd]);
  const payload = Buffer.concat([Buffer.from('JP'), Buffer.from([0, 1]), u32(1), jumb]);
  const segment = Buffer.concat([Buffer.from([0xff, 0xeb]), u16(payload.length + 2), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
