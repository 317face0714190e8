import { DEFAULT_FACE_MIN_PX, DEFAULT_MIN_SCORE, DEFAULT_UNCERTAIN_SCORE, detectFaces } from './faces.js';
import { redactFaces } from './redact.js';
import type { FaceOptions } from './sanitise.js';
import type { FacePolicy, RedactionMode } from './types.js';

export interface FaceSettings {
  policy: FacePolicy;
  minFacePx?: number | undefined;
  minScore?: number | undefined;
  reviewBand?: readonly [number, number] | undefined;
  /** Possible faces from this score up are redacted too (FACE_UNCERTAIN_SCORE); default DEFAULT_UNCERTAIN_SCORE. */
  uncertainScore?: number | undefined;
  redaction?: RedactionMode | undefined;
  padding?: number | undefined;
  /** ONNX model file (FACE_MODEL); default the one in models/. */
  modelPath?: string | undefined;
}

export const DEFAULT_FACE_PADDING = 0.25;

/** The pipeline's face options wired to the ONNX detector and the redactor. */
export function faceOptions(settings: FaceSettings): FaceOptions {
  const modelPath = settings.modelPath;
  return {
    policy: settings.policy,
    minFacePx: settings.minFacePx ?? DEFAULT_FACE_MIN_PX,
    minScore: settings.minScore ?? DEFAULT_MIN_SCORE,
    reviewBand: settings.reviewBand,
    // Never above the threshold: a FACE_MIN_SCORE set under the default would otherwise leave a gap.
    uncertainScore: Math.min(settings.uncertainScore ?? DEFAULT_UNCERTAIN_SCORE, settings.minScore ?? DEFAULT_MIN_SCORE),
    redaction: settings.redaction ?? 'blur',
    padding: settings.padding ?? DEFAULT_FACE_PADDING,
    detect: (image, options) => detectFaces(image, { ...options, ...(modelPath ? { modelPath } : {}) }),
    redact: redactFaces,
  };
}
