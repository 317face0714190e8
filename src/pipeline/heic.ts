import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';
import { VeilError } from './errors.js';
import type { RawImage } from './types.js';

/**
 * iPhone photos are HEIC with HEVC inside, which sharp's prebuilt libvips cannot decode (HEVC is
 * left out for patent reasons). libheif compiled to WebAssembly, from npm, can; it is loaded only
 * when a HEIC file arrives.
 */
interface HeifImage {
  get_width(): number;
  get_height(): number;
  has_alpha_channel(): boolean;
  is_primary(): boolean;
  display(target: { data: Uint8ClampedArray; width: number; height: number }, done: (result: unknown) => void): void;
  free(): void;
}
interface LibHeif {
  HeifDecoder: new () => { decode(bytes: Uint8Array): HeifImage[] };
}

let libheif: LibHeif | undefined;

function loadLibheif(): LibHeif {
  libheif ??= createRequire(import.meta.url)('libheif-js/wasm-bundle') as LibHeif;
  return libheif;
}

/** Decodes the primary image to RGBA. libheif applies the file's rotation and mirroring boxes. */
export async function decodeHeic(bytes: Uint8Array): Promise<RawImage> {
  let images: HeifImage[];
  try {
    images = new (loadLibheif().HeifDecoder)().decode(bytes);
  } catch (err) {
    throw new VeilError('CORRUPT_IMAGE', 'The HEIC photo is damaged or incomplete, so it cannot be read safely. Please upload it again from the original.', { cause: err });
  }
  const image = images.find((i) => i.is_primary()) ?? images[0];
  if (!image) throw new VeilError('CORRUPT_IMAGE', 'The HEIC file contains no readable image.');
  try {
    const width = image.get_width();
    const height = image.get_height();
    const data = new Uint8ClampedArray(width * height * 4);
    const ok = await new Promise<boolean>((resolve) => image.display({ data, width, height }, (result) => resolve(Boolean(result))));
    if (!ok) throw new VeilError('CORRUPT_IMAGE', 'The HEIC image data is damaged and cannot be decoded.');
    return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 4 };
  } finally {
    for (const i of images) i.free();
  }
}

/**
 * Wraps raw RGBA in an uncompressed PNG carrying the photo's ICC profile, so that sharp converts
 * the colours to sRGB honouring the profile (iPhones shoot in Display P3). sharp has no way to
 * attach an input profile to raw pixels.
 */
export function rawToPngWithProfile(image: RawImage, icc: Uint8Array | undefined): Buffer {
  const { width, height, channels, data } = image;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  const stride = width * channels;
  const scanlines = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) data.copy(scanlines, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  const chunks = [chunk('IHDR', ihdr)];
  if (icc && icc.length > 0) chunks.push(chunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), deflateSync(icc)])));
  chunks.push(chunk('IDAT', deflateSync(scanlines, { level: 0 })), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}
