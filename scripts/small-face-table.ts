/**
 * The small-face table of models/README.md: every demo face (with head and shoulders) shrunk to
 * a set of heights and laid out on a 4000x3000 JPEG, in several layouts, then detected as Veil
 * would for a photo published at MAX_EDGE 1600 and at the original size (MAX_EDGE 4000).
 * The photos are the ones test/faces.test.ts builds (test/helpers/faces.ts), so the two agree.
 *
 *   npx tsx scripts/small-face-table.ts [--heights 20,30,40,45,50,60] [--seeds 7,8,9]
 *                                       [--max-edges 1600,4000] [--face-min-px 16] [--json]
 *
 * Faces are matched at IoU 0.4, as in the tests (the ground-truth boxes follow another
 * detector's convention, and at 20 px a 2 px difference moves IoU by ~0.15).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FACE_MIN_PX, decodeForDetection, detectFaces, minFaceHeightFor } from '../src/pipeline/faces.js';
import { falsePositives, smallFacePhoto } from '../test/helpers/faces.js';
import { matchFaces } from './eval-faces.js';

const WIDTH = 4000;
const HEIGHT = 3000;
const SMALL_FACE_IOU = 0.4;

export interface SmallFaceTable {
  settings: { heights: number[]; seeds: number[]; maxEdges: number[]; faceMinPx: number };
  /** found[maxEdge][height] = faces found (of `perHeight`). */
  found: Record<number, Record<number, number>>;
  perHeight: number;
  /** Per MAX_EDGE: detections, and those centred away from every real face. */
  alarms: Record<number, { detections: number; falseAlarms: number }>;
  /** Per MAX_EDGE: total detection time over all layouts, ms. */
  detectMs: Record<number, number>;
  /** Every face not found: which MAX_EDGE, layout, height and demo face (index in the ground truth). */
  missed: { maxEdge: number; seed: number; height: number; source: number }[];
}

export async function smallFaceTable(settings: SmallFaceTable['settings']): Promise<SmallFaceTable> {
  const { heights, seeds, maxEdges, faceMinPx } = settings;
  const found: SmallFaceTable['found'] = {};
  const alarms: SmallFaceTable['alarms'] = {};
  const detectMs: SmallFaceTable['detectMs'] = {};
  const missed: SmallFaceTable['missed'] = [];
  for (const edge of maxEdges) {
    found[edge] = Object.fromEntries(heights.map((h) => [h, 0]));
    alarms[edge] = { detections: 0, falseAlarms: 0 };
    detectMs[edge] = 0;
  }
  let perHeight = 0;
  for (const seed of seeds) {
    const photo = await smallFacePhoto({ width: WIDTH, height: HEIGHT, faceHeights: heights, seed });
    const image = await decodeForDetection(photo.jpeg);
    perHeight += photo.faces.filter((f) => f.height === heights[0]).length;
    for (const edge of maxEdges) {
      const started = performance.now();
      const faces = await detectFaces(image, { minFaceHeight: minFaceHeightFor(WIDTH, HEIGHT, edge, faceMinPx) });
      detectMs[edge]! += performance.now() - started;
      const match = matchFaces(faces, photo.faces.map((f) => f.box), SMALL_FACE_IOU);
      photo.faces.forEach((f, i) => {
        if (match.found[i]) found[edge]![f.height]! += 1;
        else missed.push({ maxEdge: edge, seed, height: f.height, source: f.source });
      });
      alarms[edge]!.detections += faces.length;
      alarms[edge]!.falseAlarms += falsePositives(faces, match.detectionMatches, [...photo.faces.map((f) => f.box), ...photo.bystanders]).length;
    }
  }
  return { settings, found, perHeight, alarms, detectMs, missed };
}

export function formatTable(t: SmallFaceTable): string {
  const { heights, maxEdges, faceMinPx } = t.settings;
  const header = ['face height in the 4000 px file', 'published at 1600 px', ...maxEdges.map((e) => `found, MAX_EDGE ${e}`)];
  const rows = heights.map((h) => [
    `${h} px`,
    `${Math.round((h * 1600) / WIDTH)} px`,
    ...maxEdges.map((e) => {
      const minFace = minFaceHeightFor(WIDTH, HEIGHT, e, faceMinPx);
      // Faces well under the size the detector is asked for are not looked for.
      return h < minFace * 0.8 && t.found[e]![h] === 0 ? 'not looked for' : `${t.found[e]![h]}/${t.perHeight}`;
    }),
  ]);
  rows.push(['false alarms', '', ...maxEdges.map((e) => `${t.alarms[e]!.falseAlarms} in ${t.alarms[e]!.detections} detections`)]);
  rows.push(['detection time (all layouts)', '', ...maxEdges.map((e) => `${Math.round(t.detectMs[e]!)} ms`)]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function parseArgs(argv: string[]): { json: boolean; settings: SmallFaceTable['settings'] } {
  const settings = { heights: [20, 30, 40, 45, 50, 60], seeds: [7, 8, 9], maxEdges: [1600, 4000], faceMinPx: DEFAULT_FACE_MIN_PX };
  let json = false;
  const list = (v: string | undefined, name: string): number[] => {
    const values = (v ?? '').split(',').map(Number);
    if (values.length === 0 || values.some((n) => !(n > 0))) throw new Error(`${name} needs a comma-separated list of positive numbers`);
    return values;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--heights') settings.heights = list(argv[++i], arg);
    else if (arg === '--seeds') settings.seeds = list(argv[++i], arg);
    else if (arg === '--max-edges') settings.maxEdges = list(argv[++i], arg);
    else if (arg === '--face-min-px') settings.faceMinPx = list(argv[++i], arg)[0]!;
    else throw new Error(`unknown option ${arg}`);
  }
  return { json, settings };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { json, settings } = parseArgs(process.argv.slice(2));
    const table = await smallFaceTable(settings);
    process.stdout.write(`${json ? JSON.stringify(table) : formatTable(table)}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
