/**
 * What the detector misses, and why: for every counted face (>= FACE_MIN_PX once published) not
 * found at the operating point, its published height, brightness and group, and the nearest
 * candidate the detector had for it down to score 0.05: none at all (the network never saw it),
 * one that overlaps but not at IoU 0.5 (a box disagreement: is the matcher fair?), or one at
 * IoU 0.5 that scored too low. Same ground-truth format and defaults as eval-faces.ts.
 *
 *   npx tsx scripts/face-misses.ts GT.json [--act-on S] [--flip on|off] [--zoom candidates|off] [--json]
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MIN_SCORE, DEFAULT_PLAN, DEFAULT_UNCERTAIN_SCORE, decodeForDetection, detectFaces, type DetectPlan, minFaceHeightFor } from '../src/pipeline/faces.js';
import { AP_FLOOR_SCORE, type Box, boxIou, type GroundTruth, judge, MATCH_IOU, meanLuma, resolveImage } from './eval-faces.js';

export interface Miss {
  file: string;
  box: Box;
  publishedHeight: number;
  luma: number;
  group: string;
  children: boolean;
  /** Best-overlapping candidate down to AP_FLOOR_SCORE: its IoU with the face and its score. */
  nearest: { iou: number; score: number } | null;
  why: 'not seen' | 'box disagrees' | 'scored low';
}

export async function findMisses(gtPath: string, actOn: number, plan: DetectPlan): Promise<{ faces: number; misses: Miss[] }> {
  const gt = JSON.parse(await readFile(gtPath, 'utf8')) as GroundTruth;
  const misses: Miss[] = [];
  let faces = 0;
  for (const entry of gt.images) {
    const image = await decodeForDetection(await readFile(resolveImage(entry.file, gtPath)));
    const minFaceHeight = minFaceHeightFor(image.width, image.height);
    const publishScale = minFaceHeight / 16;
    const counted = entry.boxes.filter((b) => b[3] >= minFaceHeight);
    const uncounted = [...entry.boxes.filter((b) => b[3] < minFaceHeight), ...(entry.ignore ?? [])];
    faces += counted.length;
    const all = await detectFaces(image, { minFaceHeight, minScore: AP_FLOOR_SCORE, plan });
    const { found } = judge(all.filter((d) => d.score >= actOn), counted, uncounted);
    counted.forEach((box, i) => {
      if (found[i]) return;
      let nearest: Miss['nearest'] = null;
      for (const d of all) {
        const v = boxIou(d.box, box);
        if (v > 0 && (!nearest || v > nearest.iou || (v === nearest.iou && d.score > nearest.score))) nearest = { iou: v, score: d.score };
      }
      const why: Miss['why'] = !nearest || nearest.iou < 0.2 ? 'not seen' : nearest.iou < MATCH_IOU ? 'box disagrees' : 'scored low';
      misses.push({ file: path.basename(entry.file), box, publishedHeight: box[3] / publishScale, luma: meanLuma(image.data, image.width, box), group: entry.category ?? 'all', children: Boolean(entry.children), nearest, why });
    });
  }
  return { faces, misses };
}

function count<T>(items: T[], key: (t: T) => string): string {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const plan: DetectPlan = { ...DEFAULT_PLAN };
  let actOn = Math.min(DEFAULT_MIN_SCORE, DEFAULT_UNCERTAIN_SCORE);
  let gt: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--act-on') actOn = Number(args[++i]);
    else if (a === '--flip') plan.flip = args[++i] === 'on';
    else if (a === '--zoom') plan.zoom = args[++i] as DetectPlan['zoom'];
    else if (a === '--json') json = true;
    else gt = a;
  }
  if (!gt) throw new Error('usage: npx tsx scripts/face-misses.ts GT.json [--act-on S] [--flip on|off] [--zoom candidates|off] [--json]');
  const { faces, misses } = await findMisses(gt, actOn, plan);
  if (json) {
    process.stdout.write(`${JSON.stringify({ faces, misses })}\n`);
  } else {
    const band = (h: number) => (h < 24 ? '16-24' : h < 32 ? '24-32' : h < 48 ? '32-48' : h < 96 ? '48-96' : '>=96');
    const lines = [
      `${misses.length} of ${faces} faces missed at score >= ${actOn}`,
      `  why: ${count(misses, (m) => m.why)}`,
      `  by published height: ${count(misses, (m) => band(m.publishedHeight))}`,
      `  by brightness: ${count(misses, (m) => (m.luma < 70 ? 'dark' : m.luma < 120 ? 'mid' : 'light'))}`,
      `  by group: ${count(misses, (m) => m.group)}`,
      '',
      '  file                                          box                    pub h  luma  why            nearest (IoU, score)',
      ...misses.map((m) => `  ${m.file.slice(-44).padEnd(44)}  ${m.box.map(Math.round).join(',').padEnd(21)}  ${m.publishedHeight.toFixed(0).padStart(5)}  ${m.luma.toFixed(0).padStart(4)}  ${m.why.padEnd(13)}  ${m.nearest ? `${m.nearest.iou.toFixed(2)}, ${m.nearest.score.toFixed(2)}` : '-'}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
