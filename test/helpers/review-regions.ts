import sharp from 'sharp';

/** A box [x, y, width, height] in pixels of the ORIGINAL photo (what the review API takes). */
export type OriginalBox = [number, number, number, number];

export interface Gray {
  data: Float64Array;
  width: number;
  height: number;
}

/** Decoded to luminance, by sharp (an independent decoder from what the browser shows). */
export async function grayOf(bytes: Uint8Array): Promise<Gray> {
  const { data, info } = await sharp(bytes).removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data: Float64Array.from(data), width: info.width, height: info.height };
}

/** The middle 80% of an original-pixel box, in the (downscaled) image's pixels. */
function inner(image: Gray, box: OriginalBox, originalWidth: number): { x0: number; y0: number; x1: number; y1: number } {
  const s = image.width / originalWidth;
  const [x, y, w, h] = box.map((v) => v * s) as OriginalBox;
  return { x0: Math.ceil(x + w * 0.1), y0: Math.ceil(y + h * 0.1), x1: Math.floor(x + w * 0.9), y1: Math.floor(y + h * 0.9) };
}

/** Pixel variance of the region's luminance: a face or texture has plenty, a redacted patch little. */
export function regionVariance(image: Gray, box: OriginalBox, originalWidth: number): number {
  const { x0, y0, x1, y1 } = inner(image, box, originalWidth);
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = image.data[y * image.width + x]!;
      sum += v;
      sq += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return sq / n - mean * mean;
}

/**
 * Fine detail: the mean absolute difference between horizontally and vertically neighbouring
 * pixels. Blocks of a mosaic and a blur leave almost none; eyes, hair and fabric leave plenty.
 */
export function regionDetail(image: Gray, box: OriginalBox, originalWidth: number): number {
  const { x0, y0, x1, y1 } = inner(image, box, originalWidth);
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1 - 1; y++) {
    for (let x = x0; x < x1 - 1; x++) {
      const v = image.data[y * image.width + x]!;
      sum += Math.abs(v - image.data[y * image.width + x + 1]!) + Math.abs(v - image.data[(y + 1) * image.width + x]!);
      n += 2;
    }
  }
  return sum / n;
}

/** Mean absolute luminance difference of two same-sized images inside the region. */
export function regionDifference(a: Gray, b: Gray, box: OriginalBox, originalWidth: number): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`images differ in size: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  const { x0, y0, x1, y1 } = inner(a, box, originalWidth);
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      sum += Math.abs(a.data[y * a.width + x]! - b.data[y * b.width + x]!);
      n++;
    }
  }
  return sum / n;
}

/** Mean luminance of the region (a solid redaction is Veil's fixed grey, 128). */
export function regionMean(image: Gray, box: OriginalBox, originalWidth: number): number {
  const { x0, y0, x1, y1 } = inner(image, box, originalWidth);
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) (sum += image.data[y * image.width + x]!), n++;
  return sum / n;
}

/**
 * How much of the original's fine detail (each pixel minus its 3 × 3 neighbourhood's mean) is
 * still there, as a correlation: about 1 where the region is untouched, about 0 where the
 * detail was destroyed. A mosaic's block edges are new detail, not the face's, so they do not
 * count as surviving the way a plain "how much detail is left" measure would count them.
 */
export function detailSurviving(original: Gray, redacted: Gray, box: OriginalBox, originalWidth: number): number {
  const { x0, y0, x1, y1 } = inner(original, box, originalWidth);
  const highPass = (image: Gray, x: number, y: number) => {
    let sum = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) sum += image.data[(y + dy) * image.width + x + dx]!;
    return image.data[y * image.width + x]! - sum / 9;
  };
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let y = y0 + 1; y < y1 - 1; y++) {
    for (let x = x0 + 1; x < x1 - 1; x++) {
      const a = highPass(original, x, y);
      const b = highPass(redacted, x, y);
      ab += a * b;
      aa += a * a;
      bb += b * b;
    }
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/**
 * Whether a region is Veil's 'solid' redaction: its two fixed greys (128 and 96, in cells, so the
 * detector sees no head outline), nothing of the photo. The mean lies between the two and the
 * variance is what two shades give (at most (32/2)^2 = 256, plus JPEG's ringing at cell edges).
 */
export function isVeilGrey(image: Gray, box: OriginalBox, originalWidth: number): boolean {
  const mean = regionMean(image, box, originalWidth);
  return mean >= 93 && mean <= 131 && regionVariance(image, box, originalWidth) < 300;
}
