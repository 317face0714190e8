/**
 * Fixtures for the face tests, built from the demo photos @vladmandic/face-api ships and the
 * hand-checked ground truth in test/fixtures/faces (nothing downloaded, nothing synthetic about
 * the faces themselves).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type OverlayOptions } from 'sharp';

export type Box = [number, number, number, number];

export const PROJECT_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DEMO_GT_PATH = path.join(PROJECT_ROOT, 'test/fixtures/faces/face-api-demo-gt.json');

export interface DemoImage {
  file: string;
  boxes: Box[];
}

export function demoGroundTruth(): DemoImage[] {
  const gt = JSON.parse(readFileSync(DEMO_GT_PATH, 'utf8')) as { images: { file: string; boxes: Box[] }[] };
  return gt.images.map((i) => ({ file: path.join(PROJECT_ROOT, i.file), boxes: i.boxes }));
}

/** A small deterministic PRNG, so a failing layout can be reproduced. */
function seededRandom(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s - 1) / 2147483646;
  };
}

interface FaceCrop {
  /** PNG of the face with its head and shoulders. */
  png: Buffer;
  width: number;
  height: number;
  /** The face's box inside the crop. */
  face: Box;
  /** Other people's faces that fall (partly) inside the crop. */
  others: Box[];
}

/**
 * Every ground-truth face, cut out with its head and shoulders, as in a group photo: the detector
 * uses the body below a face as context, and a bare face on a strange background is not what
 * photos of children look like.
 */
export async function demoFaceCrops(): Promise<FaceCrop[]> {
  const crops: FaceCrop[] = [];
  for (const image of demoGroundTruth()) {
    const meta = await sharp(image.file).metadata();
    for (const [x, y, w, h] of image.boxes) {
      const left = Math.max(0, Math.round(x - w * 1.2));
      const top = Math.max(0, Math.round(y - h * 0.6));
      const right = Math.min(meta.width!, Math.round(x + w * 2.2));
      const bottom = Math.min(meta.height!, Math.round(y + h * 2.4));
      const png = await sharp(image.file).extract({ left, top, width: right - left, height: bottom - top }).png().toBuffer();
      const others = image.boxes
        .filter((o) => o[0] !== x || o[1] !== y)
        .filter((o) => o[0] < right && o[0] + o[2] > left && o[1] < bottom && o[1] + o[3] > top)
        .map((o): Box => [o[0] - left, o[1] - top, o[2], o[3]]);
      crops.push({ png, width: right - left, height: bottom - top, face: [x - left, y - top, w, h], others });
    }
  }
  return crops;
}

/**
 * Background for the small-face photos: the lower, face-free part of demo photo 1 (clothes,
 * hands, furniture) at about twice its size, stacked to fill the frame, so the detector sees real
 * photographic texture, not a flat colour it could never mistake for a face.
 */
async function background(width: number, height: number): Promise<Buffer> {
  const file = demoGroundTruth()[0]!.file;
  const meta = await sharp(file).metadata();
  const top = 700; // below the lowest face in sample1 (ends at y 652)
  const bandWidth = width;
  const bandHeight = Math.round(((meta.height! - top) * width) / meta.width!);
  const band = await sharp(file).extract({ left: 0, top, width: meta.width!, height: meta.height! - top }).resize(bandWidth, bandHeight, { fit: 'fill' }).png().toBuffer();
  const flipped = await sharp(band).flip().png().toBuffer();
  const rows = Math.ceil(height / bandHeight);
  const composites = Array.from({ length: rows }, (_, i) => ({ input: i % 2 ? flipped : band, left: 0, top: i * bandHeight }));
  const tall = await sharp({ create: { width, height: rows * bandHeight, channels: 3, background: '#777' } }).composite(composites).png().toBuffer();
  return sharp(tall).extract({ left: 0, top: 0, width, height }).png().toBuffer();
}

export interface SmallFacePhoto {
  /** JPEG bytes, as a camera would deliver them. */
  jpeg: Buffer;
  width: number;
  height: number;
  /** Each placed face: where it is, how tall it was made, which demo face it is. */
  faces: { box: Box; height: number; source: number }[];
  /**
   * Neighbours' faces that came along inside a crop (whole or cut by its edge): real faces, so
   * finding them is not a false positive, but not part of the size-controlled set either.
   */
  bystanders: Box[];
}

/**
 * A large photo with every demo face at every requested height (with head and shoulders), on a
 * jittered grid so none overlap, over real photographic texture, saved as a JPEG (quality 90).
 */
export async function smallFacePhoto(options: { width: number; height: number; faceHeights: number[]; seed?: number }): Promise<SmallFacePhoto> {
  const { width, height, faceHeights } = options;
  const random = seededRandom(options.seed ?? 7);
  const crops = await demoFaceCrops();
  const jobs = faceHeights.flatMap((h) => crops.map((crop, source) => ({ crop, source, h })));
  const cols = Math.ceil(Math.sqrt((jobs.length * width) / height));
  const rows = Math.ceil(jobs.length / cols);
  const cellW = Math.floor(width / cols);
  const cellH = Math.floor(height / rows);
  // Fisher–Yates, so sizes are spread over the frame rather than banded.
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  const composites: OverlayOptions[] = [];
  const faces: SmallFacePhoto['faces'] = [];
  const bystanders: Box[] = [];
  for (const [cell, { crop, source, h }] of jobs.entries()) {
    const scale = h / crop.face[3];
    const w = Math.max(1, Math.round(crop.width * scale));
    const ch = Math.max(1, Math.round(crop.height * scale));
    if (w > cellW || ch > cellH) throw new Error(`a ${h} px face with shoulders (${w}x${ch}) does not fit a ${cellW}x${cellH} cell`);
    const left = (cell % cols) * cellW + Math.floor(random() * (cellW - w));
    const top = Math.floor(cell / cols) * cellH + Math.floor(random() * (cellH - ch));
    const place = (b: Box): Box => [left + b[0] * scale, top + b[1] * scale, b[2] * scale, b[3] * scale];
    composites.push({ input: await sharp(crop.png).resize(w, ch, { fit: 'fill' }).png().toBuffer(), left, top });
    faces.push({ box: place(crop.face), height: h, source });
    bystanders.push(...crop.others.map(place));
  }
  const jpeg = await sharp(await background(width, height)).composite(composites).jpeg({ quality: 90 }).toBuffer();
  return { jpeg, width, height, faces, bystanders };
}

/**
 * Unmatched detections centred away from every real face (placed or bystander): alarms about
 * something that is not a face, as opposed to a real face boxed a little off.
 */
export function falsePositives<T extends { box: Box }>(detections: T[], matched: number[], realFaces: Box[]): T[] {
  return detections.filter((d, i) => matched[i]! < 0 && !realFaces.some((f) => centreNear(d.box, f)));
}

function centreNear(d: Box, face: Box): boolean {
  const cx = d[0] + d[2] / 2;
  const cy = d[1] + d[3] / 2;
  return Math.abs(cx - (face[0] + face[2] / 2)) <= face[2] && Math.abs(cy - (face[1] + face[3] / 2)) <= face[3];
}
