import sharp, { type Sharp } from 'sharp';
import { VeilError } from './errors.js';
import { decodeHeic, rawToPngWithProfile } from './heic.js';
import { reason, type ImageHeader, type Limits } from './limits.js';
import type { RawImage } from './types.js';

/** Upright sRGB pixels at the published size; animations as frames stacked top to bottom. */
export interface DecodedImage extends RawImage {
  frames: number;
  /** Height of one frame (equals `height` for a still image). */
  frameHeight: number;
  /** Per-frame delays in ms and loop count, for animations. */
  delay?: number[] | undefined;
  loop?: number | undefined;
  /** What decoding changed, in words: "Turned upright (EXIF orientation 6)". */
  changes: string[];
}

const ORIENTATION_WORDS: Record<number, string> = {
  2: 'mirrored',
  3: 'upside down',
  4: 'upside down and mirrored',
  5: 'on its side and mirrored',
  6: 'on its side (rotated 90°)',
  7: 'on its side and mirrored',
  8: 'on its side (rotated 270°)',
};

/**
 * Decodes strictly (any damage is an error, never a half-grey picture), applies the EXIF
 * orientation to the pixels (the orientation tag is about to be stripped with everything else),
 * converts to sRGB honouring an embedded colour profile, and shrinks the long edge to `maxEdge`.
 */
export async function decodeForPublishing(bytes: Uint8Array, header: ImageHeader, maxEdge: number, limits: Limits): Promise<DecodedImage> {
  const changes: string[] = [];
  const animated = header.frames > 1;
  let pipeline: Sharp;
  try {
    if (header.format === 'heic') {
      const raw = await decodeHeic(bytes);
      const icc = header.raw.icc;
      pipeline = icc
        ? sharp(rawToPngWithProfile(raw, icc), { limitInputPixels: limits.maxPixels })
        : sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels }, limitInputPixels: limits.maxPixels });
    } else {
      pipeline = sharp(bytes, {
        failOn: 'warning',
        limitInputPixels: limits.maxPixels * (animated ? header.frames : 1),
        animated,
        // A multi-page TIFF is published as its first page.
        page: 0,
      });
      // HEIF containers (AVIF) carry rotation as boxes that libheif already applied; the spec
      // says a leftover EXIF orientation must be ignored there.
      if (!animated && header.format !== 'avif') pipeline = pipeline.rotate();
    }
    if (header.orientation > 1 && header.format !== 'avif' && header.format !== 'heic' && !animated) {
      changes.push(`Turned upright: the camera had stored it ${ORIENTATION_WORDS[header.orientation] ?? 'rotated'} (EXIF orientation ${header.orientation}).`);
    }
    if (header.raw.icc) changes.push('Converted colours to standard sRGB using the embedded colour profile.');
    else if (header.raw.space === 'cmyk') changes.push('Converted CMYK colours to standard sRGB.');

    const upright = uprightSize(header);
    if (Math.max(upright.width, upright.height) > maxEdge) {
      pipeline = pipeline.resize({ width: maxEdge, height: maxEdge, fit: 'inside', withoutEnlargement: true });
    }
    pipeline = pipeline.toColourspace('srgb');
    if (!header.hasAlpha) pipeline = pipeline.removeAlpha();

    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const frames = animated ? header.frames : 1;
    const frameHeight = animated ? info.pageHeight ?? Math.round(info.height / frames) : info.height;
    if (info.width !== upright.width || frameHeight !== upright.height) {
      changes.push(`Made smaller: ${upright.width}×${upright.height} to ${info.width}×${frameHeight} pixels (MAX_EDGE ${maxEdge}).`);
    }
    if (info.channels !== 3 && info.channels !== 4) {
      throw new VeilError('CORRUPT_IMAGE', `The image decoded to ${info.channels} colour channels, which Veil cannot publish.`);
    }
    return {
      data,
      width: info.width,
      height: info.height,
      channels: info.channels,
      frames,
      frameHeight,
      delay: animated ? header.raw.delay : undefined,
      loop: animated ? header.raw.loop : undefined,
      changes,
    };
  } catch (err) {
    if (err instanceof VeilError) throw err;
    const why = reason(err);
    if (/pixel limit/i.test(why)) {
      throw new VeilError('PIXEL_LIMIT', `The image is larger than ${limits.maxPixels} pixels once decoded (MAX_PIXELS).`, { cause: err });
    }
    // The decoder's own words ("VipsJpeg: premature end of JPEG image") mean nothing to the
    // teacher who sees this message; they stay on `cause`, and the code says what happened.
    throw new VeilError('CORRUPT_IMAGE', 'The photo is damaged or incomplete (perhaps it did not finish copying), so it cannot be read safely. Please upload it again from the original.', { cause: err });
  }
}

/** Width and height once the EXIF orientation is applied. */
export function uprightSize(header: Pick<ImageHeader, 'format' | 'frames' | 'orientation' | 'width' | 'height'>): { width: number; height: number } {
  const swap = header.format !== 'heic' && header.format !== 'avif' && header.frames === 1 && header.orientation >= 5;
  return swap ? { width: header.height, height: header.width } : { width: header.width, height: header.height };
}

/** The frame at `index` as its own image (a view, not a copy). */
export function frameOf(image: DecodedImage, index: number): RawImage {
  const frameBytes = image.width * image.frameHeight * image.channels;
  return {
    data: image.data.subarray(index * frameBytes, (index + 1) * frameBytes),
    width: image.width,
    height: image.frameHeight,
    channels: image.channels,
  };
}

/** True when some pixel is not fully opaque. */
export function hasTransparency(image: RawImage): boolean {
  if (image.channels !== 4) return false;
  const { data } = image;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return true;
  return false;
}
