/**
 * Perceptual hashes of published pictures, for finding a suspicious copy's original: a 256-bit
 * DCT hash (pHash) over the whole picture and over windows of it, so a crop of the original
 * still meets one of its windows. These describe a whole picture's light and shade, not a face:
 * nothing here can recognise a person (no biometrics, by design).
 */
import sharp from 'sharp';

/** A 256-bit hash as eight unsigned 32-bit words (fast XOR and popcount without BigInt). */
export type PictureHash = Uint32Array;

/** Bits in a hash: 16x16 low frequencies of the DCT. Fewer bits (64) let unrelated pictures meet once thousands of windows are compared. */
export const HASH_BITS = 256;

/** One window of a picture, in fractions of its width and height. */
export interface HashedWindow {
  x: number;
  y: number;
  size: number;
  hash: PictureHash;
}

/** Long edge the picture is reduced to before hashing: enough for 32x32 samples of small windows. */
const WORK_EDGE = 384;
const SAMPLE = 32;
const KEEP = 16;

/**
 * Window sizes (fraction of each side) and their steps: the whole picture, and windows small
 * enough that a copy cropped to 60 % of each side lines up with one of them within a few percent.
 */
const WINDOW_GRID: readonly { size: number; step: number }[] = [
  { size: 1, step: 1 },
  { size: 0.8, step: 0.1 },
  { size: 0.65, step: 0.05 },
  { size: 0.6, step: 0.05 },
  { size: 0.5, step: 0.05 },
];

export interface GreyImage {
  data: Float32Array;
  width: number;
  height: number;
}

/** Decodes, turns upright and greys the picture at a small working size. */
export async function greyForHashing(input: Uint8Array): Promise<GreyImage> {
  const { data, info } = await sharp(input, { failOn: 'none', limitInputPixels: 400_000_000 })
    .rotate()
    .resize(WORK_EDGE, WORK_EDGE, { fit: 'inside', withoutEnlargement: false })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return fromBytes(data, info.width, info.height, info.channels);
}

export function mirrored(image: GreyImage): GreyImage {
  const data = new Float32Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width;
    for (let x = 0; x < image.width; x++) data[row + x] = image.data[row + image.width - 1 - x]!;
  }
  return { data, width: image.width, height: image.height };
}

/** Turned by `degrees` on a larger canvas, corners filled with mid-grey. */
export async function turned(image: GreyImage, degrees: number): Promise<GreyImage> {
  const bytes = Buffer.from(Uint8Array.from(image.data, (v) => Math.max(0, Math.min(255, Math.round(v)))));
  const { data, info } = await sharp(bytes, { raw: { width: image.width, height: image.height, channels: 1 } })
    .rotate(degrees, { background: '#808080' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return fromBytes(data, info.width, info.height, info.channels);
}

function fromBytes(data: Buffer, width: number, height: number, channels: number): GreyImage {
  const grey = new Float32Array(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = data[i * channels]!;
  return { data: grey, width, height };
}

/** The pHash of one window (fractions of the picture) of a grey image. */
export function windowHash(image: GreyImage, x: number, y: number, w: number, h: number): PictureHash {
  const samples = boxSample(image, x * image.width, y * image.height, w * image.width, h * image.height);
  const coefficients = lowFrequencies(samples);
  // Median of the AC terms; the DC term only says how bright the window is.
  const ac = Array.from(coefficients.subarray(1)).sort((a, b) => a - b);
  const median = ac[Math.floor(ac.length / 2)]!;
  const hash = new Uint32Array(HASH_BITS / 32);
  for (let i = 1; i < HASH_BITS; i++) if (coefficients[i]! > median) hash[i >> 5]! |= 1 << (i & 31);
  return hash;
}

/** Every window of the register's grid, for a published picture. */
export function windowHashes(image: GreyImage): HashedWindow[] {
  const windows: HashedWindow[] = [];
  for (const { size, step } of WINDOW_GRID) {
    for (let y = 0; y <= 1 - size + 1e-9; y += step) {
      for (let x = 0; x <= 1 - size + 1e-9; x += step) {
        windows.push({ x: round(x), y: round(y), size, hash: windowHash(image, x, y, size, size) });
      }
    }
  }
  return windows;
}

export function hammingDistance(a: PictureHash, b: PictureHash): number {
  let bits = 0;
  for (let i = 0; i < a.length; i++) bits += popcount32(a[i]! ^ b[i]!);
  return bits;
}

export function hashToHex(hash: PictureHash): string {
  return Array.from(hash, (word) => word.toString(16).padStart(8, '0')).join('');
}

export function hashFromHex(hex: string): PictureHash {
  if (hex.length !== HASH_BITS / 4 || !/^[0-9a-f]+$/.test(hex)) throw new Error(`not a ${HASH_BITS}-bit hash`);
  const hash = new Uint32Array(HASH_BITS / 32);
  for (let i = 0; i < hash.length; i++) hash[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return hash;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Area-averages a window of the grey image onto a 32x32 grid (so small windows are not aliased). */
function boxSample(image: GreyImage, x0: number, y0: number, w: number, h: number): Float32Array {
  const out = new Float32Array(SAMPLE * SAMPLE);
  const cellW = w / SAMPLE;
  const cellH = h / SAMPLE;
  for (let cy = 0; cy < SAMPLE; cy++) {
    const top = Math.floor(y0 + cy * cellH);
    const bottom = Math.max(top + 1, Math.min(image.height, Math.floor(y0 + (cy + 1) * cellH)));
    for (let cx = 0; cx < SAMPLE; cx++) {
      const left = Math.floor(x0 + cx * cellW);
      const right = Math.max(left + 1, Math.min(image.width, Math.floor(x0 + (cx + 1) * cellW)));
      let sum = 0;
      let n = 0;
      for (let py = top; py < bottom; py++) {
        const row = py * image.width;
        for (let px = left; px < right; px++) {
          sum += image.data[row + px]!;
          n++;
        }
      }
      out[cy * SAMPLE + cx] = n > 0 ? sum / n : 0;
    }
  }
  return out;
}

const COSINES = (() => {
  const table = new Float32Array(KEEP * SAMPLE);
  for (let u = 0; u < KEEP; u++) {
    for (let x = 0; x < SAMPLE; x++) table[u * SAMPLE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * SAMPLE));
  }
  return table;
})();

/** The 16x16 lowest frequencies of the 32x32 samples' DCT-II (rows, then columns). */
function lowFrequencies(samples: Float32Array): Float32Array {
  const rows = new Float32Array(SAMPLE * KEEP);
  for (let y = 0; y < SAMPLE; y++) {
    for (let u = 0; u < KEEP; u++) {
      let sum = 0;
      for (let x = 0; x < SAMPLE; x++) sum += samples[y * SAMPLE + x]! * COSINES[u * SAMPLE + x]!;
      rows[y * KEEP + u] = sum;
    }
  }
  const out = new Float32Array(KEEP * KEEP);
  for (let v = 0; v < KEEP; v++) {
    for (let u = 0; u < KEEP; u++) {
      let sum = 0;
      for (let y = 0; y < SAMPLE; y++) sum += rows[y * KEEP + u]! * COSINES[v * SAMPLE + y]!;
      out[v * KEEP + u] = sum;
    }
  }
  return out;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
