/** Formats Veil accepts, as sniffed from magic bytes (never from a name or a declared type). */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'heic' | 'gif' | 'tiff';

/** Formats Veil writes: browsers show all of them. */
export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'gif';

/** Decoded, upright (EXIF orientation applied), sRGB pixels, interleaved 8-bit. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** A face in the coordinates of the upright image it was found in. */
export interface DetectedFace {
  /** [x, y, width, height] in pixels. */
  box: [number, number, number, number];
  /** Detector confidence, 0..1. */
  score: number;
}

export type FacePolicy = 'blur' | 'hold' | 'allow';
export type RedactionMode = 'blur' | 'pixelate' | 'solid';
