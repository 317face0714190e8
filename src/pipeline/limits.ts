import sharp, { type Metadata } from 'sharp';
import { VeilError } from './errors.js';
import { formatBytes } from './format-bytes.js';
import type { ImageFormat } from './types.js';

export interface Limits {
  /** Largest file accepted, in bytes (MAX_UPLOAD_BYTES). */
  maxBytes: number;
  /** Largest frame accepted, in pixels (MAX_PIXELS). */
  maxPixels: number;
  /** Most frames an animation may have (MAX_FRAMES). */
  maxFrames: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 50_000_000,
  maxFrames: 500,
};

/** An animation's frames together may hold this many times MAX_PIXELS: decoding allocates them all. */
export const ANIMATION_PIXEL_FACTOR = 4;

/** What the file's header says, read without decoding any pixels. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  frames: number;
  /** EXIF orientation 1–8 (1 = upright). */
  orientation: number;
  hasAlpha: boolean;
  /** sharp's view of the header, kept for the metadata report. */
  raw: Metadata;
}

export function checkSize(bytes: Uint8Array, limits: Limits): void {
  if (bytes.length === 0) throw new VeilError('EMPTY_FILE', 'The file is empty.');
  if (bytes.length > limits.maxBytes) {
    throw new VeilError(
      'FILE_TOO_LARGE',
      `The file is ${formatBytes(bytes.length)}; the largest accepted is ${formatBytes(limits.maxBytes)} (MAX_UPLOAD_BYTES).`,
    );
  }
}

/**
 * Reads the header only. libvips opens images lazily, so even a file that claims 30000×30000
 * pixels costs a millisecond here; the pixel limit is then checked before anything is decoded.
 */
export async function readHeader(bytes: Uint8Array, format: ImageFormat): Promise<ImageHeader> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false, animated: isAnimatedFormat(format) }).metadata();
  } catch (err) {
    throw new VeilError('CORRUPT_IMAGE', `The file looks like ${article(format)} but its header cannot be read: ${reason(err)}.`, { cause: err });
  }
  const width = meta.width ?? 0;
  const frames = Math.max(1, meta.pages ?? 1);
  // With `animated: true` sharp reports the height of all frames stacked; a frame is pageHeight.
  const height = meta.pageHeight ?? (frames > 1 ? Math.round((meta.height ?? 0) / frames) : meta.height ?? 0);
  if (width <= 0 || height <= 0) {
    throw new VeilError('CORRUPT_IMAGE', `The file looks like ${article(format)} but declares no usable size.`);
  }
  return {
    format,
    width,
    height,
    frames: isAnimatedFormat(format) ? frames : 1,
    orientation: meta.orientation ?? 1,
    hasAlpha: meta.hasAlpha ?? false,
    raw: meta,
  };
}

export function checkHeader(header: ImageHeader, limits: Limits): void {
  const pixels = header.width * header.height;
  if (pixels > limits.maxPixels) {
    throw new VeilError(
      'PIXEL_LIMIT',
      `The image is ${header.width}×${header.height} pixels (${megapixels(pixels)}); the largest accepted is ` +
        `${megapixels(limits.maxPixels)} (MAX_PIXELS). Files that claim huge sizes can exhaust memory when opened.`,
    );
  }
  if (header.frames > limits.maxFrames) {
    throw new VeilError('FRAME_LIMIT', `The animation has ${header.frames} frames; the most accepted is ${limits.maxFrames} (MAX_FRAMES).`);
  }
  const total = pixels * header.frames;
  if (total > limits.maxPixels * ANIMATION_PIXEL_FACTOR) {
    throw new VeilError(
      'FRAME_LIMIT',
      `The animation's ${header.frames} frames hold ${megapixels(total)} in all; the most accepted is ` +
        `${megapixels(limits.maxPixels * ANIMATION_PIXEL_FACTOR)} (${ANIMATION_PIXEL_FACTOR} × MAX_PIXELS).`,
    );
  }
}

export function isAnimatedFormat(format: ImageFormat): boolean {
  return format === 'gif' || format === 'webp';
}

function megapixels(pixels: number): string {
  return `${(pixels / 1_000_000).toFixed(pixels < 10_000_000 ? 1 : 0)} MP`;
}

function article(format: ImageFormat): string {
  return format === 'avif' ? 'an AVIF image' : `a ${format.toUpperCase()} image`;
}

export function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // libvips messages can span lines and repeat; the first line says it.
  return message.split('\n')[0]!.replace(/\s+$/, '').replace(/\.$/, '');
}
