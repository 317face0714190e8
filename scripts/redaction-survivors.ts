/**
 * Does a redacted face stay redacted in the copies a CMS makes? Each labelled photo is published
 * as Veil publishes it (long edge MAX_EDGE, JPEG), its faces redacted (the labelled faces still
 * FACE_MIN_PX tall, and whatever the detector finds down to its lowest candidate score, as the
 * pipeline does under blur); then it is shrunk to each width a CMS derives (WordPress: 150, 300,
 * 768, 1024) and re-encoded as the CMS would. The detector, at its lowest candidate score, looks
 * at every copy: any candidate that overlaps a redacted region is a survivor.
 *
 *   npx tsx scripts/redaction-survivors.ts GT.json [GT.json...] [--mode blur|pixelate|solid] [--save DIR]
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DEFAULT_FACE_MIN_PX, DEFAULT_MAX_EDGE, detectFaces, LOWEST_CANDIDATE_SCORE } from '../src/pipeline/faces.js';
import { DEFAULT_REDACTION_PADDING, redactFaces, redactionEllipse, type RedactionEllipse } from '../src/pipeline/redact.js';
import type { DetectedFace, RawImage, RedactionMode } from '../src/pipeline/types.js';
import type { Box, GroundTruth } from './eval-faces.js';

/** Widths WordPress derives (thumbnail, medium, medium_large, large); the published size is checked too. */
export const CMS_COPY_WIDTHS = [150, 300, 768, 1024] as const;
export const REDACTION_MODES: readonly RedactionMode[] = ['blur', 'pixelate', 'solid'];
/** CMSes re-encode their copies; WordPress's default JPEG quality. */
const COPY_JPEG_QUALITY = 82;

export interface Survivor {
  /** 'published' or the copy's width. */
  size: 'published' | number;
  score: number;
  /** In the copy's pixels. */
  box: Box;
  /** How much of the box lies on redacted regions (shareInside). */
  inside: number;
}

/** The photo as Veil publishes it: upright, long edge at most `maxEdge`, sRGB, no alpha. */
export async function publishedPixels(bytes: Uint8Array, maxEdge = DEFAULT_MAX_EDGE): Promise<RawImage> {
  const { data, info } = await sharp(bytes)
    .rotate()
    .resize(maxEdge, maxEdge, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/**
 * What is redacted: every labelled face at least `minFacePx` tall (boxes in the ORIGINAL's pixels,
 * scaled by `scale`) and every candidate the detector finds down to its lowest score, as under blur.
 */
export async function facesToRedact(image: RawImage, labelled: Box[], scale: number, minFacePx = DEFAULT_FACE_MIN_PX): Promise<DetectedFace[]> {
  const fromLabels = labelled.map((b): DetectedFace => ({ box: [b[0] * scale, b[1] * scale, b[2] * scale, b[3] * scale], score: 1 })).filter((f) => f.box[3] >= minFacePx);
  const found = await detectFaces(image, { minScore: LOWEST_CANDIDATE_SCORE, minFaceHeight: minFacePx });
  return [...fromLabels, ...found];
}

/** The published photo as JPEG, as Veil hands it to the CMS. */
async function asPublishedJpeg(image: RawImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).jpeg({ quality: 90 }).toBuffer();
}

async function copyAt(jpeg: Buffer, width: number | undefined): Promise<RawImage> {
  const resized = width === undefined ? jpeg : await sharp(jpeg).resize({ width }).jpeg({ quality: COPY_JPEG_QUALITY }).toBuffer();
  const { data, info } = await sharp(resized).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** The share of a box's area that lies inside any of the ellipses, sampled on a grid of 16 x 16 points. */
export function shareInside([x, y, w, h]: Box, ellipses: RedactionEllipse[]): number {
  const n = 16;
  let inside = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const px = x + ((i + 0.5) * w) / n;
      const py = y + ((j + 0.5) * h) / n;
      if (ellipses.some((e) => ((px - e.cx) / e.rx) ** 2 + ((py - e.cy) / e.ry) ** 2 < 1)) inside += 1;
    }
  }
  return inside / (n * n);
}

/**
 * A candidate is ON a redacted region when its centre is, or at least half of its box. Not any
 * overlap: a redacted head changes its surroundings, and the detector's false alarms on the chest,
 * a railing or a shoulder next to an ellipse reach 10–30 % into it; they are not a face left there.
 */
export function onRedaction(box: Box, ellipses: RedactionEllipse[]): boolean {
  const [x, y, w, h] = box;
  const cx = x + w / 2;
  const cy = y + h / 2;
  return ellipses.some((e) => ((cx - e.cx) / e.rx) ** 2 + ((cy - e.cy) / e.ry) ** 2 < 1) || shareInside(box, ellipses) >= 0.5;
}

/**
 * Redacts `faces` in `image` with `mode`, then runs the detector at its lowest candidate score on
 * the published JPEG and on each CMS copy. Returns every candidate overlapping a redacted
 * region; `onCopy` sees each copy (to save it).
 */
export async function survivorsInCopies(
  image: RawImage,
  faces: DetectedFace[],
  mode: RedactionMode,
  onCopy?: (size: Survivor['size'], copy: RawImage) => Promise<void>,
): Promise<Survivor[]> {
  const redacted = await redactFaces(image, faces, { mode, padding: DEFAULT_REDACTION_PADDING });
  const jpeg = await asPublishedJpeg(redacted);
  const survivors: Survivor[] = [];
  for (const size of ['published', ...CMS_COPY_WIDTHS.filter((w) => w < image.width)] as const) {
    const copy = await copyAt(jpeg, size === 'published' ? undefined : size);
    await onCopy?.(size, copy);
    const k = copy.width / image.width;
    const ellipses = faces.map((f) => redactionEllipse([f.box[0] * k, f.box[1] * k, f.box[2] * k, f.box[3] * k], DEFAULT_REDACTION_PADDING));
    // The detector's own smallest face at this size: whatever it can still call a face counts.
    for (const d of await detectFaces(copy, { minScore: LOWEST_CANDIDATE_SCORE })) {
      const inside = shareInside(d.box, ellipses);
      if (onRedaction(d.box, ellipses)) survivors.push({ size, score: d.score, box: d.box, inside });
    }
  }
  return survivors;
}

/** A label file's photo: as named (the demo set names it from the project root), else beside the label file or its folder. */
export function labelledPhoto(file: string, gtPath: string): string {
  const dir = path.dirname(path.resolve(gtPath));
  const found = [file, path.join(dir, file), path.join(path.dirname(dir), file)].find((f) => existsSync(f));
  if (!found) throw new Error(`${file} not found (from ${process.cwd()}, ${dir} or the folder above it)`);
  return found;
}

async function main(argv: string[]): Promise<void> {
  const sets: string[] = [];
  let modes = REDACTION_MODES;
  let save: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--mode') modes = [argv[++i] as RedactionMode];
    else if (argv[i] === '--save') save = argv[++i];
    else sets.push(argv[i]!);
  }
  for (const mode of modes) {
    let photos = 0;
    let regions = 0;
    const bySize = new Map<string, number[]>();
    for (const gtPath of sets) {
      const gt = JSON.parse(await readFile(gtPath, 'utf8')) as GroundTruth;
      for (const entry of gt.images) {
        const file = labelledPhoto(entry.file, gtPath);
        const bytes = await readFile(file);
        const image = await publishedPixels(bytes);
        const original = await sharp(bytes).rotate().metadata();
        const upright = (original.orientation ?? 1) >= 5 ? original.height! : original.width!;
        const faces = await facesToRedact(image, entry.boxes, image.width / upright);
        photos += 1;
        regions += faces.length;
        const name = path.basename(file).replace(/\.[^.]+$/, '');
        const survivors = await survivorsInCopies(image, faces, mode, async (size, copy) => {
          if (!save) return;
          await mkdir(save, { recursive: true });
          await sharp(copy.data, { raw: { width: copy.width, height: copy.height, channels: 3 } }).png().toFile(path.join(save, `${name}-${mode}-${size}.png`));
        });
        for (const s of survivors) {
          const key = String(s.size);
          bySize.set(key, [...(bySize.get(key) ?? []), s.score]);
          console.log(`  ${name} ${mode} @${s.size}: ${s.score.toFixed(2)} [${s.box.map((v) => Math.round(v)).join(', ')}] ${Math.round(s.inside * 100)}% inside`);
        }
      }
    }
    const sizes = ['published', ...CMS_COPY_WIDTHS.map(String)];
    const cells = sizes.map((s) => {
      const scores = bySize.get(s) ?? [];
      return `${s}: ${scores.length}${scores.length ? ` (max ${Math.max(...scores).toFixed(2)})` : ''}`;
    });
    console.log(`${mode}: ${photos} photos, ${regions} redacted regions; candidates >= ${LOWEST_CANDIDATE_SCORE} on a redacted region by size: ${cells.join(', ')}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
