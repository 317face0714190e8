import type { DetectedFace, FacePolicy } from './types.js';

/** What Veil did with one face, judged at the size it has in the published image. */
export type FaceAction = 'redacted' | 'held' | 'allowed' | 'too-small' | 'uncertain';

export interface FaceDecision extends DetectedFace {
  /** Face height in the published image, in pixels. */
  heightPx: number;
  action: FaceAction;
}

export interface FacePolicyOptions {
  policy: FacePolicy;
  /** Faces shorter than this in the published image are not identifiable and stay (FACE_MIN_PX). */
  minFacePx: number;
  /** The detector's operating threshold: scores at or above it are faces. */
  minScore: number;
  /** Scores in [low, high) are uncertain: the photo goes to a person (FACE_REVIEW_BAND). */
  reviewBand?: readonly [number, number] | undefined;
}

export interface PolicyResult {
  faces: FaceDecision[];
  hold: boolean;
  reasons: string[];
}

/** Faces must be in the coordinates of the published (downscaled) image. */
export function applyFacePolicy(candidates: DetectedFace[], options: FacePolicyOptions): PolicyResult {
  const { policy, minFacePx, minScore, reviewBand } = options;
  const faces: FaceDecision[] = [];
  let unsure = 0;
  for (const face of candidates) {
    const heightPx = Math.round(face.box[3]);
    const identifiable = heightPx >= minFacePx;
    const inBand = reviewBand !== undefined && face.score >= reviewBand[0] && face.score < reviewBand[1];
    if (identifiable && inBand && policy !== 'allow') unsure += 1;
    if (face.score >= minScore) {
      faces.push({ ...face, heightPx, action: identifiable ? ACTIONS[policy] : 'too-small' });
    } else if (identifiable && inBand && policy !== 'allow') {
      faces.push({ ...face, heightPx, action: 'uncertain' });
    }
  }

  const reasons: string[] = [];
  const held = faces.filter((f) => f.action === 'held').length;
  // Reasons are read by teachers in their CMS and by reviewers: plain words, no setting names.
  if (held > 0) reasons.push(`it shows ${plural(held, 'recognisable face')}`);
  if (unsure > 0) reasons.push(`Veil was unsure about ${plural(unsure, 'possible face')}`);
  return { faces, hold: reasons.length > 0, reasons };
}

const ACTIONS: Record<FacePolicy, FaceAction> = { blur: 'redacted', hold: 'held', allow: 'allowed' };

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
