import sharp from 'sharp';
import { decodeForPublishing, frameOf, uprightSize } from '../../pipeline/decode.js';
import { isVeilError, toVeilError } from '../../pipeline/errors.js';
import { DEFAULT_FACE_PADDING } from '../../pipeline/face-options.js';
import { DEFAULT_FACE_MIN_PX, DEFAULT_MIN_SCORE, LOWEST_CANDIDATE_SCORE, detectFaces } from '../../pipeline/faces.js';
import type { Limits } from '../../pipeline/limits.js';
import type { MetadataFinding } from '../../pipeline/metadata.js';
import { redactFaces } from '../../pipeline/redact.js';
import { examine } from '../../pipeline/sanitise.js';
import { personNameReason } from './person-name.js';
import type { AuditedImage, MetadataSummary, Reason } from './types.js';

/** Faces are looked for on a copy no larger than this; "identifiable" is still judged at the served size. */
const DETECT_EDGE = 1600;
/** Long edge of the report's thumbnails. */
export const THUMBNAIL_EDGE = 192;

export interface ExamineOptions {
  /** Pictures with a longer edge than this are flagged as larger than needed (MAX_EDGE). */
  maxEdge: number;
  limits: Limits;
  /** False skips face detection (and then thumbnails are not made: they could show faces). */
  faces: boolean;
  modelPath?: string | undefined;
}

export type ImageFindings = Pick<AuditedImage, 'error' | 'format' | 'width' | 'height' | 'metadata' | 'faces' | 'personName' | 'thumbnail' | 'reasons'>;

/**
 * What one picture gives away, read with the pipeline's own readers: its size, the metadata
 * present, the faces identifiable at the size it is served, and a thumbnail with faces redacted.
 * Never throws for a bad picture: it comes back `unchecked`, with the error.
 */
export async function examineImage(bytes: Uint8Array, fileName: string, options: ExamineOptions): Promise<ImageFindings> {
  const personName = personNameReason(fileName) ?? undefined;
  try {
    const { header, removed } = await examine(bytes, options.limits);
    const served = uprightSize(header);
    const findings: ImageFindings = {
      format: header.format,
      width: served.width,
      height: served.height,
      metadata: summariseMetadata(removed),
      personName,
      reasons: [],
    };
    if (options.faces) {
      const image = await decodeForPublishing(bytes, header, DETECT_EDGE, options.limits);
      const frame = frameOf(image, 0);
      const scale = frame.width / served.width;
      // A face DEFAULT_FACE_MIN_PX tall as served is this tall in the copy looked at.
      const minFaceHeight = Math.max(4, DEFAULT_FACE_MIN_PX * scale);
      const candidates = await detectFaces(frame, { minFaceHeight, minScore: LOWEST_CANDIDATE_SCORE, ...(options.modelPath ? { modelPath: options.modelPath } : {}) });
      const identifiable = candidates.filter((f) => f.score >= DEFAULT_MIN_SCORE && f.box[3] >= minFaceHeight).length;
      findings.faces = { identifiable, found: candidates.length };
      // Every candidate is redacted in the thumbnail, uncertain ones too: the report travels.
      const redacted = await redactFaces(frame, candidates, { mode: 'blur', padding: DEFAULT_FACE_PADDING });
      const jpeg = await sharp(redacted.data, { raw: { width: redacted.width, height: redacted.height, channels: redacted.channels } })
        .resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .jpeg({ quality: 70 })
        .toBuffer();
      findings.thumbnail = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
    }
    findings.reasons = reasonsFor(findings, options.maxEdge);
    return findings;
  } catch (err) {
    const error = isVeilError(err) ? err : toVeilError(err);
    return { error: { code: error.code, message: error.message }, personName, reasons: personName ? ['unchecked', 'person-name'] : ['unchecked'] };
  }
}

export function reasonsFor(f: Pick<AuditedImage, 'metadata' | 'faces' | 'width' | 'height' | 'personName'>, maxEdge: number): Reason[] {
  const reasons: Reason[] = [];
  const m = f.metadata;
  if (m?.gps) reasons.push('gps');
  if (m?.people || m?.place) reasons.push('names-in-metadata');
  if (m?.serialNumber) reasons.push('serial-number');
  if ((f.faces?.identifiable ?? 0) > 0) reasons.push('faces');
  if (Math.max(f.width ?? 0, f.height ?? 0) > maxEdge) reasons.push('large');
  if (f.personName) reasons.push('person-name');
  return reasons;
}

const SHOWN = new Set(['gps', 'capture-time', 'camera', 'people', 'author', 'owner', 'serial-number', 'location', 'other-metadata']);

export function summariseMetadata(found: MetadataFinding[]): MetadataSummary {
  const detail = (kind: string) => found.find((f) => f.kind === kind);
  const gps = detail('gps');
  const names = [detail('author')?.detail, detail('owner')?.detail].filter(Boolean).join('; ');
  return {
    gps: gps ? coarsePosition(gps.detail) : undefined,
    taken: detail('capture-time')?.detail?.split('; ')[0],
    camera: detail('camera')?.detail,
    people: detail('people')?.detail,
    author: names || undefined,
    serialNumber: detail('serial-number') ? true : undefined,
    place: detail('location')?.detail,
    other: found.filter((f) => !SHOWN.has(f.kind)).map((f) => f.label),
  };
}

/**
 * "51.5, -0.1 (within ~10 km)": one decimal of a degree is about 11 km, enough to say "near the
 * school" and not enough to find a house. The exact position never reaches the report.
 */
export function coarsePosition(detail: string | undefined): string {
  const m = /^(-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)/.exec(detail ?? '');
  if (!m) return 'yes (position not readable as decimal degrees)';
  const round = (v: string) => (Math.round(Number(v) * 10) / 10).toFixed(1);
  return `${round(m[1]!)}, ${round(m[2]!)} (within ~10 km)`;
}
