/** What the policy does with faces, possible faces and the review band, and how it says so. */
import { describe, expect, it } from 'vitest';
import { applyFacePolicy, faceSummary } from '../src/pipeline/policy.js';
import type { DetectedFace } from '../src/pipeline/types.js';

const face = (score: number, height = 40): DetectedFace => ({ box: [10, 10, 30, height], score });
const base = { minFacePx: 16, minScore: 0.5, uncertainScore: 0.3 };

describe('possible faces (between the uncertain score and the threshold)', () => {
  it('under blur are redacted too, marked possible, and the photo is published', () => {
    const r = applyFacePolicy([face(0.9), face(0.4), face(0.2)], { ...base, policy: 'blur' });
    expect(r.hold).toBe(false);
    expect(r.faces.map((f) => [f.score, f.action, f.possible ?? false])).toEqual([
      [0.9, 'redacted', false],
      [0.4, 'redacted', true],
    ]);
  });

  it('under hold count as faces and hold the photo', () => {
    const r = applyFacePolicy([face(0.4)], { ...base, policy: 'hold' });
    expect(r.hold).toBe(true);
    expect(r.faces[0]!.action).toBe('held');
    expect(r.reasons.join(' ')).toMatch(/may show 1 more face\b/);
  });

  it('leave the review band its meaning: scores in it hold the photo for a person', () => {
    const r = applyFacePolicy([face(0.45)], { ...base, policy: 'blur', reviewBand: [0.4, 0.5] });
    expect(r.hold).toBe(true);
    expect(r.faces[0]!.action).toBe('uncertain');
  });

  it('too small ones stay too small', () => {
    const r = applyFacePolicy([face(0.4, 10)], { ...base, policy: 'blur' });
    expect(r.faces).toEqual([]);
  });
});

describe('faceSummary', () => {
  it('says "1 face", counts what was redacted, and warns that faces can be missed', () => {
    const one = faceSummary({ found: 1, redacted: 1, possible: 0, held: false });
    expect(one).toMatch(/^1 face found, 1 redacted\./);
    expect(one).not.toMatch(/1 faces/);
    expect(one).toMatch(/turned away, covered or very small can be missed/);
    expect(one).toMatch(/look at the photo before publishing/);
    expect(faceSummary({ found: 2, redacted: 3, possible: 1, held: false })).toMatch(/^2 faces found, 3 redacted \(one of them a possible face\)\./);
    expect(faceSummary({ found: 0, redacted: 0, possible: 0, held: false })).toMatch(/^0 faces found/);
  });
});
