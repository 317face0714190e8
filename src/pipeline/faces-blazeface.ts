/**
 * BlazeFace full-range (ONNX, see models/README.md) over a small image pyramid, each level cut
 * into overlapping 192x192 tiles. Veil's detector before YuNet; kept for FACE_MODEL files of this
 * family and as the measured second opinion in models/README.md.
 *
 * The finest level is scaled so that a face of `minFaceHeight` is BLAZEFACE_MIN_FACE_PX tall at the
 * network's input; each coarser level is LEVEL_STEP smaller, down to one that holds the whole
 * photo, for the large faces.
 */
import sharp from 'sharp';
import {
  FACE_MODEL_ANCHOR_STRIDE as STRIDE,
  FACE_MODEL_BLOCK as BLOCK,
  FACE_MODEL_GRID as GRID,
  FACE_MODEL_INPUT_SIZE as TILE,
  FACE_MODEL_TILE_VALUES as TILE_VALUES,
  FACE_MODEL_VALUES_PER_ANCHOR as VALUES,
  type BlazeFaceModel,
} from './faces-onnx.js';
import { blendOverlapping, type Candidate } from './faces-merge.js';
import type { RawImage } from './types.js';

/**
 * A face of `minFaceHeight` is scaled to this many pixels at the network's input (192 px). On
 * demo faces with head and shoulders, measured at the network's input: from ~25 px nearly all are
 * found, at 20 px about 85%, at 16 px about 70%. This sets the cost of detection: with
 * FACE_MIN_PX 16 the finest level is 1.5x the published size.
 */
export const BLAZEFACE_MIN_FACE_PX = 24;

/**
 * Each coarser pyramid level is this much smaller, so a level answers for faces 24–84 px. A step
 * of 2.5 (with 52 px of overlap) needs 11% fewer tiles and finds the same faces, but moves the
 * scores of large faces by up to ±0.05 (the level that sees them changes); measured in
 * models/README.md, not taken.
 */
const LEVEL_STEP = 3;
/** Candidates taller than this at a level (not the coarsest) are the next level's job. */
const LEVEL_MAX_FACE_PX = BLAZEFACE_MIN_FACE_PX * (LEVEL_STEP + 0.5);
/** The coarsest level holds the whole photo in this many pixels, so even a face filling it is in range. */
const COARSEST_EDGE = 160;
/** Upscaling beyond this adds cost without finding more: the detail is not in the photo. */
const MAX_UPSCALE = 2;
/**
 * Tiles overlap by the largest face box a level must see whole: a face of
 * BLAZEFACE_MIN_FACE_PX × LEVEL_STEP (72 px; smaller than that the next level cannot find it) has a
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


/** Candidates scoring at least `minScore`, merged across tiles and levels, in image pixels. */
export async function detectBlazeFace(image: RawImage, model: BlazeFaceModel, options: { minFaceHeight: number; minScore: number }): Promise<Candidate[]> {
  const { width, height } = image;
  const { minFaceHeight, minScore } = options;
  const filter = {
    // sigmoid(logit) >= minScore, without a sigmoid per anchor.
    minLogit: minScore <= 0 ? -Infinity : minScore >= 1 ? Infinity : Math.log(minScore / (1 - minScore)),
    minHeight: minFaceHeight * MIN_HEIGHT_FRACTION,
  };
  const candidates: Candidate[] = [];
  const scales = detectionScales(width, height, minFaceHeight);
  // Every level is resized at once: sharp works off the main thread, so the finest level's
  // enlargement runs while the network works on the coarse levels, which go first.
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
  return blendOverlapping(candidates, NMS_IOU);
}

/** The pyramid's scales (level size / image size), finest first. */
export function detectionScales(width: number, height: number, minFaceHeight: number): number[] {
  const longEdge = Math.max(width, height);
  const scales = [Math.min(MAX_UPSCALE, BLAZEFACE_MIN_FACE_PX / minFaceHeight)];
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
