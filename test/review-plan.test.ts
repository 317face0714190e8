import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { redactFaces } from '../src/pipeline/redact.js';
import { parseRedactionPlan, withReviewerBoxes, type RedactionPlan } from '../src/pipeline/reviewer-boxes.js';
import { sanitiseImage, type FaceOptions } from '../src/pipeline/sanitise.js';
import { grayOf, isVeilGrey, regionDifference, regionVariance } from './helpers/review-regions.js';

/** Random noise: detail everywhere, so any redaction shows, and no face for a detector to find. */
async function noise(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let seed = 7;
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 23;
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

const detectorMustNotRun: FaceOptions = {
  policy: 'hold',
  minFacePx: 16,
  minScore: 0.6,
  reviewBand: [0.4, 0.6],
  redaction: 'blur',
  padding: 0.25,
  detect: async () => {
    throw new Error('the detector ran although the reviewer decided');
  },
  redact: redactFaces,
};

describe("a reviewer's redaction plan in the pipeline", () => {
  it('hides exactly the planned boxes, scaled to the published size, however small, without running the detector', async () => {
    const input = await noise(800, 600);
    // Boxes measured on a 1600 × 1200 original: the photo being published is half that.
    const plan: RedactionPlan = { version: 1, width: 1600, height: 1200, boxes: [[200, 200, 400, 400], [1400, 1000, 12, 12]], redaction: 'solid', detect: false };
    const result = await sanitiseImage(input, { faces: withReviewerBoxes(detectorMustNotRun, plan) });
    expect(result.outcome).toBe('sanitised');
    if (result.outcome !== 'sanitised') return;
    expect(result.report.faces).toMatchObject({ redacted: 2, redaction: 'solid' });
    const out = await grayOf(result.bytes);
    const before = await grayOf(input);
    expect(regionVariance(before, [200, 200, 400, 400], 1600)).toBeGreaterThan(1000);
    expect(isVeilGrey(out, [200, 200, 400, 400], 1600)).toBe(true); // Veil's greys: the noise there is gone
    expect(regionDifference(out, before, [1000, 200, 400, 400], 1600)).toBeLessThan(1); // elsewhere untouched
  });

  it('refuses a damaged plan rather than publishing without it', () => {
    for (const bad of [null, {}, { version: 2 }, { version: 1, width: 10, height: 10, boxes: [[1, 2, 3]], redaction: 'blur' }, { version: 1, width: 10, height: 10, boxes: [], redaction: 'swirl' }]) {
      expect(() => parseRedactionPlan(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_BOXES' }));
    }
    expect(parseRedactionPlan({ version: 1, width: 10, height: 10, boxes: [[1, 2, 3, 4]], redaction: 'pixelate' })).toMatchObject({ detect: false, redaction: 'pixelate' });
  });
});
