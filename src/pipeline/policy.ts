import type { DetectedFace, FacePolicy } from './types.js';

/** What Veil did with one face, judged at the size it has in the published image. */
export type FaceAction = 'redacted' | 'held' | 'allowed' | 'too-small' | 'uncertain';

export interface FaceDecision extends DetectedFace {
  /** Face height in the published image, in pixels. */
  heightPx: number;
  action: FaceAction;
  /**
   * Scored under the threshold but at or above the uncertain score: not counted as a face found,
   * but redacted all the same under `blur` (and a face under `hold`).
   */
  possible?: true;
}

export interface FacePolicyOptions {
  policy: FacePolicy;
  /** Faces shorter than this in the published image are not identifiable and stay (FACE_MIN_PX). */
  minFacePx: number;
  /** The detector's operating threshold: scores at or above it are faces. */
  minScore: number;
  /** Scores in [low, high) are uncertain: the photo goes to a person (FACE_REVIEW_BAND). */
  reviewBand?: readonly [number, number] | undefined;
  /**
   * Scores in [uncertainScore, minScore), outside the review band, are possible faces: redacted
   * under `blur`, faces under `hold` (FACE_UNCERTAIN_SCORE). Unset: only the threshold counts.
   */
  uncertainScore?: number | undefined;
}

export interface PolicyResult {
  faces: FaceDecision[];
  hold: boolean;
  reasons: string[];
}

/** Faces must be in the coordinates of the published (downscaled) image. */
export function applyFacePolicy(candidates: DetectedFace[], options: FacePolicyOptions): PolicyResult {
  const { policy, minFacePx, minScore, reviewBand, uncertainScore } = options;
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
    } else if (identifiable && policy !== 'allow' && uncertainScore !== undefined && face.score >= uncertainScore) {
      faces.push({ ...face, heightPx, action: ACTIONS[policy], possible: true });
    }
  }

  const reasons: string[] = [];
  const held = faces.filter((f) => f.action === 'held' && !f.possible).length;
  const possible = faces.filter((f) => f.action === 'held' && f.possible).length;
  // Reasons are read by teachers in their CMS and by reviewers: plain words, no setting names.
  if (held > 0) reasons.push(`it shows ${plural(held, 'recognisable face')}`);
  if (possible > 0) reasons.push(`it may show ${plural(possible, 'more face')}`);
  if (unsure > 0) reasons.push(`Veil was unsure about ${plural(unsure, 'possible face')}`);
  return { faces, hold: reasons.length > 0, reasons };
}

const ACTIONS: Record<FacePolicy, FaceAction> = { blur: 'redacted', hold: 'held', allow: 'allowed' };

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Said wherever faces are reported: detection is not proof that none were missed. */
export const MISSED_FACES_WARNING = 'Faces turned away, covered or very small can be missed: look at the photo before publishing it.';

/** "2 faces found, 3 redacted (1 of them a possible face). <warning>", in plain words. */
export function faceSummary(counts: { found: number; redacted: number; possible: number; held: boolean }): string {
  const { found, redacted, possible, held } = counts;
  const what = held
    ? `${plural(found, 'face')} found${possible > 0 ? ` and ${plural(possible, 'possible face')}` : ''}; the photo is held for a person to check`
    : `${plural(found, 'face')} found, ${redacted} redacted${possible > 0 ? ` (${possible === 1 ? 'one of them a possible face' : `${possible} of them possible faces`})` : ''}`;
  return `${what}. ${MISSED_FACES_WARNING}`;
}
