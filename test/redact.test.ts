/**
 * Redaction destroys each face's detail under its ellipse, in every mode, and touches nothing
 * outside the padded ellipses. Checked on a real group photo with the faces Veil itself finds.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { isVeilError } from '../src/pipeline/errors.js';
import { decodeForDetection, detectFaces, LOWEST_CANDIDATE_SCORE } from '../src/pipeline/faces.js';
import { DEFAULT_REDACTION_PADDING, redactFaces, redactionEllipse, type RedactionEllipse } from '../src/pipeline/redact.js';
import type { DetectedFace, RawImage, RedactionMode } from '../src/pipeline/types.js';
import { demoGroundTruth } from './helpers/faces.js';

const MODES: RedactionMode[] = ['blur', 'pixelate', 'solid'];

function luma(image: RawImage, x: number, y: number): number {
  const i = (y * image.width + x) * image.channels;
  return 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
}

/** Pixels of the face proper: the ellipse inscribed in its box (forehead to chin, cheek to cheek). */
function facePixels(image: RawImage, face: DetectedFace): [number, number][] {
  const [x0, y0, w, h] = face.box;
  const out: [number, number][] = [];
  for (let y = Math.ceil(y0) + 1; y < y0 + h - 1; y++) {
    for (let x = Math.ceil(x0) + 1; x < x0 + w - 1; x++) {
      const dx = (x + 0.5 - (x0 + w / 2)) / (w / 2);
      const dy = (y + 0.5 - (y0 + h / 2)) / (h / 2);
      if (dx * dx + dy * dy <= 1 && x > 0 && y > 0 && x < image.width - 1 && y < image.height - 1) out.push([x, y]);
    }
  }
  return out;
}

/** The 4-neighbour Laplacian of luminance: the fine detail (edges of eyes, mouth, hair) a face is known by. */
function laplacian(image: RawImage, points: [number, number][]): Float64Array {
  return Float64Array.from(points, ([x, y]) => 4 * luma(image, x, y) - luma(image, x - 1, y) - luma(image, x + 1, y) - luma(image, x, y - 1) - luma(image, x, y + 1));
}

const medianAbs = (v: Float64Array): number => {
  const a = Array.from(v, Math.abs).sort((x, y) => x - y);
  return a[a.length >> 1]!;
};

function correlation(a: Float64Array, b: Float64Array): number {
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

function insideAny(ellipses: RedactionEllipse[], x: number, y: number): boolean {
  return ellipses.some((e) => ((x + 0.5 - e.cx) / e.rx) ** 2 + ((y + 0.5 - e.cy) / e.ry) ** 2 < 1);
}

describe('redactFaces', () => {
  let image: RawImage;
  let faces: DetectedFace[];
  beforeAll(async () => {
    const demo = demoGroundTruth()[3]!; // sample4.jpg: four faces close together
    image = await decodeForDetection(await readFile(demo.file));
    faces = await detectFaces(image);
  });

  it('has faces to work on (the detector finds all four)', () => {
    expect(faces).toHaveLength(4);
  });

  for (const mode of MODES) {
    describe(`mode ${mode}`, () => {
      let redacted: RawImage;
      beforeAll(async () => {
        redacted = await redactFaces(image, faces, { mode });
      });

      it('leaves every pixel outside the padded ellipses exactly as it was', () => {
        const ellipses = faces.map((f) => redactionEllipse(f.box, DEFAULT_REDACTION_PADDING));
        let changedOutside = 0;
        let changedInside = 0;
        for (let y = 0; y < image.height; y++) {
          for (let x = 0; x < image.width; x++) {
            const i = (y * image.width + x) * image.channels;
            const same = image.data[i] === redacted.data[i] && image.data[i + 1] === redacted.data[i + 1] && image.data[i + 2] === redacted.data[i + 2];
            if (same) continue;
            if (insideAny(ellipses, x, y)) changedInside += 1;
            else changedOutside += 1;
          }
        }
        expect(changedOutside).toBe(0);
        expect(changedInside).toBeGreaterThan(faces.reduce((s, f) => s + f.box[2] * f.box[3] * 0.7, 0));
        expect(redacted.data).not.toBe(image.data);
      });

      it('destroys the detail of every face', () => {
        for (const face of faces) {
          const points = facePixels(image, face);
          const before = laplacian(image, points);
          const after = laplacian(redacted, points);
          // What is left of the fine detail has nothing to do with the face that was there...
          expect(Math.abs(correlation(before, after))).toBeLessThan(0.1);
          if (mode === 'pixelate') {
            // ...and the face is a handful of flat cells: few distinct colours where there were thousands.
            const colours = new Set(points.map(([x, y]) => redacted.data.readUIntBE((y * image.width + x) * 3, 3)));
            const original = new Set(points.map(([x, y]) => image.data.readUIntBE((y * image.width + x) * 3, 3)));
            expect(original.size).toBeGreaterThan(1000);
            expect(colours.size).toBeLessThan(80);
          } else if (mode === 'solid') {
            // ...and what is there instead is two fixed greys, in cells.
            expect(new Set(points.map(([x, y]) => redacted.data.readUIntBE((y * image.width + x) * 3, 3))).size).toBeLessThanOrEqual(2);
          } else {
            // ...and inside each cell next to none of it is left (a smooth ramp of cell means): the
            // only detail is the fixed shading step along cell edges, a small share of the pixels.
            expect(medianAbs(after)).toBeLessThan(medianAbs(before) * 0.5);
          }
        }
      });

      it('leaves nothing the detector, down to its lowest candidate score, calls a face inside a redacted region', async () => {
        const found = await detectFaces(redacted, { minScore: LOWEST_CANDIDATE_SCORE });
        const ellipses = faces.map((f) => redactionEllipse(f.box, DEFAULT_REDACTION_PADDING));
        const inside = found.filter((f) => insideAny(ellipses, f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2));
        expect(inside, JSON.stringify(inside)).toEqual([]);
      });
    });
  }

  it('on every demo photo, in every mode: no candidate left inside a redacted region', async () => {
    const left: string[] = [];
    for (const demo of demoGroundTruth()) {
      const photo = await decodeForDetection(await readFile(demo.file));
      const found = await detectFaces(photo, { minScore: LOWEST_CANDIDATE_SCORE });
      const ellipses = found.map((f) => redactionEllipse(f.box, DEFAULT_REDACTION_PADDING));
      for (const mode of MODES) {
        const redacted = await redactFaces(photo, found, { mode });
        for (const f of await detectFaces(redacted, { minScore: LOWEST_CANDIDATE_SCORE })) {
          if (insideAny(ellipses, f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2)) left.push(`${demo.file.split('/').pop()} ${mode} ${f.score.toFixed(2)} ${f.box.join(',')}`);
        }
      }
    }
    expect(left).toEqual([]);
  });

  it('keeps alpha and leaves an image without faces untouched', async () => {
    const rgba: RawImage = { data: Buffer.alloc(40 * 30 * 4, 200), width: 40, height: 30, channels: 4 };
    for (let i = 3; i < rgba.data.length; i += 4) rgba.data[i] = 77;
    const out = await redactFaces(rgba, [{ box: [10, 5, 12, 14], score: 0.9 }], { mode: 'solid' });
    for (let i = 3; i < out.data.length; i += 4) expect(out.data[i]).toBe(77);
    expect(out.data.equals(rgba.data)).toBe(false);
    expect((await redactFaces(rgba, [], { mode: 'blur' })).data.equals(rgba.data)).toBe(true);
  });

  it('grows the redaction with the padding', async () => {
    const face: DetectedFace = { box: [400, 400, 100, 120], score: 0.9 };
    const changed = async (padding: number) => {
      const out = await redactFaces(image, [face], { mode: 'solid', padding });
      let n = 0;
      for (let i = 0; i < out.data.length; i++) if (out.data[i] !== image.data[i]) n += 1;
      return n;
    };
    expect(await changed(0.5)).toBeGreaterThan((await changed(0)) * 2);
  });

  it('refuses an unknown mode with a VeilError', async () => {
    const err = await redactFaces(image, faces, { mode: 'swirl' as RedactionMode }).catch((e: unknown) => e);
    expect(isVeilError(err) && err.code).toBe('BAD_REQUEST');
  });
});
