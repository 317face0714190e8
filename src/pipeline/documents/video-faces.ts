/**
 * Faces in a video, found on sampled frames with the photo pipeline's detector and judged by the
 * same policy. Faces are measured in the video's own pixels (it is published at its own size,
 * not downscaled), so a face counts as identifiable exactly as it would in a photo of that size.
 * Veil does not blur faces in videos yet: under `blur` and `hold` alike, a video whose sampled
 * frames show identifiable (or uncertain) faces is held for a person, with those frames boxed.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { applyFacePolicy, type FaceDecision } from '../policy.js';
import { renderReviewPreview } from '../preview.js';
import type { FaceOptions } from '../sanitise.js';
import type { RawImage } from '../types.js';
import { sampleFrames } from './video-ffmpeg.js';

export interface SamplingLimits {
  /** One frame is looked at every this many seconds, or more sparsely for long videos. */
  intervalS: number;
  /** At most this many frames are looked at. */
  maxFrames: number;
  /** Frames are looked at no larger than this on their long edge (MAX_EDGE). */
  maxEdge: number;
  timeoutMs: number;
}

export const MAX_PREVIEWS = 6;

export interface VideoFaces {
  sampled: number;
  /** Sampled frames that show at least one identifiable or uncertain face. */
  framesWithFaces: number;
  /** Identifiable faces summed over the sampled frames (one child in 5 frames counts 5). */
  identifiable: number;
  possible: number;
  hold: boolean;
  reasons: string[];
  previews: Buffer[];
}

export async function findFacesInVideo(inputPath: string, workDir: string, options: { durationS: number; videoLongEdge: number; faces: FaceOptions; limits: SamplingLimits }): Promise<VideoFaces> {
  const { limits, faces } = options;
  const count = Math.max(1, Math.min(limits.maxFrames, Math.ceil(options.durationS / limits.intervalS)));
  const intervalS = Math.max(limits.intervalS, options.durationS / limits.maxFrames);
  const dir = await mkdtemp(join(workDir, 'frames-'));
  try {
    await sampleFrames(inputPath, dir, { intervalS, count, maxEdge: limits.maxEdge, timeoutMs: limits.timeoutMs });
    const files = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
    const minScore = Math.min(faces.minScore, faces.reviewBand?.[0] ?? 1, faces.uncertainScore ?? 1);
    const perFrame: { frame: RawImage; scale: number; decisions: FaceDecision[]; hold: boolean; reasons: string[] }[] = [];
    for (const file of files) {
      const frame = await readFrame(join(dir, file));
      // Frame pixels to video pixels: the video is published at its own size.
      const scale = Math.max(1, options.videoLongEdge / Math.max(frame.width, frame.height));
      const candidates = await faces.detect(frame, { minFaceHeight: Math.max(1, faces.minFacePx / scale), minScore });
      const inVideo = candidates.map((c) => ({ ...c, box: c.box.map((v) => v * scale) as [number, number, number, number] }));
      const result = applyFacePolicy(inVideo, { ...faces, policy: faces.policy === 'allow' ? 'allow' : 'hold' });
      perFrame.push({ frame, scale, decisions: result.faces, hold: result.hold, reasons: result.reasons });
    }
    const shown = perFrame.filter((f) => f.decisions.some((d) => d.action === 'held' || d.action === 'uncertain' || d.action === 'allowed'));
    const hold = faces.policy !== 'allow' && perFrame.some((f) => f.hold);
    const previews = hold ? await previewsOf(shown) : [];
    return {
      sampled: perFrame.length,
      framesWithFaces: shown.length,
      identifiable: perFrame.reduce((n, f) => n + f.decisions.filter((d) => d.action !== 'too-small' && d.action !== 'uncertain' && !d.possible).length, 0),
      possible: perFrame.reduce((n, f) => n + f.decisions.filter((d) => d.possible).length, 0),
      hold,
      reasons: hold ? reasonsOf(perFrame) : [],
      previews,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readFrame(path: string): Promise<RawImage> {
  const { data, info } = await sharp(await readFile(path)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** The frames with the most faces, in time order, boxed in frame pixels. */
async function previewsOf(frames: { frame: RawImage; scale: number; decisions: FaceDecision[] }[]): Promise<Buffer[]> {
  const chosen = [...frames.entries()]
    .sort((a, b) => b[1].decisions.length - a[1].decisions.length || a[0] - b[0])
    .slice(0, MAX_PREVIEWS)
    .sort((a, b) => a[0] - b[0])
    .map(([, f]) => f);
  return Promise.all(chosen.map((f) => renderReviewPreview(f.frame, f.decisions.map((d) => ({ ...d, box: d.box.map((v) => v / f.scale) as [number, number, number, number] })))));
}

/** Reasons in the photo pipeline's words ("it shows ..."), counted over the frames looked at. */
function reasonsOf(frames: { decisions: FaceDecision[]; hold: boolean }[]): string[] {
  const held = frames.filter((f) => f.hold);
  const sure = held.filter((f) => f.decisions.some((d) => d.action === 'held' && !d.possible)).length;
  const unsure = held.length - sure;
  const of = `of the ${frames.length} frames Veil looked at`;
  const reasons: string[] = [];
  if (sure > 0) reasons.push(`it shows recognisable faces (in ${sure} ${of}), and Veil does not blur faces in videos yet`);
  if (unsure > 0) reasons.push(`it may show faces (in ${unsure} more ${of})`);
  return reasons;
}
