/**
 * A reviewer's decision about which regions of a held photo to redact, and how. When a person
 * has looked at the photo, their boxes replace the detector's: a box they removed must stay
 * visible, a face they added must be redacted however small or however low the detector scored it.
 */
import { VeilError } from './errors.js';
import type { FaceOptions } from './sanitise.js';
import type { DetectedFace, RedactionMode } from './types.js';

export type Box = [x: number, y: number, width: number, height: number];

export const REDACTION_MODES: readonly RedactionMode[] = ['blur', 'pixelate', 'solid'];

/** What the worker needs to redact exactly what the reviewer chose. Stored privately, never in Redis. */
export interface RedactionPlan {
  version: 1;
  /** The upright original's size: the boxes are in its pixels. */
  width: number;
  height: number;
  boxes: Box[];
  redaction: RedactionMode;
  /**
   * Also redact what the detector finds. Only for photos held without a face check, where the
   * reviewer never saw the detector's boxes and so could not have removed any.
   */
  detect: boolean;
}

/** A plan read back from storage: anything malformed is refused, never half-applied. */
export function parseRedactionPlan(value: unknown): RedactionPlan {
  const bad = (why: string) => new VeilError('INVALID_BOXES', `The reviewer's redaction for this photo is damaged (${why}); it was not published.`);
  if (!value || typeof value !== 'object') throw bad('not an object');
  const plan = value as Partial<RedactionPlan>;
  if (plan.version !== 1) throw bad('unknown version');
  if (!(Number.isFinite(plan.width) && Number.isFinite(plan.height) && plan.width! > 0 && plan.height! > 0)) throw bad('no image size');
  if (!REDACTION_MODES.includes(plan.redaction as RedactionMode)) throw bad('unknown redaction');
  if (!Array.isArray(plan.boxes) || !plan.boxes.every((b) => Array.isArray(b) && b.length === 4 && b.every((v) => Number.isFinite(v)))) throw bad('boxes are not numbers');
  return { version: 1, width: plan.width!, height: plan.height!, boxes: plan.boxes as Box[], redaction: plan.redaction as RedactionMode, detect: plan.detect === true };
}

/**
 * Face options that redact the plan's boxes (scaled to the image being published) in every
 * frame, with the plan's redaction, and nothing else unless `plan.detect` is set. No box is
 * "too small" and none is held: the person already decided.
 */
export function withReviewerBoxes(base: FaceOptions, plan: RedactionPlan): FaceOptions {
  return {
    ...base,
    policy: 'blur',
    reviewBand: undefined,
    minFacePx: 0,
    redaction: plan.redaction,
    detect: async (frame) => {
      const sx = frame.width / plan.width;
      const sy = frame.height / plan.height;
      const given: DetectedFace[] = plan.boxes.map(([x, y, w, h]) => ({ box: [x * sx, y * sy, w * sx, h * sy], score: 1 }));
      if (!plan.detect) return given;
      const found = await base.detect(frame, { minFaceHeight: base.minFacePx, minScore: base.minScore });
      return [...found, ...given];
    },
  };
}
