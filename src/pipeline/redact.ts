/**
 * Irreversible face redaction. Under an ellipse a little larger than each face, the picture is
 * replaced by what a handful of cells (CELLS_ACROSS_FACE across the face) can hold: their mean
 * colours, smoothed ('blur', the default), shown as blocks ('pixelate') or not at all ('solid').
 * Nothing of the original finer than a cell survives, so no deblurring model can bring the face
 * back: the information is gone, not hidden. The ellipse's edge fades into the photo, but only
 * outside the face itself.
 */
import sharp from 'sharp';
import { VeilError } from './errors.js';
import type { DetectedFace, RawImage, RedactionMode } from './types.js';

/** Margin around the face box on each side, as a fraction of its width and height (FACE_PADDING). */
export const DEFAULT_REDACTION_PADDING = 0.25;
/**
 * Cells across the face's width: enough to look like a person, far too few to know who. The low
 * end of the usual 6–8, because a mosaic's cell means are all an attacker gets (the blur adds
 * no secrecy) and fewer means less to match against.
 */
export const CELLS_ACROSS_FACE = 6;
/** Fully replaced inside this fraction of the ellipse's radii; the rest of the way it fades out. */
const SOLID_CORE = 0.85;
/**
 * How far each cell's mean colour is pulled toward Veil's grey. A skin-toned blob in a head's
 * outline is still a face to a detector once the photo is shrunk to a thumbnail (WordPress makes
 * 150 and 300 px copies); half grey leaves the patch's colour roughly in place but no face.
 * 'blur' only: 'pixelate' keeps true cell colours (and its hard block edges break the outline).
 */
const TOWARD_GREY = 0.5;
/** 'blur' darkens every other cell by this much (see coarse). */
const CELL_SHADE_STEP = 24;
/** 'solid' mode paints this; a fixed grey says nothing about the person. */
const SOLID_RGB = [128, 128, 128] as const;
const SOLID_RGB_ALT = [96, 96, 96] as const;

export interface RedactOptions {
  mode: RedactionMode;
  /** See DEFAULT_REDACTION_PADDING. */
  padding?: number;
}

/** The ellipse redaction covers for a face box: centre and radii, in pixels. */
export interface RedactionEllipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

/**
 * The ellipse inscribed in the face box grown by `padding` on each side. With the default padding
 * its solid core still reaches past the face box's edges, and the faded rim lies outside them.
 */
export function redactionEllipse(box: DetectedFace['box'], padding = DEFAULT_REDACTION_PADDING): RedactionEllipse {
  const [x, y, w, h] = box;
  return { cx: x + w / 2, cy: y + h / 2, rx: (w / 2) * (1 + 2 * padding), ry: (h / 2) * (1 + 2 * padding) };
}

export async function redactFaces(image: RawImage, faces: DetectedFace[], options: RedactOptions): Promise<RawImage> {
  const { mode } = options;
  const padding = options.padding ?? DEFAULT_REDACTION_PADDING;
  if (mode !== 'blur' && mode !== 'pixelate' && mode !== 'solid') throw new VeilError('BAD_REQUEST', `Unknown redaction mode "${String(mode)}" (use blur, pixelate or solid).`);
  if (!(padding >= 0)) throw new VeilError('BAD_REQUEST', `Redaction padding must be 0 or more, not ${padding}.`);
  const out: RawImage = { ...image, data: Buffer.from(image.data) };
  for (const face of faces) {
    const [, , w, h] = face.box;
    if (!(w > 0 && h > 0)) continue;
    await redactOne(out, redactionEllipse(face.box, padding), w / CELLS_ACROSS_FACE, mode);
  }
  return out;
}

async function redactOne(image: RawImage, e: RedactionEllipse, cellSize: number, mode: RedactionMode): Promise<void> {
  const x0 = Math.max(0, Math.floor(e.cx - e.rx));
  const y0 = Math.max(0, Math.floor(e.cy - e.ry));
  const x1 = Math.min(image.width, Math.ceil(e.cx + e.rx));
  const y1 = Math.min(image.height, Math.ceil(e.cy + e.ry));
  const width = x1 - x0;
  const height = y1 - y0;
  if (width <= 0 || height <= 0) return;

  const replacement = mode === 'solid' ? solid(width, height, cellSize) : await coarse(image, { x0, y0, width, height }, Math.max(1, cellSize), mode);
  const { data, channels } = image;
  for (let y = y0; y < y1; y++) {
    const dy = (y + 0.5 - e.cy) / e.ry;
    for (let x = x0; x < x1; x++) {
      const dx = (x + 0.5 - e.cx) / e.rx;
      const alpha = coverage(Math.sqrt(dx * dx + dy * dy));
      if (alpha === 0) continue;
      const i = (y * image.width + x) * channels;
      const r = ((y - y0) * width + (x - x0)) * 3;
      for (let c = 0; c < 3; c++) data[i + c] = Math.round(data[i + c]! * (1 - alpha) + replacement[r + c]! * alpha);
    }
  }
}

/** 1 in the core, easing to 0 at the ellipse's edge (smoothstep), 0 outside. */
function coverage(radius: number): number {
  if (radius <= SOLID_CORE) return 1;
  if (radius >= 1) return 0;
  const t = (1 - radius) / (1 - SOLID_CORE);
  return t * t * (3 - 2 * t);
}

/**
 * A fixed grey, in cells of two shades. One flat grey ellipse on a pair of shoulders is, to
 * YuNet, a head (scores up to 0.6 on the demo photos); the cell edges break that outline.
 * The shades depend on nothing in the photo.
 */
function solid(width: number, height: number, cellSize: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  const cell = Math.max(1, Math.round(cellSize));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const shade = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 0 ? SOLID_RGB : SOLID_RGB_ALT;
      out.set(shade, (y * width + x) * 3);
    }
  }
  return out;
}

/**
 * The region as cell means: blocks for 'pixelate'; for 'blur', the means smoothly interpolated
 * and blurred by a cell, then every other cell shaded by a fixed step. test/redact.test.ts checks
 * that no mode leaves anything YuNet, at its lowest candidate score, calls a face.
 */
async function coarse(image: RawImage, region: { x0: number; y0: number; width: number; height: number }, cellSize: number, mode: 'blur' | 'pixelate'): Promise<Buffer> {
  const { x0, y0, width, height } = region;
  const cols = Math.max(1, Math.round(width / cellSize));
  const rows = Math.max(1, Math.round(height / cellSize));
  const sums = new Float64Array(cols * rows * 3);
  const counts = new Float64Array(cols * rows);
  const cellOf = (x: number, y: number): number => Math.min(rows - 1, Math.floor((y * rows) / height)) * cols + Math.min(cols - 1, Math.floor((x * cols) / width));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = cellOf(x, y);
      const i = ((y0 + y) * image.width + x0 + x) * image.channels;
      for (let c = 0; c < 3; c++) sums[cell * 3 + c] = sums[cell * 3 + c]! + image.data[i + c]!;
      counts[cell] = counts[cell]! + 1;
    }
  }
  const means = Buffer.alloc(cols * rows * 3);
  const toward = mode === 'blur' ? TOWARD_GREY : 0;
  const keep = 1 - toward;
  for (let cell = 0; cell < cols * rows; cell++) {
    for (let c = 0; c < 3; c++) means[cell * 3 + c] = Math.round(keep * (sums[cell * 3 + c]! / counts[cell]!) + toward * SOLID_RGB[c]!);
  }
  if (mode === 'pixelate') {
    const out = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) means.copy(out, (y * width + x) * 3, cellOf(x, y) * 3, cellOf(x, y) * 3 + 3);
    }
    return out;
  }
  const smooth = await sharp(means, { raw: { width: cols, height: rows, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .blur(Math.max(0.5, cellSize))
    .raw()
    .toBuffer();
  // A smoothly blurred head on its shoulders is still a head to YuNet (scores up to 0.64 on the
  // demo photos). Shading every other cell by a fixed step breaks that outline; the step is the
  // same everywhere, so it says nothing about the face.
  const cell = Math.max(1, Math.round(cellSize));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 0) continue;
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) smooth[i + c] = Math.max(0, smooth[i + c]! - CELL_SHADE_STEP);
    }
  }
  return smooth;
}
