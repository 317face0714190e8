/**
 * The face boxes a reviewer works with, in pixels of the upright original (what the API takes and
 * what the page's form shows). The detector's boxes are in published-image pixels and are scaled
 * up once, here; everything after that compares whole pixels.
 */
import { uprightSize } from '../pipeline/decode.js';
import { VeilError } from '../pipeline/errors.js';
import { DEFAULT_MAX_EDGE } from '../pipeline/faces.js';
import { REDACTION_MODES, type Box } from '../pipeline/reviewer-boxes.js';
import type { RedactionMode } from '../pipeline/types.js';
import type { ReviewItem } from './item.js';

export type { Box } from '../pipeline/reviewer-boxes.js';

/** Enough for a school hall; a list longer than this is a script gone wrong. */
export const MAX_BOXES = 200;
/** Narrower or shorter than this, a box cannot cover anything a person could recognise. */
export const MIN_BOX_PX = 4;

export interface Size {
  width: number;
  height: number;
}

export function originalSize(item: Pick<ReviewItem, 'report'>): Size {
  return uprightSize(item.report.input);
}

/** The published size the detector measured in: the original shrunk to `maxEdge`, never enlarged. */
export function publishedSize(original: Size, maxEdge: number = DEFAULT_MAX_EDGE): Size {
  const scale = Math.min(1, maxEdge / Math.max(original.width, original.height));
  return { width: Math.max(1, Math.round(original.width * scale)), height: Math.max(1, Math.round(original.height * scale)) };
}

/**
 * The detector's boxes that "approve with faces redacted" starts from: every face it found
 * except those too small to recognise once published (the reviewer can still box those).
 */
export function detectorBoxes(item: Pick<ReviewItem, 'report' | 'faces' | 'publishedSize'>): Box[] {
  const original = originalSize(item);
  const published = item.publishedSize ?? publishedSize(original);
  const sx = original.width / published.width;
  const sy = original.height / published.height;
  const boxes: Box[] = [];
  for (const face of item.faces) {
    if (face.action === 'too-small' || face.action === 'allowed') continue;
    const [x, y, w, h] = face.box;
    const box = clampBox([x * sx, y * sy, w * sx, h * sy], original);
    if (box && !boxes.some((b) => sameBox(b, box))) boxes.push(box);
  }
  return boxes;
}

/** The boxes as they stand: the reviewer's edit, or the detector's until someone edits them. */
export function currentBoxes(item: ReviewItem): Box[] {
  return item.boxEdit?.boxes ?? detectorBoxes(item);
}

export function currentRedaction(item: ReviewItem): RedactionMode {
  return item.boxEdit?.redaction ?? item.report.faces?.redaction ?? 'blur';
}

/** Boxes typed by a person or sent by a script: whole pixels, inside the photo, bounded in size and number. */
export function validateBoxes(value: unknown, size: Size, label = 'boxes'): Box[] {
  if (!Array.isArray(value)) throw new VeilError('INVALID_BOXES', `${label} must be a list of boxes, each [x, y, width, height] in pixels of the original photo.`);
  if (value.length > MAX_BOXES) throw new VeilError('INVALID_BOXES', `At most ${MAX_BOXES} boxes can be given for one photo, not ${value.length}.`);
  return value.map((raw, i) => validateBox(raw, size, `Box ${i + 1}`));
}

export function validateBox(raw: unknown, size: Size, label = 'The box'): Box {
  const numbers = Array.isArray(raw) ? raw.map((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v)) : null;
  if (!numbers || numbers.length !== 4 || !numbers.every((v): v is number => typeof v === 'number' && Number.isFinite(v))) {
    throw new VeilError('INVALID_BOXES', `${label} must be four numbers: x, y, width and height in pixels of the original photo.`);
  }
  const [x, y, w, h] = numbers.map((v) => Math.round(v)) as Box;
  if (w < MIN_BOX_PX || h < MIN_BOX_PX) throw new VeilError('INVALID_BOXES', `${label} is too small (${w} × ${h} pixels); make it at least ${MIN_BOX_PX} × ${MIN_BOX_PX}.`);
  if (x < 0 || y < 0 || x + w > size.width || y + h > size.height) {
    throw new VeilError('INVALID_BOXES', `${label} reaches outside the photo, which is ${size.width} × ${size.height} pixels (x from 0 to ${size.width}, y from 0 to ${size.height}).`);
  }
  return [x, y, w, h];
}

export function parseRedaction(value: unknown): RedactionMode | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && REDACTION_MODES.includes(value as RedactionMode)) return value as RedactionMode;
  throw new VeilError('INVALID_REDACTION', `The redaction must be blur, pixelate or solid.`);
}

/** What changed between two lists, box by box (a box moved counts as one removed and one added). */
export function diffBoxes(before: readonly Box[], after: readonly Box[]): { added: Box[]; removed: Box[] } {
  const left = [...before];
  const added: Box[] = [];
  for (const box of after) {
    const at = left.findIndex((b) => sameBox(b, box));
    if (at >= 0) left.splice(at, 1);
    else added.push(box);
  }
  return { added, removed: left };
}

/** "60×80": sizes only, for the audit log; a box's position is never recorded there. */
export function sizeOf(box: Box): string {
  return `${box[2]}×${box[3]}`;
}

function sameBox(a: Box, b: Box): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function clampBox([x, y, w, h]: Box, size: Size): Box | null {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(size.width, Math.round(x + w));
  const y1 = Math.min(size.height, Math.round(y + h));
  return x1 - x0 >= 1 && y1 - y0 >= 1 ? [x0, y0, x1 - x0, y1 - y0] : null;
}
