import { walkContainer } from './containers.js';
import { decodeForPublishing, frameOf, type DecodedImage } from './decode.js';
import { DEFAULT_MAX_EDGE } from './faces.js';
import { chooseOutputFormat, encodeImage } from './encode.js';
import { CONTENT_TYPES, generateFilename, keptFilename } from './filename.js';
import { checkHeader, checkSize, DEFAULT_LIMITS, readHeader, type ImageHeader, type Limits } from './limits.js';
import { findMetadata, type MetadataFinding } from './metadata.js';
import { applyFacePolicy, faceSummary, type FaceDecision, type FacePolicyOptions } from './policy.js';
import { renderReviewPreview } from './preview.js';
import { sniffFormat } from './sniff.js';
import type { DetectedFace, ImageFormat, OutputFormat, RawImage, RedactionMode } from './types.js';

export { DEFAULT_MAX_EDGE } from './faces.js';

/** Finds faces in an upright image; the caller says how small a face it still needs found. */
export type DetectFacesFn = (image: RawImage, options: { minFaceHeight: number; minScore: number }) => Promise<DetectedFace[]>;
export type RedactFacesFn = (image: RawImage, faces: DetectedFace[], options: { mode: RedactionMode; padding: number }) => Promise<RawImage>;

export interface FaceOptions extends FacePolicyOptions {
  redaction: RedactionMode;
  /** Extra margin around each face's ellipse, as a fraction of its size (FACE_PADDING). */
  padding: number;
  detect: DetectFacesFn;
  redact: RedactFacesFn;
}

export interface SanitiseOptions {
  /** Long edge of the published image (MAX_EDGE); never upscaled. */
  maxEdge?: number;
  limits?: Limits;
  /** Face handling; null publishes without looking for faces (the report says so). */
  faces: FaceOptions | null;
  /** The uploader's file name: goes into the report only. */
  originalName?: string | undefined;
  keepFilename?: boolean;
  /** Held for a person regardless of faces, with this reason (e.g. an "always review" path). */
  holdReason?: string | undefined;
  /** For the generated name; fixed in tests. */
  now?: Date;
}

export interface FacesReport {
  policy: FaceOptions['policy'];
  minFacePx: number;
  redaction: RedactionMode;
  /** Faces big enough to identify in the published image. */
  identifiable: number;
  redacted: number;
  /** Every face found, in published-image pixels, with what was done. */
  faces: (FaceDecision & { frame?: number })[];
  /** Possible faces (under the threshold, above the uncertain score) redacted as well; counted in `redacted`. */
  possible?: number;
  /** What was done and what a person should still check, in plain words (faceSummary). */
  summary?: string;
}

export interface SanitiseReport {
  input: { filename?: string | undefined; format: ImageFormat; width: number; height: number; bytes: number; frames: number; orientation: number };
  output?: { filename: string; format: OutputFormat; contentType: string; width: number; height: number; bytes: number; frames: number };
  /** Metadata that was in the file; none of it is in the output. */
  removed: MetadataFinding[];
  /** What else changed, in words. */
  changes: string[];
  /** null when faces were not looked for. */
  faces: FacesReport | null;
  held?: { reasons: string[] };
  timings: { totalMs: number; decodeMs: number; facesMs: number; encodeMs: number };
}

export type SanitiseResult =
  | { outcome: 'sanitised'; bytes: Buffer; filename: string; contentType: string; format: OutputFormat; report: SanitiseReport }
  | { outcome: 'held'; reasons: string[]; report: SanitiseReport; /** Boxed faces, for the reviewer only. */ preview: Buffer };

/**
 * The whole pipeline: bytes in, bytes and a report out, no I/O. Every refusal is a VeilError;
 * nothing is returned that still carries the original's metadata or identifiable faces
 * (unless FACE_POLICY=allow).
 */
export async function sanitiseImage(input: Uint8Array, options: SanitiseOptions): Promise<SanitiseResult> {
  const started = performance.now();
  const limits = options.limits ?? DEFAULT_LIMITS;
  const maxEdge = options.maxEdge ?? DEFAULT_MAX_EDGE;

  const { header, removed } = await examine(input, limits);
  const report: SanitiseReport = {
    input: {
      filename: options.originalName,
      format: header.format,
      width: header.width,
      height: header.height,
      bytes: input.length,
      frames: header.frames,
      orientation: header.orientation,
    },
    removed,
    changes: [],
    faces: null,
    timings: { totalMs: 0, decodeMs: 0, facesMs: 0, encodeMs: 0 },
  };

  let mark = performance.now();
  const image = await decodeForPublishing(input, header, maxEdge, limits);
  report.changes.push(...image.changes);
  report.timings.decodeMs = since(mark);

  mark = performance.now();
  const holdReasons = options.holdReason ? [options.holdReason] : [];
  if (options.faces) {
    const { faces, hold, reasons } = await handleFaces(image, options.faces);
    report.faces = faces;
    if (hold) holdReasons.push(...reasons);
  } else {
    report.changes.push('Faces were not checked (face detection is switched off).');
  }
  report.timings.facesMs = since(mark);

  if (holdReasons.length > 0) {
    report.held = { reasons: holdReasons };
    const preview = await renderReviewPreview(frameOf(image, 0), report.faces?.faces.filter((f) => !f.frame) ?? []);
    report.timings.totalMs = since(started);
    return { outcome: 'held', reasons: holdReasons, report, preview };
  }

  mark = performance.now();
  const format = chooseOutputFormat(header.format, image);
  const bytes = await encodeImage(image, format);
  report.timings.encodeMs = since(mark);
  if (format !== header.format) report.changes.push(`Converted ${header.format.toUpperCase()} to ${format.toUpperCase()} so that browsers can show it.`);

  const generate = () => generateFilename(format, options.now);
  const filename = options.keepFilename && options.originalName ? keptFilename(options.originalName, format, generate) : generate();
  report.output = {
    filename,
    format,
    contentType: CONTENT_TYPES[format],
    width: image.width,
    height: image.frameHeight,
    bytes: bytes.length,
    frames: image.frames,
  };
  report.timings.totalMs = since(started);
  return { outcome: 'sanitised', bytes, filename, contentType: CONTENT_TYPES[format], format, report };
}

/** Size, format and header checks, then what the metadata gives away: no pixel is decoded. */
export async function examine(input: Uint8Array, limits: Limits): Promise<{ header: ImageHeader; removed: MetadataFinding[] }> {
  checkSize(input, limits);
  const format = sniffFormat(input);
  const header = await readHeader(input, format);
  checkHeader(header, limits);
  const removed = await findMetadata({
    blocks: walkContainer(input, format),
    sharpExif: header.raw.exif,
    sharpXmp: header.raw.xmp,
    sharpIptc: header.raw.iptc,
    sharpIcc: Boolean(header.raw.icc),
  });
  return { header, removed };
}

async function handleFaces(image: DecodedImage, options: FaceOptions): Promise<{ faces: FacesReport; hold: boolean; reasons: string[] }> {
  const minScore = Math.min(options.minScore, options.reviewBand?.[0] ?? 1, options.uncertainScore ?? 1);
  const perFrame = [];
  for (let index = 0; index < image.frames; index++) {
    const frame = frameOf(image, index);
    // The image is already at its published size, so "identifiable" is measured right here.
    const candidates = await options.detect(frame, { minFaceHeight: options.minFacePx, minScore });
    perFrame.push({ frame, index, result: applyFacePolicy(candidates, options) });
  }
  const hold = perFrame.some((f) => f.result.hold);
  if (!hold) {
    for (const { frame, result } of perFrame) {
      const toRedact = result.faces.filter((f) => f.action === 'redacted');
      if (toRedact.length === 0) continue;
      const redacted = await options.redact(frame, toRedact, { mode: options.redaction, padding: options.padding });
      redacted.data.copy(frame.data);
    }
  }
  const decisions = perFrame.flatMap(({ index, result }) =>
    result.faces.map((f) => (image.frames > 1 ? { ...f, frame: index } : f)),
  );
  const identifiable = decisions.filter((f) => f.action !== 'too-small' && f.action !== 'uncertain' && !f.possible).length;
  const redacted = hold ? 0 : decisions.filter((f) => f.action === 'redacted').length;
  const possible = decisions.filter((f) => f.possible).length;
  return {
    faces: {
      policy: options.policy,
      minFacePx: options.minFacePx,
      redaction: options.redaction,
      identifiable,
      redacted,
      faces: decisions,
      possible,
      summary: faceSummary({ found: identifiable, redacted, possible, held: hold }),
    },
    hold,
    reasons: [...new Set(perFrame.flatMap((f) => f.result.reasons))],
  };
}

function since(mark: number): number {
  return Math.round((performance.now() - mark) * 10) / 10;
}
