/**
 * YuNet-n (ONNX, see models/README.md): a whole-image pass at the scale where a face of
 * `minFaceHeight` is BASE_FACE_PX tall, its mirror image, and a closer look, ZOOM times larger,
 * around the small candidates they found. The looks are fused into one score per face.
 */
import sharp from 'sharp';
import { YUNET_ALIGN, type YuNetLevel, type YuNetModel } from './faces-onnx.js';
import { blendOverlapping, clusterOverlapping, type Candidate } from './faces-merge.js';
import type { RawImage } from './types.js';

/**
 * A face of `minFaceHeight` is this tall at the base pass's input. YuNet's published accuracy is at
 * the original image size, and the baseline runs it on the published image, where a face at
 * FACE_MIN_PX is 16 px: so 16, which leaves the published image at its own size.
 */
export const BASE_FACE_PX = 16;
/** The closer look is this much larger than the base pass: a 16 px face becomes 32 px. */
export const ZOOM = 2;
/** The closer look answers for candidates up to this tall in base-pass pixels; larger ones the base pass sees well. */
export const ZOOM_MAX_FACE_PX = 40;
/** Closer-look crops: this many base-pass pixels square, around each small candidate (ZOOM x larger at the network). */
const CROP = 96;
/** Crops per network run. */
const CROP_BATCH = 16;
/** Every pass is decoded down to this score, so that a face one look missed can still be averaged in. */
const LOOK_FLOOR = 0.1;
/** Looks at the same face overlap at least this much. */
const LOOK_IOU = 0.4;

export interface YuNetPlan {
  /** A horizontally mirrored base pass (profiles look the other way). */
  flip: boolean;
  /**
   * The closer look at small faces: 'candidates' runs ZOOM x crops around base-pass candidates
   * shorter than ZOOM_MAX_FACE_PX scoring at least `zoomSeedScore`; 'off' does not.
   */
  zoom: 'candidates' | 'off';
  zoomSeedScore: number;
}

export interface YuNetPassStats {
  /** Pixels through the network, all passes, in millions. */
  megapixels: number;
  runs: number;
}

interface Look extends Candidate {
  /** 0 base, 1 mirrored, 2 closer look. */
  pass: number;
}

/**
 * Every look's candidates, fused: looks that overlap are one face, boxed by their score-weighted
 * mean and scored by the MEAN of each look's best score over the looks that covered that spot (a
 * look that saw nothing there adds 0). Test-time augmentation, as ensembles do it: a face found in
 * every look keeps its score, a texture one look happened to like loses half or two thirds of it.
 */
export async function detectYuNet(
  image: RawImage,
  model: YuNetModel,
  options: { minFaceHeight: number; minScore: number; plan: YuNetPlan },
  stats?: YuNetPassStats,
): Promise<Candidate[]> {
  const { minFaceHeight, minScore, plan } = options;
  const scale = BASE_FACE_PX / minFaceHeight;
  const level = await renderLevel(image, Math.min(1, scale));
  const up = scale / level.scale;
  const base = { x: 0, y: 0, width: Math.round(image.width * scale), height: Math.round(image.height * scale) };
  const floor = Math.min(minScore, LOOK_FLOOR);
  const looks: Look[] = [];
  // Each look's anchors are merged first: fusing thousands of raw anchors across looks costs more than the network.
  const add = (found: Candidate[], pass: number) => {
    for (const c of blendOverlapping(found, LOOK_IOU)) looks.push({ ...c, pass });
  };
  add(await runWindows(model, level, up, [base], false, floor, stats), 0);
  if (plan.flip) add(await runWindows(model, level, up, [base], true, floor, stats), 1);

  let crops: Window[] = [];
  if (plan.zoom === 'candidates') {
    const maxHeight = ZOOM_MAX_FACE_PX / scale;
    const seeds = fuse(looks, plan.flip ? 2 : 1, []).filter((c) => c.score >= plan.zoomSeedScore && c.y1 - c.y0 < maxHeight);
    crops = cropsAround(seeds, scale, base);
    const zoomed = crops.map((c) => ({ x: c.x * ZOOM, y: c.y * ZOOM, width: c.width * ZOOM, height: c.height * ZOOM }));
    add((await runWindows(model, level, up * ZOOM, zoomed, false, floor, stats)).filter((c) => c.y1 - c.y0 < maxHeight), 2);
  }
  // Crops in image pixels, for "did the closer look cover this face".
  const covered = crops.map((c) => ({ x0: c.x / scale, y0: c.y / scale, x1: (c.x + c.width) / scale, y1: (c.y + c.height) / scale }));
  const minHeight = minFaceHeight * MIN_HEIGHT_FRACTION;
  return fuse(looks, plan.flip ? 2 : 1, covered).filter((c) => c.score >= minScore && c.y1 - c.y0 >= minHeight);
}

function fuse(looks: Look[], wholeImageLooks: number, crops: { x0: number; y0: number; x1: number; y1: number }[]): Candidate[] {
  return clusterOverlapping(looks, LOOK_IOU).map(({ best, members, box }) => {
    const perPass = [0, 0, 0];
    for (const c of members) perPass[c.pass] = Math.max(perPass[c.pass]!, c.score);
    const cx = (best.x0 + best.x1) / 2;
    const cy = (best.y0 + best.y1) / 2;
    const zoomed = crops.some((k) => cx >= k.x0 && cx < k.x1 && cy >= k.y0 && cy < k.y1) ? 1 : 0;
    const score = (perPass[0]! + (wholeImageLooks > 1 ? perPass[1]! : 0) + (zoomed ? perPass[2]! : 0)) / (wholeImageLooks + zoomed);
    return { ...box, score };
  });
}

/** One CROP-square window (base-pass pixels) centred on each seed, inside the image; near-duplicates merged. */
function cropsAround(seeds: Candidate[], scale: number, base: Window): Window[] {
  const crops: Window[] = [];
  const size = Math.min(CROP, base.width, base.height);
  for (const s of seeds) {
    const cx = ((s.x0 + s.x1) / 2) * scale;
    const cy = ((s.y0 + s.y1) / 2) * scale;
    // A seed well inside a crop already taken is looked at there.
    if (crops.some((k) => cx >= k.x + size / 4 && cx < k.x + (3 * size) / 4 && cy >= k.y + size / 4 && cy < k.y + (3 * size) / 4)) continue;
    const x = Math.round(Math.min(base.width - size, Math.max(0, cx - size / 2)));
    const y = Math.round(Math.min(base.height - size, Math.max(0, cy - size / 2)));
    crops.push({ x, y, width: size, height: size });
  }
  return crops;
}

/**
 * Candidates shorter than this fraction of minFaceHeight are dropped: the caller said they do not
 * matter. Not 1: a face of exactly FACE_MIN_PX is often boxed a pixel or two short (at 1, 16 px
 * composites fell from 77% found to 41%); the policy decides what "too small" is.
 */
const MIN_HEIGHT_FRACTION = 0.85;

interface Level {
  rgb: Buffer;
  width: number;
  height: number;
  channels: number;
  /** Level size / image size. */
  scale: number;
}

/** The image at `scale` (at most 1: enlarging happens per window, in runWindow). */
async function renderLevel(image: RawImage, scale: number): Promise<Level> {
  if (scale >= 1) return { rgb: image.data, width: image.width, height: image.height, channels: image.channels, scale: 1 };
  const w = Math.max(1, Math.round(image.width * scale));
  const h = Math.max(1, Math.round(image.height * scale));
  const rgb = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .removeAlpha()
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { rgb, width: w, height: h, channels: 3, scale: w / image.width };
}

interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Network runs over `wins` (all one size), windows of the level enlarged `up` times (bilinear,
 * done here: one pass over each window, no full-size enlargement), mirrored if `flip`.
 * Candidates in image pixels.
 */
async function runWindows(model: YuNetModel, level: Level, up: number, wins: Window[], flip: boolean, minScore: number, stats?: YuNetPassStats): Promise<Candidate[]> {
  const found: Candidate[] = [];
  if (wins.length === 0) return found;
  const w = Math.ceil(wins[0]!.width / YUNET_ALIGN) * YUNET_ALIGN;
  const h = Math.ceil(wins[0]!.height / YUNET_ALIGN) * YUNET_ALIGN;
  // Network pixels to image pixels.
  const toImage = 1 / (level.scale * up);
  for (let first = 0; first < wins.length; first += CROP_BATCH) {
    const batch = wins.slice(first, first + CROP_BATCH);
    const input = new Float32Array(batch.length * 3 * w * h);
    batch.forEach((win, i) => toInput(level, up, win, flip, w, h, input.subarray(i * 3 * w * h, (i + 1) * 3 * w * h)));
    if (stats) {
      stats.megapixels += (batch.length * w * h) / 1e6;
      stats.runs += 1;
    }
    const outputs = await model.run(input, w, h, batch.length);
    batch.forEach((win, i) => {
      for (const out of outputs) decode(out, w, h, i, minScore, (cx, cy, bw, bh, score) => {
        const x = flip ? win.width - cx : cx;
        // Faces centred in the padding are not in the image.
        if (x < 0 || x > win.width || cy > win.height) return;
        const x0 = (win.x + x - bw / 2) * toImage;
        const y0 = (win.y + cy - bh / 2) * toImage;
        found.push({ x0, y0, x1: x0 + bw * toImage, y1: y0 + bh * toImage, score });
      });
    });
  }
  return found;
}

/** Float32 BGR 0–255, NCHW, zero-padded right and bottom to w x h. */
function toInput(level: Level, up: number, win: Window, flip: boolean, w: number, h: number, input: Float32Array): void {
  const plane = w * h;
  const { rgb, width, height, channels } = level;
  if (up === 1) {
    for (let y = 0; y < win.height; y++) {
      const row = (win.y + y) * width;
      for (let x = 0; x < win.width; x++) {
        const sx = win.x + (flip ? win.width - 1 - x : x);
        const i = (row + sx) * channels;
        const o = y * w + x;
        input[o] = rgb[i + 2]!;
        input[plane + o] = rgb[i + 1]!;
        input[2 * plane + o] = rgb[i]!;
      }
    }
    return;
  }
  for (let y = 0; y < win.height; y++) {
    const fy = Math.min(height - 1, Math.max(0, (win.y + y + 0.5) / up - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < win.width; x++) {
      const lx = win.x + (flip ? win.width - 1 - x : x);
      const fx = Math.min(width - 1, Math.max(0, (lx + 0.5) / up - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const wx = fx - x0;
      const a = (y0 * width + x0) * channels;
      const b = (y0 * width + x1) * channels;
      const c = (y1 * width + x0) * channels;
      const d = (y1 * width + x1) * channels;
      const o = y * w + x;
      for (let ch = 0; ch < 3; ch++) {
        const top = rgb[a + ch]! + (rgb[b + ch]! - rgb[a + ch]!) * wx;
        const bottom = rgb[c + ch]! + (rgb[d + ch]! - rgb[c + ch]!) * wx;
        input[(2 - ch) * plane + o] = top + (bottom - top) * wy;
      }
    }
  }
}

/**
 * One stride's cells: score = sqrt(cls × obj) (both already sigmoids), centre
 * ((col + dx) × s, (row + dy) × s), size (exp(dw) × s, exp(dh) × s), in network pixels.
 */
function decode(out: YuNetLevel, w: number, h: number, image: number, minScore: number, emit: (cx: number, cy: number, bw: number, bh: number, score: number) => void): void {
  const { stride, cls, obj, bbox } = out;
  const cols = w / stride;
  const cells = cols * (h / stride);
  const minProduct = minScore * minScore;
  for (let cell = 0; cell < cells; cell++) {
    const i = image * cells + cell;
    const product = cls[i]! * obj[i]!;
    if (!(product >= minProduct) || product <= 0) continue;
    const score = Math.min(1, Math.sqrt(product));
    const col = cell % cols;
    const row = (cell - col) / cols;
    emit((col + bbox[4 * i]!) * stride, (row + bbox[4 * i + 1]!) * stride, Math.exp(bbox[4 * i + 2]!) * stride, Math.exp(bbox[4 * i + 3]!) * stride, score);
  }
}
