/**
 * Face detection. The model is YuNet-n (models/README.md), run by faces-yunet.ts at the published
 * scale plus a closer look where small faces can be; a FACE_MODEL of the BlazeFace family runs
 * faces-blazeface.ts instead. Which one a file is, its graph says (faces-onnx.ts).
 *
 * The work follows from `minFaceHeight`, the smallest face (in pixels of THIS image) the caller
 * needs found. Candidates of every pass are merged by score-weighted NMS.
 */
import sharp from 'sharp';
import { VeilError } from './errors.js';
import { detectBlazeFace } from './faces-blazeface.js';
import { blendOverlapping, type Candidate, toFace } from './faces-merge.js';
import { blazeFaceModelPath, loadFaceModel } from './faces-onnx.js';
import { detectYuNet, type YuNetPassStats, type YuNetPlan } from './faces-yunet.js';
import type { DetectedFace, RawImage } from './types.js';

export { detectionScales, detectionTileCount } from './faces-blazeface.js';

/** Long edge of the published image when nothing else is configured (MAX_EDGE). */
export const DEFAULT_MAX_EDGE = 1600;
/**
 * Faces shorter than this in the published image are treated as not identifiable (FACE_MIN_PX).
 * The rule Veil keeps is that no face 20 px or taller stays recognisable; 16 leaves 20% margin
 * for faces the detector sizes a little small.
 */
export const DEFAULT_FACE_MIN_PX = 16;
/**
 * The operating threshold, chosen for recall with scripts/eval-faces.ts (the precision/recall
 * curve and the reasons are in models/README.md).
 */
export const DEFAULT_MIN_SCORE = 0.5;
/**
 * Below the threshold, down to this score, a candidate is "uncertain": under `blur` it is blurred
 * as well (a blurred patch of wall costs little), under `hold` it counts as a face
 * (FACE_UNCERTAIN_SCORE; models/README.md).
 */
export const DEFAULT_UNCERTAIN_SCORE = 0.3;
/** The lowest score the detector is ever asked for: what the redaction tests check against. */
export const LOWEST_CANDIDATE_SCORE = DEFAULT_UNCERTAIN_SCORE;
/** Candidates of all passes overlapping this much are one face. */
const MERGE_IOU = 0.4;

/** How the detector is run: the shipped defaults, or variants that scripts/eval-faces.ts measures. */
export interface DetectPlan extends YuNetPlan {
  /** BlazeFace as a second opinion: its candidates are merged with YuNet's ('union'). */
  blazeFace: 'off' | 'union';
}

export const DEFAULT_PLAN: DetectPlan = { flip: true, zoom: 'off', zoomSeedScore: 0.3, blazeFace: 'off' };
export interface DetectOptions {
  /**
   * The smallest face, in pixels of this image, that must be found. Default: a face
   * DEFAULT_FACE_MIN_PX tall once the image is published at DEFAULT_MAX_EDGE.
   */
  minFaceHeight?: number;
  /** Candidates scoring below this are dropped (0..1). Default DEFAULT_MIN_SCORE. */
  minScore?: number;
  /** ONNX model file (FACE_MODEL), YuNet or BlazeFace; default YuNet, shipped in models/. */
  modelPath?: string;
  /** Variants for measurement (scripts/eval-faces.ts); default DEFAULT_PLAN. */
  plan?: Partial<DetectPlan>;
  /** Filled with what the passes cost, for the bench. */
  stats?: YuNetPassStats;
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

export async function detectFaces(image: RawImage, options: DetectOptions = {}): Promise<DetectedFace[]> {
  const { width, height, channels } = image;
  if (!(width > 0 && height > 0) || image.data.length !== width * height * channels) {
    throw new VeilError('BAD_REQUEST', `detectFaces got ${width}x${height}x${channels} pixels in ${image.data.length} bytes.`);
  }
  const minFaceHeight = options.minFaceHeight ?? minFaceHeightFor(width, height);
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  if (!(minFaceHeight > 0)) throw new VeilError('BAD_REQUEST', `minFaceHeight must be a positive number of pixels, not ${minFaceHeight}.`);
  if (!(minScore >= 0 && minScore <= 1)) throw new VeilError('BAD_REQUEST', `minScore must be between 0 and 1, not ${minScore}.`);
  const plan = { ...DEFAULT_PLAN, ...options.plan };

  const model = await loadFaceModel(options.modelPath);
  const candidates: Candidate[] = [];
  if (model.family === 'blazeface') {
    candidates.push(...(await detectBlazeFace(image, model, { minFaceHeight, minScore })));
  } else {
    candidates.push(...(await detectYuNet(image, model, { minFaceHeight, minScore, plan }, options.stats)));
    if (plan.blazeFace === 'union') {
      const second = await loadFaceModel(blazeFaceModelPath());
      if (second.family === 'blazeface') candidates.push(...(await detectBlazeFace(image, second, { minFaceHeight, minScore })));
    }
  }
  return blendOverlapping(candidates, MERGE_IOU).flatMap((c) => toFace(c, width, height));
}
