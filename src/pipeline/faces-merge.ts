/** Candidate boxes from any detector pass, and how overlapping ones become one face. */
import type { DetectedFace } from './types.js';

/** A candidate face in image pixels, corners (x0, y0) to (x1, y1). */
export interface Candidate {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  score: number;
}

export function iou(a: Candidate, b: Candidate): number {
  const iw = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const ih = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

/** One face's candidates: the best, every one overlapping it, and their score-weighted mean box. */
export interface Cluster<T extends Candidate> {
  best: T;
  members: T[];
  box: Omit<Candidate, 'score'>;
}

/**
 * Weighted non-maximum suppression (MediaPipe's): the best candidate and every one overlapping it
 * by `minIou` or more are one face, boxed by their score-weighted mean. Passes, anchors and tiles
 * that saw the same face agree better together than any one of them.
 */
export function clusterOverlapping<T extends Candidate>(candidates: T[], minIou: number): Cluster<T>[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const taken = new Uint8Array(sorted.length);
  const clusters: Cluster<T>[] = [];
  for (let first = 0; first < sorted.length; first++) {
    if (taken[first]) continue;
    const best = sorted[first]!;
    const members: T[] = [];
    const sum = { x0: 0, y0: 0, x1: 0, y1: 0, weight: 0 };
    for (let i = first; i < sorted.length; i++) {
      const c = sorted[i]!;
      if (taken[i] || (i !== first && iou(best, c) < minIou)) continue;
      taken[i] = 1;
      members.push(c);
      sum.x0 += c.x0 * c.score;
      sum.y0 += c.y0 * c.score;
      sum.x1 += c.x1 * c.score;
      sum.y1 += c.y1 * c.score;
      sum.weight += c.score;
    }
    const w = sum.weight || 1;
    clusters.push({ best, members, box: { x0: sum.x0 / w, y0: sum.y0 / w, x1: sum.x1 / w, y1: sum.y1 / w } });
  }
  return clusters;
}

/** Overlapping candidates as one face each, scored by the best of them. */
export function blendOverlapping(candidates: Candidate[], minIou: number): Candidate[] {
  return clusterOverlapping(candidates, minIou).map(({ best, box }) => ({ ...box, score: best.score }));
}

/** Whole pixels covering the candidate, clamped to the image. */
export function toFace(c: Candidate, width: number, height: number): DetectedFace[] {
  const x0 = Math.max(0, Math.floor(c.x0));
  const y0 = Math.max(0, Math.floor(c.y0));
  const x1 = Math.min(width, Math.ceil(c.x1));
  const y1 = Math.min(height, Math.ceil(c.y1));
  if (x1 <= x0 || y1 <= y0) return [];
  return [{ box: [x0, y0, x1 - x0, y1 - y0], score: c.score }];
}
