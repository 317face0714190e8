/**
 * How well does Veil find faces? Runs the detector over a ground-truth set and prints average
 * precision (IoU 0.5), recall and precision at the operating point (what the pipeline acts on:
 * the threshold, and the uncertain candidates it also redacts), recall at precision >= 0.9, recall
 * by the face's height once published at MAX_EDGE, by the face's brightness and by group, the
 * precision/recall curve, and time per image.
 *
 * Only faces still >= FACE_MIN_PX tall at MAX_EDGE are counted; a detection of a smaller
 * labelled face (or of a box the labels mark "ignore") is neither right nor wrong.
 *
 *   npm run eval:faces -- GT.json [--min-score S] [--uncertain S] [--max-edge N] [--face-min-px N]
 *       [--model FILE] [--flip on|off] [--zoom candidates|off] [--blazeface off|union] [--json]
 *
 * GT.json: { "images": [{ "file": "path/to/photo.jpg", "boxes": [[x, y, w, h], ...],
 * "ignore"?: [...], "children"?: bool, "category"?: "..." }] } in upright pixels; a file is looked up
 * relative to the current folder, then to the GT file's folder.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  DEFAULT_FACE_MIN_PX,
  DEFAULT_MAX_EDGE,
  DEFAULT_MIN_SCORE,
  DEFAULT_PLAN,
  DEFAULT_UNCERTAIN_SCORE,
  decodeForDetection,
  detectFaces,
  type DetectPlan,
  minFaceHeightFor,
} from '../src/pipeline/faces.js';
import type { DetectedFace } from '../src/pipeline/types.js';

export type Box = [number, number, number, number];

export interface GroundTruth {
  images: { file: string; boxes: Box[]; ignore?: Box[]; children?: boolean; category?: string }[];
}

/** Candidates down to this score feed the average precision (the curve's low end). */
export const AP_FLOOR_SCORE = 0.05;
export const MATCH_IOU = 0.5;
/** Bands of the face's height once published at MAX_EDGE. */
export const HEIGHT_BANDS = [
  { label: '16–24 px', min: 16, max: 24 },
  { label: '24–32 px', min: 24, max: 32 },
  { label: '32–48 px', min: 32, max: 48 },
  { label: '48–96 px', min: 48, max: 96 },
  { label: '≥ 96 px', min: 96, max: Infinity },
] as const;
/** Bands of the face box's mean luma (Rec. 601, 0–255): dark skin, shade and backlight fall low. */
export const LUMA_BANDS = [
  { label: 'dark (luma < 70)', min: 0, max: 70 },
  { label: 'mid (70–120)', min: 70, max: 120 },
  { label: 'light (≥ 120)', min: 120, max: 256 },
] as const;
/** The curve's rows. */
const CURVE_SCORES = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

export interface MatchResult {
  /** For each detection (in the order given): the index of the ground-truth box it found, or -1. */
  detectionMatches: number[];
  /** For each ground-truth box: whether a detection found it. */
  found: boolean[];
}

/** Greedy matching, best score first, each ground-truth box found at most once (PASCAL VOC rule). */
export function matchFaces(detections: DetectedFace[], truth: Box[], minIou = MATCH_IOU): MatchResult {
  const order = detections.map((_, i) => i).sort((a, b) => detections[b]!.score - detections[a]!.score);
  const detectionMatches = new Array<number>(detections.length).fill(-1);
  const found = new Array<boolean>(truth.length).fill(false);
  for (const d of order) {
    let best = -1;
    let bestIou = minIou;
    truth.forEach((t, i) => {
      const v = boxIou(detections[d]!.box, t);
      if (!found[i] && v >= bestIou) [best, bestIou] = [i, v];
    });
    if (best >= 0) {
      found[best] = true;
      detectionMatches[d] = best;
    }
  }
  return { detectionMatches, found };
}

/** All-point interpolated average precision over scored detections pooled from every image. */
export function averagePrecision(scored: { score: number; truePositive: boolean }[], totalTruth: number): number {
  if (totalTruth === 0) return Number.NaN;
  const sorted = [...scored].sort((a, b) => b.score - a.score);
  const points: { recall: number; precision: number }[] = [];
  let tp = 0;
  sorted.forEach((s, i) => {
    if (s.truePositive) tp += 1;
    points.push({ recall: tp / totalTruth, precision: tp / (i + 1) });
  });
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < points.length; i++) {
    const maxPrecision = Math.max(...points.slice(i).map((p) => p.precision));
    ap += (points[i]!.recall - prevRecall) * maxPrecision;
    prevRecall = points[i]!.recall;
  }
  return ap;
}

export interface EvalOptions {
  minScore: number;
  /** Candidates from this score up are acted on too (redacted under blur): the operating point's low end. */
  uncertainScore: number;
  maxEdge: number;
  faceMinPx: number;
  modelPath?: string | undefined;
  plan: DetectPlan;
}

interface Tally {
  group: string;
  faces: number;
  found: number;
  recall: number;
}

export interface EvalReport {
  gt: string;
  images: number;
  faces: number;
  settings: EvalOptions & { apFloorScore: number; matchIou: number };
  /** At the operating point: every candidate scoring >= min(minScore, uncertainScore). */
  recall: number;
  precision: number;
  truePositives: number;
  falsePositives: number;
  /** At the threshold alone (what is a "face" in the report). */
  atThreshold: { recall: number; precision: number; falsePositives: number };
  averagePrecision: number;
  recallAtPrecision90: { recall: number; score: number };
  curve: { score: number; recall: number; precision: number; falsePositives: number }[];
  recallByHeight: { band: string; faces: number; found: number; recall: number }[];
  recallByLuma: Tally[];
  recallByGroup: Tally[];
  medianDetectMs: number;
  /** sharp decode + resize to maxEdge + JPEG encode of the same photos, for comparison. */
  medianPublishMs: number;
  perImage: { file: string; width: number; height: number; minFaceHeight: number; faces: number; found: number; falsePositives: number; detectMs: number; publishMs: number }[];
}

interface Scored {
  score: number;
  truePositive: boolean;
}

/**
 * Matches detections against the counted faces, then lets those left over that fall on an
 * uncounted face (too small, or "ignore") go unjudged. Returns, per detection, 'tp' | 'fp' | 'ignored'.
 */
export function judge(detections: DetectedFace[], counted: Box[], uncounted: Box[]): { verdicts: ('tp' | 'fp' | 'ignored')[]; found: boolean[] } {
  const { detectionMatches, found } = matchFaces(detections, counted);
  const verdicts = detectionMatches.map((m, i): 'tp' | 'fp' | 'ignored' => {
    if (m >= 0) return 'tp';
    const box = detections[i]!.box;
    return uncounted.some((u) => boxIou(box, u) >= MATCH_IOU || covers(u, box)) ? 'ignored' : 'fp';
  });
  return { verdicts, found };
}

/** A detection mostly inside an unlabelled-size face (a tiny face's box is often a little larger). */
function covers(u: Box, box: Box): boolean {
  const iw = Math.min(u[0] + u[2], box[0] + box[2]) - Math.max(u[0], box[0]);
  const ih = Math.min(u[1] + u[3], box[1] + box[3]) - Math.max(u[1], box[1]);
  return iw > 0 && ih > 0 && (iw * ih) / (box[2] * box[3]) >= 0.5 && box[3] < 3 * u[3];
}

export function meanLuma(data: Buffer, width: number, box: Box): number {
  const [x, y, w, h] = box.map(Math.round) as Box;
  let sum = 0;
  let n = 0;
  for (let yy = Math.max(0, y); yy < y + h; yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(width, x + w); xx++) {
      const i = (yy * width + xx) * 3;
      if (i + 2 >= data.length) continue;
      sum += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
      n += 1;
    }
  }
  return n ? sum / n : 0;
}

export async function evaluate(gtPath: string, options: EvalOptions): Promise<EvalReport> {
  const gt = JSON.parse(await readFile(gtPath, 'utf8')) as GroundTruth;
  const scored: Scored[] = [];
  const bands = HEIGHT_BANDS.map((b) => ({ band: b.label, faces: 0, found: 0, recall: 0 }));
  const lumas = LUMA_BANDS.map((b): Tally => ({ group: b.label, faces: 0, found: 0, recall: 0 }));
  const groups = new Map<string, Tally>();
  const tally = (name: string): Tally => {
    let t = groups.get(name);
    if (!t) groups.set(name, (t = { group: name, faces: 0, found: 0, recall: 0 }));
    return t;
  };
  const perImage: EvalReport['perImage'] = [];
  const actOn = Math.min(options.minScore, options.uncertainScore);
  let faces = 0;
  let tp = 0;
  let fp = 0;
  let tpThreshold = 0;
  let fpThreshold = 0;
  for (const entry of gt.images) {
    const file = resolveImage(entry.file, gtPath);
    const bytes = await readFile(file);
    const image = await decodeForDetection(bytes);
    const minFaceHeight = minFaceHeightFor(image.width, image.height, options.maxEdge, options.faceMinPx);
    const publishScale = minFaceHeight / options.faceMinPx;
    const counted = entry.boxes.filter((b) => b[3] >= minFaceHeight);
    const uncounted = [...entry.boxes.filter((b) => b[3] < minFaceHeight), ...(entry.ignore ?? [])];
    const detectOptions = { minFaceHeight, modelPath: options.modelPath, plan: options.plan };
    // The first image also pays for loading the model; time a second run, the steady state.
    if (perImage.length === 0) await detectFaces(image, { ...detectOptions, minScore: actOn });
    let started = performance.now();
    const acted = await detectFaces(image, { ...detectOptions, minScore: actOn });
    const detectMs = performance.now() - started;
    started = performance.now();
    await sharp(bytes).rotate().resize({ width: options.maxEdge, height: options.maxEdge, fit: 'inside', withoutEnlargement: true }).jpeg().toBuffer();
    const publishMs = performance.now() - started;

    const { verdicts, found } = judge(acted, counted, uncounted);
    const foundCount = found.filter(Boolean).length;
    const falsePositives = verdicts.filter((v) => v === 'fp').length;
    faces += counted.length;
    tp += foundCount;
    fp += falsePositives;
    const strict = acted.filter((d) => d.score >= options.minScore);
    const atThreshold = judge(strict, counted, uncounted);
    tpThreshold += atThreshold.found.filter(Boolean).length;
    fpThreshold += atThreshold.verdicts.filter((v) => v === 'fp').length;
    const group = tally(entry.category ?? 'all');
    const children = entry.children ? tally('photos of children') : undefined;
    counted.forEach((box, i) => {
      const published = box[3] / publishScale;
      const band = bands[HEIGHT_BANDS.findIndex((b) => published >= b.min && published < b.max)];
      const luma = meanLuma(image.data, image.width, box);
      const lumaBand = lumas[LUMA_BANDS.findIndex((b) => luma >= b.min && luma < b.max)]!;
      for (const t of [band, lumaBand, group, children]) {
        if (!t) continue;
        t.faces += 1;
        if (found[i]) t.found += 1;
      }
    });

    const candidates = await detectFaces(image, { ...detectOptions, minScore: Math.min(AP_FLOOR_SCORE, actOn) });
    judge(candidates, counted, uncounted).verdicts.forEach((v, i) => {
      if (v !== 'ignored') scored.push({ score: candidates[i]!.score, truePositive: v === 'tp' });
    });
    perImage.push({ file: entry.file, width: image.width, height: image.height, minFaceHeight, faces: counted.length, found: foundCount, falsePositives, detectMs, publishMs });
  }
  for (const t of [...bands, ...lumas, ...groups.values()]) t.recall = t.faces ? t.found / t.faces : Number.NaN;
  return {
    gt: gtPath,
    images: gt.images.length,
    faces,
    settings: { ...options, apFloorScore: AP_FLOOR_SCORE, matchIou: MATCH_IOU },
    recall: faces ? tp / faces : Number.NaN,
    precision: tp + fp ? tp / (tp + fp) : Number.NaN,
    truePositives: tp,
    falsePositives: fp,
    atThreshold: { recall: faces ? tpThreshold / faces : Number.NaN, precision: tpThreshold + fpThreshold ? tpThreshold / (tpThreshold + fpThreshold) : Number.NaN, falsePositives: fpThreshold },
    averagePrecision: averagePrecision(scored, faces),
    recallAtPrecision90: recallAtPrecision(scored, faces, 0.9),
    curve: CURVE_SCORES.map((score) => {
      const kept = scored.filter((s) => s.score >= score);
      const hits = kept.filter((s) => s.truePositive).length;
      return { score, recall: faces ? hits / faces : Number.NaN, precision: kept.length ? hits / kept.length : Number.NaN, falsePositives: kept.length - hits };
    }),
    recallByHeight: bands,
    recallByLuma: lumas,
    recallByGroup: [...groups.values()],
    medianDetectMs: median(perImage.map((p) => p.detectMs)),
    medianPublishMs: median(perImage.map((p) => p.publishMs)),
    perImage,
  };
}

/** The highest recall at any score threshold where precision is still >= `floor`, and that threshold. */
export function recallAtPrecision(scored: Scored[], totalTruth: number, floor: number): { recall: number; score: number } {
  const sorted = [...scored].sort((a, b) => b.score - a.score);
  let hits = 0;
  let best = { recall: 0, score: Number.NaN };
  sorted.forEach((s, i) => {
    if (s.truePositive) hits += 1;
    const next = sorted[i + 1];
    // Only at a real threshold: after the last candidate of equal score.
    if (next && next.score === s.score) return;
    if (hits / (i + 1) >= floor && hits / totalTruth > best.recall) best = { recall: hits / totalTruth, score: s.score };
  });
  return best;
}

/** As given, then beside the GT file, then beside each folder above it (labels may name paths from a set's root). */
export function resolveImage(file: string, gtPath: string): string {
  if (path.isAbsolute(file) || existsSync(file)) return file;
  for (let dir = path.dirname(path.resolve(gtPath)); ; dir = path.dirname(dir)) {
    const beside = path.join(dir, file);
    if (existsSync(beside)) return beside;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`${file} not found (looked in ${process.cwd()}, ${path.dirname(gtPath)} and the folders above it)`);
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function formatReport(r: EvalReport): string {
  const pct = (v: number) => (Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)}%`);
  const s = r.settings;
  const tallies = (ts: Tally[]) => ts.map((t) => `    ${t.group.padEnd(24)} ${pct(t.recall).padStart(7)}  (${t.found}/${t.faces})`);
  const lines = [
    `Faces: ${r.faces} of at least ${s.faceMinPx} px once published at ${s.maxEdge} px, in ${r.images} images (${r.gt})`,
    `Settings: threshold ${s.minScore}, uncertain from ${s.uncertainScore}, plan ${JSON.stringify(s.plan)}, match at IoU ${s.matchIou}`,
    '',
    `  average precision      ${pct(r.averagePrecision)}  (candidates down to score ${s.apFloorScore})`,
    `  operating point (scores >= ${Math.min(s.minScore, s.uncertainScore)}: faces and uncertain candidates, all redacted under blur)`,
    `    recall               ${pct(r.recall)}  (${r.truePositives}/${r.faces})`,
    `    precision            ${pct(r.precision)}  (${r.falsePositives} false positive${r.falsePositives === 1 ? '' : 's'})`,
    `  at the threshold alone (scores >= ${s.minScore})`,
    `    recall               ${pct(r.atThreshold.recall)}`,
    `    precision            ${pct(r.atThreshold.precision)}  (${r.atThreshold.falsePositives} false positive${r.atThreshold.falsePositives === 1 ? '' : 's'})`,
    `  recall at precision >= 0.9   ${pct(r.recallAtPrecision90.recall)}  (threshold ${Number.isNaN(r.recallAtPrecision90.score) ? '–' : r.recallAtPrecision90.score.toFixed(3)})`,
    '',
    `  recall by published face height (operating point)`,
    ...r.recallByHeight.map((b) => `    ${b.band.padEnd(24)} ${pct(b.recall).padStart(7)}  (${b.found}/${b.faces})`),
    `  recall by the face box's brightness`,
    ...tallies(r.recallByLuma),
    `  recall by group`,
    ...tallies(r.recallByGroup),
    '',
    '  precision/recall curve (score >=, recall, precision, false positives)',
    ...r.curve.map((c) => `    ${c.score.toFixed(2)}  ${pct(c.recall).padStart(7)}  ${pct(c.precision).padStart(7)}  ${String(c.falsePositives).padStart(5)}`),
    '',
    `  median time per image: detect ${r.medianDetectMs.toFixed(1)} ms; decode + resize(${s.maxEdge}) + JPEG encode ${r.medianPublishMs.toFixed(1)} ms`,
    '',
    '  file                                              size        min face  found  false+  detect ms  publish ms',
    ...r.perImage.map(
      (p) =>
        `  ${(p.file.length > 48 ? `…${p.file.slice(-47)}` : p.file).padEnd(48)}  ${`${p.width}x${p.height}`.padEnd(10)}  ${p.minFaceHeight.toFixed(1).padStart(8)}  ${`${p.found}/${p.faces}`.padStart(5)}  ${String(p.falsePositives).padStart(6)}  ${p.detectMs.toFixed(1).padStart(9)}  ${p.publishMs.toFixed(1).padStart(10)}`,
    ),
  ];
  return lines.join('\n');
}

function parseArgs(argv: string[]): { gt: string; json: boolean; options: EvalOptions } {
  const options: EvalOptions = { minScore: DEFAULT_MIN_SCORE, uncertainScore: DEFAULT_UNCERTAIN_SCORE, maxEdge: DEFAULT_MAX_EDGE, faceMinPx: DEFAULT_FACE_MIN_PX, plan: { ...DEFAULT_PLAN } };
  let gt: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${arg} needs a number`);
      return v;
    };
    const choice = <T extends string>(allowed: readonly T[]): T => {
      const v = argv[++i] as T;
      if (!allowed.includes(v)) throw new Error(`${arg} takes ${allowed.join(' or ')}`);
      return v;
    };
    if (arg === '--json') json = true;
    else if (arg === '--min-score') options.minScore = value();
    else if (arg === '--uncertain') options.uncertainScore = value();
    else if (arg === '--max-edge') options.maxEdge = value();
    else if (arg === '--face-min-px') options.faceMinPx = value();
    else if (arg === '--model') options.modelPath = argv[++i];
    else if (arg === '--flip') options.plan.flip = choice(['on', 'off'] as const) === 'on';
    else if (arg === '--zoom') options.plan.zoom = choice(['candidates', 'off'] as const);
    else if (arg === '--zoom-seed') options.plan.zoomSeedScore = value();
    else if (arg === '--blazeface') options.plan.blazeFace = choice(['off', 'union'] as const);
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else gt = arg;
  }
  if (!gt) throw new Error('usage: npm run eval:faces -- GT.json [--min-score S] [--uncertain S] [--max-edge N] [--face-min-px N] [--model FILE] [--flip on|off] [--zoom candidates|off] [--blazeface off|union] [--json]');
  if (!(options.minScore >= 0 && options.minScore <= 1)) throw new Error('--min-score must be between 0 and 1');
  return { gt, json, options };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { gt, json, options } = parseArgs(process.argv.slice(2));
    const report = await evaluate(gt, options);
    process.stdout.write(`${json ? JSON.stringify(report) : formatReport(report)}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
