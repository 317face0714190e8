/**
 * How well does Veil find faces? Runs the detector over a ground-truth set and prints recall,
 * precision, average precision (IoU 0.5), recall by face height and time per image, next to what
 * sharp takes to decode + resize to MAX_EDGE + JPEG-encode the same photo (the budget detection
 * is held to).
 *
 *   npm run eval:faces -- GT.json [--min-score S] [--max-edge N] [--face-min-px N] [--model FILE] [--json]
 *
 * GT.json: { "images": [{ "file": "path/to/photo.jpg", "boxes": [[x, y, w, h], ...] }] } in upright
 * pixels; a file is looked up relative to the current folder, then to the GT file's folder.
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
  decodeForDetection,
  detectFaces,
  minFaceHeightFor,
} from '../src/pipeline/faces.js';
import type { DetectedFace } from '../src/pipeline/types.js';

export type Box = [number, number, number, number];

export interface GroundTruth {
  images: { file: string; boxes: Box[] }[];
}

/** Candidates down to this score feed the average precision (the curve's low end). */
export const AP_FLOOR_SCORE = 0.05;
export const MATCH_IOU = 0.5;
export const HEIGHT_BANDS = [
  { label: '< 32 px', min: 0, max: 32 },
  { label: '32–96 px', min: 32, max: 96 },
  { label: '> 96 px', min: 96, max: Infinity },
] as const;

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
  maxEdge: number;
  faceMinPx: number;
  modelPath?: string | undefined;
}

export interface EvalReport {
  gt: string;
  images: number;
  faces: number;
  settings: EvalOptions & { apFloorScore: number; matchIou: number };
  recall: number;
  precision: number;
  truePositives: number;
  falsePositives: number;
  averagePrecision: number;
  recallByHeight: { band: string; faces: number; found: number; recall: number }[];
  medianDetectMs: number;
  /** sharp decode + resize to maxEdge + JPEG encode of the same photos, for comparison. */
  medianPublishMs: number;
  perImage: { file: string; width: number; height: number; minFaceHeight: number; faces: number; found: number; falsePositives: number; detectMs: number; publishMs: number }[];
}

export async function evaluate(gtPath: string, options: EvalOptions): Promise<EvalReport> {
  const gt = JSON.parse(await readFile(gtPath, 'utf8')) as GroundTruth;
  const scored: { score: number; truePositive: boolean }[] = [];
  const bands = HEIGHT_BANDS.map((b) => ({ band: b.label, faces: 0, found: 0, recall: 0 }));
  const perImage: EvalReport['perImage'] = [];
  let faces = 0;
  let tp = 0;
  let fp = 0;
  for (const entry of gt.images) {
    const file = resolveImage(entry.file, gtPath);
    const bytes = await readFile(file);
    const image = await decodeForDetection(bytes);
    const minFaceHeight = minFaceHeightFor(image.width, image.height, options.maxEdge, options.faceMinPx);
    const detectOptions = { minFaceHeight, modelPath: options.modelPath };
    // The first image also pays for loading the model; time a second run, the steady state.
    if (perImage.length === 0) await detectFaces(image, { ...detectOptions, minScore: options.minScore });
    let started = performance.now();
    const detections = await detectFaces(image, { ...detectOptions, minScore: options.minScore });
    const detectMs = performance.now() - started;
    started = performance.now();
    await sharp(bytes).rotate().resize({ width: options.maxEdge, height: options.maxEdge, fit: 'inside', withoutEnlargement: true }).jpeg().toBuffer();
    const publishMs = performance.now() - started;

    const { found, detectionMatches } = matchFaces(detections, entry.boxes);
    const foundCount = found.filter(Boolean).length;
    const falsePositives = detectionMatches.filter((m) => m < 0).length;
    faces += entry.boxes.length;
    tp += foundCount;
    fp += falsePositives;
    entry.boxes.forEach((box, i) => {
      const band = bands[HEIGHT_BANDS.findIndex((b) => box[3] >= b.min && box[3] < b.max)]!;
      band.faces += 1;
      if (found[i]) band.found += 1;
    });

    const candidates = await detectFaces(image, { ...detectOptions, minScore: Math.min(AP_FLOOR_SCORE, options.minScore) });
    const all = matchFaces(candidates, entry.boxes);
    candidates.forEach((c, i) => scored.push({ score: c.score, truePositive: all.detectionMatches[i]! >= 0 }));
    perImage.push({ file: entry.file, width: image.width, height: image.height, minFaceHeight, faces: entry.boxes.length, found: foundCount, falsePositives, detectMs, publishMs });
  }
  for (const b of bands) b.recall = b.faces ? b.found / b.faces : Number.NaN;
  return {
    gt: gtPath,
    images: gt.images.length,
    faces,
    settings: { ...options, apFloorScore: AP_FLOOR_SCORE, matchIou: MATCH_IOU },
    recall: faces ? tp / faces : Number.NaN,
    precision: tp + fp ? tp / (tp + fp) : Number.NaN,
    truePositives: tp,
    falsePositives: fp,
    averagePrecision: averagePrecision(scored, faces),
    recallByHeight: bands,
    medianDetectMs: median(perImage.map((p) => p.detectMs)),
    medianPublishMs: median(perImage.map((p) => p.publishMs)),
    perImage,
  };
}

function resolveImage(file: string, gtPath: string): string {
  if (path.isAbsolute(file) || existsSync(file)) return file;
  const beside = path.join(path.dirname(gtPath), file);
  if (existsSync(beside)) return beside;
  throw new Error(`${file} not found (looked in ${process.cwd()} and ${path.dirname(gtPath)})`);
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function formatReport(r: EvalReport): string {
  const pct = (v: number) => (Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)}%`);
  const lines = [
    `Faces: ${r.faces} in ${r.images} images (${r.gt})`,
    `Settings: min score ${r.settings.minScore}, MAX_EDGE ${r.settings.maxEdge}, FACE_MIN_PX ${r.settings.faceMinPx}, match at IoU ${r.settings.matchIou}`,
    '',
    `  recall              ${pct(r.recall)}  (${r.truePositives}/${r.faces})`,
    `  precision           ${pct(r.precision)}  (${r.falsePositives} false positive${r.falsePositives === 1 ? '' : 's'})`,
    `  average precision   ${pct(r.averagePrecision)}  (candidates down to score ${r.settings.apFloorScore})`,
    '',
    '  recall by face height',
    ...r.recallByHeight.map((b) => `    ${b.band.padEnd(10)} ${pct(b.recall).padStart(7)}  (${b.found}/${b.faces})`),
    '',
    `  median time per image: detect ${r.medianDetectMs.toFixed(1)} ms; decode + resize(${r.settings.maxEdge}) + JPEG encode ${r.medianPublishMs.toFixed(1)} ms`,
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
  const options: EvalOptions = { minScore: DEFAULT_MIN_SCORE, maxEdge: DEFAULT_MAX_EDGE, faceMinPx: DEFAULT_FACE_MIN_PX };
  let gt: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${arg} needs a number`);
      return v;
    };
    if (arg === '--json') json = true;
    else if (arg === '--min-score') options.minScore = value();
    else if (arg === '--max-edge') options.maxEdge = value();
    else if (arg === '--face-min-px') options.faceMinPx = value();
    else if (arg === '--model') options.modelPath = argv[++i];
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else gt = arg;
  }
  if (!gt) throw new Error('usage: npm run eval:faces -- GT.json [--min-score S] [--max-edge N] [--face-min-px N] [--model FILE] [--json]');
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
