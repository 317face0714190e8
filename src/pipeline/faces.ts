/**
 * Face detection: BlazeFace full-range (ONNX, see models/README.md) over a small image pyramid,
 * each level cut into overlapping 192x192 tiles.
 *
 * The work follows from `minFaceHeight`, the smallest face (in pixels of THIS image) the caller
 * needs found. The finest level is scaled so that such a face is MODEL_MIN_FACE_PX tall at the
 * network's input, where the network still finds faces reliably; nothing smaller matters, so the
 * image is never run at a finer scale. Each coarser level is LEVEL_STEP smaller, down to one that
 * holds the whole photo, for the large faces. Candidates from every tile and level are merged by
 * MediaPipe's score-weighted blending.
 */
import sharp from 'sharp';
import { VeilError } from './errors.js';
import {
  FACE_MODEL_ANCHOR_STRIDE as STRIDE,
  FACE_MODEL_BLOCK as BLOCK,
  FACE_MODEL_GRID as GRID,
  FACE_MODEL_INPUT_SIZE as TILE,
  FACE_MODEL_TILE_VALUES as TILE_VALUES,
  FACE_MODEL_VALUES_PER_ANCHOR as VALUES,
  loadFaceModel,
} from './faces-onnx.js';
import type { DetectedFace, RawImage } from './types.js';

/** Long edge of the published image when nothing else is configured (MAX_EDGE). */
export const DEFAULT_MAX_EDGE = 1600;
/**
 * Faces shorter than this in the published image are treated as not identifiable (FACE_MIN_PX).
 * The rule Veil keeps is that no face 20 px or taller stays recognisable; 16 leaves 20% margin
 * for faces the detector sizes a little small.
 */
export const DEFAULT_FACE_MIN_PX = 16;
/**
 * The operating threshold, picked with scripts/eval-faces.ts: the lowest round score at which the
 * demo set keeps 22/22 with at most one false positive (figures in models/README.md). Scores run
 * higher than MediaPipe's 0.5 because overlapping tiles give each face several looks.
 */
export const DEFAULT_MIN_SCORE = 0.6;
/**
 * A face of `minFaceHeight` is scaled to this many pixels at the network's input (192 px). On
 * demo faces with head and shoulders, measured at the network's input: from ~25 px nearly all are
 * found, at 20 px about 85%, at 16 px about 70%. This sets the cost of detection: with
 * FACE_MIN_PX 16 the finest level is 1.5x the published size.
 */
export const MODEL_MIN_FACE_PX = 24;

/**
 * Each coarser pyramid level is this much smaller, so a level answers for faces 24–84 px. A step
 * of 2.5 (with 52 px of overlap) needs 11% fewer tiles and finds the same faces, but moves the
 * scores of large faces by up to ±0.05 (the level that sees them changes); measured in
 * models/README.md, not taken.
 */
const LEVEL_STEP = 3;
/** Candidates taller than this at a level (not the coarsest) are the next level's job. */
const LEVEL_MAX_FACE_PX = MODEL_MIN_FACE_PX * (LEVEL_STEP + 0.5);
/** The coarsest level holds the whole photo in this many pixels, so even a face filling it is in range. */
const COARSEST_EDGE = 160;
/** Upscaling beyond this adds cost without finding more: the detail is not in the photo. */
const MAX_UPSCALE = 2;
/**
 * Tiles overlap by the largest face box a level must see whole: a face of
 * MODEL_MIN_FACE_PX × LEVEL_STEP (72 px; smaller than that the next level cannot find it) has a
 * BlazeFace box of 72 / BOX_TO_FACE ≈ 60 px. Less overlap loses such faces where tiles meet.
 */
const TILE_OVERLAP = 64;
/** Tiles per network run: 8 cost ~20% less per tile than single tiles; 4 and 16 measured no better. */
const BATCH = 8;
/** BlazeFace boxes run from the brows to the chin; Veil's face box goes from forehead to chin. */
const FOREHEAD_EXTENSION = 0.15;
const CHIN_EXTENSION = 0.04;
const BOX_TO_FACE = 1 + FOREHEAD_EXTENSION + CHIN_EXTENSION;
/**
 * Candidates shorter than minFaceHeight are dropped: the caller said they do not matter (the
 * policy measures faces the same way), and on real photos they are mostly texture.
 */
const MIN_HEIGHT_FRACTION = 1;
/** MediaPipe's blending NMS threshold for the full-range model. */
const NMS_IOU = 0.3;

export interface DetectOptions {
  /**
   * The smallest face, in pixels of this image, that must be found. Default: a face
   * DEFAULT_FACE_MIN_PX tall once the image is published at DEFAULT_MAX_EDGE.
   */
  minFaceHeight?: number;
  /** Candidates scoring below this are dropped (0..1). Default DEFAULT_MIN_SCORE. */
  minScore?: number;
  /** ONNX model file (FACE_MODEL); default the one shipped in models/. */
  modelPath?: string;
}

/**
 * The face height, in pixels of an image `imageWidth` x `imageHeight`, that will be `faceMinPx`
 * tall once the image is shrunk to `maxEdge` (images already smaller are published as they are).
 */
export function minFaceHeightFor(
  imageWidth: number,
  imageHeight: number,
  maxEdge: number = DEFAULT_MAX_EDGE,
  faceMinPx: number = DEFAULT_FACE_MIN_PX,
): number {
  const longEdge = Math.max(imageWidth, imageHeight);
  return faceMinPx * (longEdge > maxEdge ? longEdge / maxEdge : 1);
}

/** Decodes any image sharp reads into upright (EXIF-oriented) sRGB pixels, for detection. */
export async function decodeForDetection(bytes: Uint8Array): Promise<RawImage> {
  try {
    const { data, info } = await sharp(bytes).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: 3 };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (/unsupported image format/i.test(reason)) {
      throw new VeilError('UNSUPPORTED_FORMAT', 'This file is not an image format Veil can read.', { cause: err });
    }
    throw new VeilError('CORRUPT_IMAGE', `The image could not be decoded (${reason}).`, { cause: err });
  }
}

/** The pyramid's scales (level size / image size), finest first. */
export function detectionScales(width: number, height: number, minFaceHeight: number): number[] {
  const longEdge = Math.max(width, height);
  const scales = [Math.min(MAX_UPSCALE, MODEL_MIN_FACE_PX / minFaceHeight)];
  while (longEdge * scales[scales.length - 1]! > COARSEST_EDGE) {
    scales.push(Math.max(scales[scales.length - 1]! / LEVEL_STEP, COARSEST_EDGE / longEdge));
  }
  return scales;
}

/** How many network runs (192 px tiles) detectFaces makes for such an image: its cost, in one number. */
export function detectionTileCount(width: number, height: number, minFaceHeight: number): number {
  return detectionScales(width, height, minFaceHeight).reduce((sum, scale) => {
    const [w, h] = levelSize(width, height, scale);
    return sum + tileStarts(w).length * tileStarts(h).length;
  }, 0);
}

interface Candidate {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  score: number;
}

export async function detectFaces(image: RawImage, options: DetectOptions = {}): Promise<DetectedFace[]> {
  const { width, height, channels } = image;
  if (!(width > 0 && height > 0) || image.data.length !== width * height * channels) {
    throw new VeilError('BAD_REQUEST', `detectFaces got ${width}x${height}x${channels} pixels in ${image.data.length} bytes.`);
  }
  const minFaceHeight = options.minFaceHeight ?? minFaceHeightFor(width, height);
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  if (!(minFaceHeight > 0)) throw new VeilError('BAD_REQUEST', `minFaceHeight must be a positive number of pixels, not ${minFaceHeight}.`);
  if (!(minScore >= 0 && minScore <= 1)) throw new VeilError('BAD_REQUEST', `minScore must be between 0 and 1, not ${minScore}.`);

  const model = await loadFaceModel(options.modelPath);
  const filter = {
    // sigmoid(logit) >= minScore, without a sigmoid per anchor.
    minLogit: minScore <= 0 ? -Infinity : minScore >= 1 ? Infinity : Math.log(minScore / (1 - minScore)),
    minHeight: minFaceHeight * MIN_HEIGHT_FRACTION,
  };
  const candidates: Candidate[] = [];
  const scales = detectionScales(width, height, minFaceHeight);
  // Every level is resized at once: sharp works off the main thread, so the finest level's
  // enlargement (the slow one) runs while the network works on the coarse levels, which go first.
  // Both want the same two cores, so this saves ~5%, not the enlargement's whole ~110 ms.
  const levels = scales.map((scale) => renderLevel(image, scale));
  // Awaited below; until then a failure must not count as unhandled.
  for (const level of levels) level.catch(() => undefined);

  const input = new Uint8Array(BATCH * TILE * TILE * 3);
  const batch: { level: Level; tile: Tile; maxModelHeight: number }[] = [];
  const runBatch = async (): Promise<void> => {
    batch.forEach(({ level, tile }, i) => copyTile(level, tile, input.subarray(i * TILE * TILE * 3, (i + 1) * TILE * TILE * 3)));
    const out = await model.run(input.subarray(0, batch.length * TILE * TILE * 3), batch.length);
    batch.forEach(({ level, tile, maxModelHeight }, i) =>
      decodeTile(out.subarray(i * TILE_VALUES, (i + 1) * TILE_VALUES), level, tile, { ...filter, maxModelHeight }, candidates),
    );
    batch.length = 0;
  };
  for (let index = scales.length - 1; index >= 0; index--) {
    const level = await levels[index]!;
    const maxModelHeight = index === scales.length - 1 ? Infinity : LEVEL_MAX_FACE_PX;
    for (const tile of tileGrid(level.width, level.height)) {
      batch.push({ level, tile, maxModelHeight });
      if (batch.length === BATCH) await runBatch();
    }
  }
  if (batch.length > 0) await runBatch();
  return blendOverlapping(candidates).flatMap((c) => toFace(c, width, height));
}

interface Level {
  /** RGB, interleaved, `width` x `height`. */
  rgb: Buffer;
  width: number;
  height: number;
  /** Image pixels per level pixel, per axis (each edge is rounded on its own). */
  toImageX: number;
  toImageY: number;
}

function levelSize(width: number, height: number, scale: number): [number, number] {
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

async function renderLevel(image: RawImage, scale: number): Promise<Level> {
  const [w, h] = levelSize(image.width, image.height, scale);
  let rgb = image.data;
  if (w !== image.width || h !== image.height || image.channels !== 3) {
    rgb = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
      .removeAlpha()
      // Enlarging, libvips interpolates bicubically whatever the kernel (lanczos3, cubic and
      // mitchell give the same pixels). Bilinear takes half the time but measurably changes which
      // textures the network takes for faces (one more false positive on the demo set).
      .resize(w, h, { fit: 'fill' })
      .raw()
      .toBuffer();
  }
  return { rgb, width: w, height: h, toImageX: image.width / w, toImageY: image.height / h };
}

interface Tile {
  left: number;
  top: number;
  /** Which edges touch a neighbouring tile (a face cut there is whole in the neighbour). */
  inner: { left: boolean; top: boolean; right: boolean; bottom: boolean };
}

function tileStarts(size: number): number[] {
  if (size <= TILE) return [0];
  // Gaps of TILE - TILE_OVERLAP, give or take the pixel by which rounding a level's size can
  // overshoot (1601 rows, not 1600, would otherwise cost a whole extra row of tiles).
  const count = Math.ceil((size - TILE) / (TILE - TILE_OVERLAP + 1)) + 1;
  // Evenly spread, so the last tile ends at the edge rather than hanging over it.
  return Array.from({ length: count }, (_, i) => Math.round((i * (size - TILE)) / (count - 1)));
}

function tileGrid(width: number, height: number): Tile[] {
  const xs = tileStarts(width);
  const ys = tileStarts(height);
  return ys.flatMap((top, yi) =>
    xs.map((left, xi) => ({
      left,
      top,
      inner: { left: xi > 0, top: yi > 0, right: xi < xs.length - 1, bottom: yi < ys.length - 1 },
    })),
  );
}

/** Mid grey, the network's 0 (TF pads its input with 0 in [-1, 1]; 127.5 is not a byte). */
const PAD_VALUE = 128;

/** One tile as network input: the level's pixels, and mid grey beyond its edge. */
function copyTile(level: Level, tile: Tile, into: Uint8Array): void {
  const { rgb, width, height } = level;
  const rowBytes = Math.min(TILE, width - tile.left) * 3;
  const rows = Math.min(TILE, height - tile.top);
  if (rowBytes < TILE * 3 || rows < TILE) into.fill(PAD_VALUE);
  for (let y = 0; y < rows; y++) {
    const from = ((tile.top + y) * width + tile.left) * 3;
    rgb.copy(into, y * TILE * 3, from, from + rowBytes);
  }
}

/** Turns one tile's network output (anchors in 2x2 blocks, see faces-onnx.ts) into candidates. */
function decodeTile(
  out: Float32Array,
  level: Level,
  tile: Tile,
  filter: { minLogit: number; minHeight: number; maxModelHeight: number },
  into: Candidate[],
): void {
  const plane = GRID * GRID;
  for (let block = 0; block < BLOCK * BLOCK; block++) {
    const base = block * VALUES * plane;
    const [blockRow, blockCol] = [Math.floor(block / BLOCK), block % BLOCK];
    for (let cell = 0; cell < plane; cell++) {
      const logit = out[base + cell]!;
      if (!(logit >= filter.minLogit)) continue;
      const row = Math.floor(cell / GRID) * BLOCK + blockRow;
      const col = (cell % GRID) * BLOCK + blockCol;
      // Box centre and size in tile pixels: offsets from the anchor at the centre of its 4x4 cell.
      const cx = (col + 0.5) * STRIDE + out[base + plane + cell]!;
      const cy = (row + 0.5) * STRIDE + out[base + 2 * plane + cell]!;
      const bw = out[base + 3 * plane + cell]!;
      const bh = out[base + 4 * plane + cell]!;
      if (!(bw > 0 && bh > 0) || bh * BOX_TO_FACE > filter.maxModelHeight) continue;
      // A face cut by an edge shared with another tile is seen whole (and better) by that tile.
      if (
        (tile.inner.left && cx - bw / 2 < 0) ||
        (tile.inner.top && cy - bh / 2 < 0) ||
        (tile.inner.right && cx + bw / 2 > TILE) ||
        (tile.inner.bottom && cy + bh / 2 > TILE)
      ) {
        continue;
      }
      const w = bw * level.toImageX;
      const h = bh * level.toImageY;
      if (h * BOX_TO_FACE < filter.minHeight) continue;
      const x = (tile.left + cx) * level.toImageX;
      const y = (tile.top + cy) * level.toImageY;
      into.push({
        x0: x - w / 2,
        x1: x + w / 2,
        y0: y - h / 2 - h * FOREHEAD_EXTENSION,
        y1: y + h / 2 + h * CHIN_EXTENSION,
        score: 1 / (1 + Math.exp(-logit)),
      });
    }
  }
}

function iou(a: Candidate, b: Candidate): number {
  const iw = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const ih = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

/**
 * MediaPipe's weighted non-maximum suppression: the best candidate and every one overlapping it
 * by NMS_IOU or more are one face, boxed by their score-weighted mean, scored by the best. Tiles,
 * anchors and levels that saw the same face agree better together than any one of them.
 */
function blendOverlapping(candidates: Candidate[]): Candidate[] {
  const remaining = [...candidates].sort((a, b) => b.score - a.score);
  const faces: Candidate[] = [];
  while (remaining.length > 0) {
    const best = remaining[0]!;
    const sum = { x0: 0, y0: 0, x1: 0, y1: 0, weight: 0 };
    for (let i = remaining.length - 1; i >= 0; i--) {
      const c = remaining[i]!;
      if (iou(best, c) < NMS_IOU) continue;
      remaining.splice(i, 1);
      sum.x0 += c.x0 * c.score;
      sum.y0 += c.y0 * c.score;
      sum.x1 += c.x1 * c.score;
      sum.y1 += c.y1 * c.score;
      sum.weight += c.score;
    }
    const w = sum.weight;
    faces.push({ x0: sum.x0 / w, y0: sum.y0 / w, x1: sum.x1 / w, y1: sum.y1 / w, score: best.score });
  }
  return faces;
}

/** Whole pixels covering the candidate, clamped to the image. */
function toFace(c: Candidate, width: number, height: number): DetectedFace[] {
  const x0 = Math.max(0, Math.floor(c.x0));
  const y0 = Math.max(0, Math.floor(c.y0));
  const x1 = Math.min(width, Math.ceil(c.x1));
  const y1 = Math.min(height, Math.ceil(c.y1));
  if (x1 <= x0 || y1 <= y0) return [];
  return [{ box: [x0, y0, x1 - x0, y1 - y0], score: c.score }];
}
