/**
 * Face detection on real photos: the demo set, and real faces shrunk to the sizes group photos
 * of children have. The policy these tests hold Veil to:
 *
 *   No face 20 px or taller in the published image stays recognisable. FACE_MIN_PX (16) is the
 *   size at which Veil starts acting, below that rule so faces the detector measures a little
 *   small still count. So every face that will be 20 px or more once published must be found
 *   (and measured at FACE_MIN_PX or more); faces between 16 and 20 px are the margin; smaller
 *   ones are not identifiable and do not matter.
 *
 * Small faces are matched at IoU 0.4 rather than 0.5: the ground-truth boxes follow another
 * detector's convention (taller, narrower), and at 20 px a 2 px difference moves IoU by ~0.15.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxIou, matchFaces } from '../scripts/eval-faces.js';
import { isVeilError } from '../src/pipeline/errors.js';
import { defaultFaceModelPath } from '../src/pipeline/faces-onnx.js';
import {
  DEFAULT_FACE_MIN_PX,
  DEFAULT_MAX_EDGE,
  DEFAULT_MIN_SCORE,
  decodeForDetection,
  detectFaces,
  detectionScales,
  detectionTileCount,
  minFaceHeightFor,
} from '../src/pipeline/faces.js';
import { BLAZEFACE_MIN_FACE_PX as MODEL_MIN_FACE_PX } from '../src/pipeline/faces-blazeface.js';
import type { RawImage } from '../src/pipeline/types.js';
import { demoGroundTruth, falsePositives, PROJECT_ROOT, smallFacePhoto, type SmallFacePhoto } from './helpers/faces.js';

const SMALL_FACE_IOU = 0.4;
/** The rule: faces this tall in the published image must not stay recognisable. */
const RULE_PX = 20;
/**
 * Demo face 5 (sample2.jpg, [361, 130, 167, 298]) is a near-profile face looking down: BlazeFace
 * scores it low once it is small (models/README.md, known limits). Small-face tests allow it,
 * and only it, to be missed, and say so when it is.
 */
const NEAR_PROFILE_FACE = 4;
/** Scores from here to the operating threshold are "seen but unsure". */
const UNCERTAIN_SCORE = 0.4;

describe('minFaceHeightFor', () => {
  it('is FACE_MIN_PX scaled up by how much the image will shrink when published', () => {
    expect(minFaceHeightFor(4000, 3000, 1600, 16)).toBe(40);
    expect(minFaceHeightFor(3000, 4000, 1600, 16)).toBe(40);
    expect(minFaceHeightFor(1920, 1280, 1600, 16)).toBeCloseTo(19.2);
    // Not shrunk: the face must be found at its own size.
    expect(minFaceHeightFor(1200, 800, 1600, 16)).toBe(16);
    expect(minFaceHeightFor(4000, 3000)).toBe(DEFAULT_FACE_MIN_PX * (4000 / DEFAULT_MAX_EDGE));
  });
});

describe('detectionScales', () => {
  it('runs the finest level where a minFaceHeight face is MODEL_MIN_FACE_PX tall, down to one holding the whole photo', () => {
    const scales = detectionScales(4000, 3000, 40);
    expect(scales[0]).toBeCloseTo(MODEL_MIN_FACE_PX / 40);
    expect(4000 * scales[scales.length - 1]!).toBeLessThanOrEqual(192);
    for (let i = 1; i < scales.length; i++) expect(scales[i]!).toBeLessThan(scales[i - 1]!);
  });

  it('costs no extra row of tiles when rounding makes a level a pixel taller', () => {
    // 1067 px published at 1.5x is a 1601 px level, 1066 px a 1599 px one: the same tiles cover both.
    expect(detectionTileCount(1600, 1067, DEFAULT_FACE_MIN_PX)).toBe(detectionTileCount(1600, 1066, DEFAULT_FACE_MIN_PX));
    expect(detectionTileCount(1600, 1200, DEFAULT_FACE_MIN_PX)).toBeGreaterThan(detectionTileCount(1600, 1067, DEFAULT_FACE_MIN_PX));
  });

  it('needs less work when only larger faces matter', () => {
    const area = (s: number[]) => s.reduce((sum, k) => sum + k * k, 0);
    expect(area(detectionScales(4000, 3000, 80))).toBeLessThan(area(detectionScales(4000, 3000, 40)) / 3);
  });
});

describe('detectFaces on the demo photos', () => {
  it(`finds all 22 faces with at most one false positive at the default threshold (${DEFAULT_MIN_SCORE})`, async () => {
    let found = 0;
    let falsePositive = 0;
    const report: string[] = [];
    for (const image of demoGroundTruth()) {
      const raw = await decodeForDetection(await readFile(image.file));
      const faces = await detectFaces(raw);
      const match = matchFaces(faces, image.boxes);
      found += match.found.filter(Boolean).length;
      falsePositive += match.detectionMatches.filter((m) => m < 0).length;
      for (const [i, face] of faces.entries()) {
        expect(face.score).toBeGreaterThanOrEqual(DEFAULT_MIN_SCORE);
        const [x, y, w, h] = face.box;
        expect(x >= 0 && y >= 0 && x + w <= raw.width && y + h <= raw.height, `box ${i} inside the image`).toBe(true);
      }
      report.push(`${path.basename(image.file)}: ${match.found.filter(Boolean).length}/${image.boxes.length}`);
    }
    expect(found, report.join(', ')).toBe(22);
    expect(falsePositive).toBeLessThanOrEqual(1);
  });

  it('reports boxes in the upright image when the file carries an EXIF orientation', async () => {
    const image = demoGroundTruth()[0]!;
    const sharp = (await import('sharp')).default;
    // Stored on its side, with orientation 6 ("rotate 90° clockwise to view"): upright is the original.
    const sideways = await sharp(image.file).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toBuffer();
    const raw = await decodeForDetection(sideways);
    expect([raw.width, raw.height]).toEqual([1920, 1280]);
    const match = matchFaces(await detectFaces(raw), image.boxes);
    expect(match.found.every(Boolean)).toBe(true);
  });
});

describe('detectFaces on small faces in a 4000x3000 photo', () => {
  let photo: SmallFacePhoto;
  let image: RawImage;
  beforeAll(async () => {
    // Every demo face, with head and shoulders, at each height (px in the 4000 px photo): 8, 12,
    // 16, 20 and 24 px once published at 1600.
    photo = await smallFacePhoto({ width: 4000, height: 3000, faceHeights: [20, 30, 40, 50, 60] });
    image = await decodeForDetection(photo.jpeg);
  });

  /** Share of detections that are faces (placed ones, or bystanders that came with a crop). */
  function precision(faces: { box: [number, number, number, number] }[], match: { detectionMatches: number[] }, photo: SmallFacePhoto): number {
    const alarms = falsePositives(faces, match.detectionMatches, [...photo.faces.map((f) => f.box), ...photo.bystanders]);
    return faces.length === 0 ? 0 : 1 - alarms.length / faces.length;
  }

  function missedAtOrAbove(photo: SmallFacePhoto, found: boolean[], minHeight: number): { height: number; source: number; box: number[] }[] {
    return photo.faces.filter((f, i) => f.height >= minHeight && !found[i]).map((f) => ({ height: f.height, source: f.source, box: f.box.map(Math.round) }));
  }

  it(`published at ${DEFAULT_MAX_EDGE} px: finds every face that will be ${RULE_PX} px or taller, and nothing below FACE_MIN_PX`, async () => {
    const shrink = DEFAULT_MAX_EDGE / 4000;
    const minFaceHeight = minFaceHeightFor(4000, 3000, DEFAULT_MAX_EDGE, DEFAULT_FACE_MIN_PX);
    expect(minFaceHeight).toBe(40);
    const faces = await detectFaces(image, { minFaceHeight });
    const match = matchFaces(faces, photo.faces.map((f) => f.box), SMALL_FACE_IOU);

    // YuNet at the published size misses a few 20–24 px faces (models/README.md): at least 85% found.
    const missed = missedAtOrAbove(photo, match.found, RULE_PX / shrink);
    const ruleSized = photo.faces.filter((f) => f.height >= RULE_PX / shrink).length;
    expect(missed.length / ruleSized, JSON.stringify(missed)).toBeLessThanOrEqual(0.15);
    // Nothing far below FACE_MIN_PX once published: the detector lets through faces boxed a
    // pixel or two short (the policy judges those), not the 8 and 12 px ones.
    for (const face of faces) expect(face.box[3] * shrink).toBeGreaterThanOrEqual(DEFAULT_FACE_MIN_PX * 0.85);
    // The 8 px (published) faces are far below the size that matters and are not looked for (a
    // 12 px one boxed large may come through; the policy leaves it as too small).
    const tiny = photo.faces.filter((f, i) => f.height <= 20 && match.found[i]);
    expect(tiny).toEqual([]);
    expect(precision(faces, match, photo)).toBeGreaterThanOrEqual(0.9);
  });

  it('at the original size (MAX_EDGE 4000, as `veil detect --max-edge 4000` runs): finds the 20 px faces too', { timeout: 240_000 }, async () => {
    // Its own, shorter 4000 px photo: original-size detection of 20 px faces runs the network over
    // ~2.25x the photo's pixels, and this keeps the test to a few seconds on two cores.
    const photo = await smallFacePhoto({ width: 4000, height: 1500, faceHeights: [20, 30] });
    const image = await decodeForDetection(photo.jpeg);
    const minFaceHeight = minFaceHeightFor(4000, 1500, 4000, DEFAULT_FACE_MIN_PX);
    expect(minFaceHeight).toBe(16);
    const faces = await detectFaces(image, { minFaceHeight });
    const match = matchFaces(faces, photo.faces.map((f) => f.box), SMALL_FACE_IOU);

    // From 30 px (a face with real detail to go on) every face is found.
    const missed = missedAtOrAbove(photo, match.found, 30);
    expect(missed.filter((m) => m.source !== NEAR_PROFILE_FACE).length, JSON.stringify(missed)).toBeLessThanOrEqual(1);
    // At 20 px the file holds only 20 px of face: YuNet finds about four in five (models/README.md).
    const at20 = photo.faces.map((f, i) => ({ f, i })).filter(({ f }) => f.height === 20);
    const missed20 = at20.filter(({ i }) => !match.found[i]);
    expect(missed20.length / at20.length, JSON.stringify(missed20.map(({ f }) => f))).toBeLessThanOrEqual(0.3);
    // Looking for 16 px faces over 6 MP finds some texture too (clothing, a blurred background).
    expect(precision(faces, match, photo)).toBeGreaterThanOrEqual(0.85);
  });

  it(`published at ${DEFAULT_MAX_EDGE} px: finds faces of 26–45 px, where one pyramid level hands over to the next, wherever the tiles fall`, async () => {
    // 64–112 px in the 4000 px file: 38–67 px at the finest level's network input, the sizes that
    // only a tile holding the whole face finds (the next level sees them at 13–22 px). Jittered
    // over the frame, many sit across the edges between tiles.
    const photo = await smallFacePhoto({ width: 4000, height: 3000, faceHeights: [64, 80, 96, 112], seed: 8 });
    const image = await decodeForDetection(photo.jpeg);
    const faces = await detectFaces(image, { minFaceHeight: minFaceHeightFor(4000, 3000, DEFAULT_MAX_EDGE, DEFAULT_FACE_MIN_PX) });
    const match = matchFaces(faces, photo.faces.map((f) => f.box), SMALL_FACE_IOU);
    const missed = missedAtOrAbove(photo, match.found, 0);
    expect(missed.filter((m) => m.source !== NEAR_PROFILE_FACE), JSON.stringify(missed)).toEqual([]);
    expect(precision(faces, match, photo)).toBeGreaterThanOrEqual(0.9);
  });

  it('lists more, lower-scored candidates when asked for a lower threshold', async () => {
    const minFaceHeight = 40;
    const operating = await detectFaces(image, { minFaceHeight });
    const candidates = await detectFaces(image, { minFaceHeight, minScore: 0.2 });
    expect(candidates.length).toBeGreaterThan(operating.length);
    expect(Math.min(...candidates.map((c) => c.score))).toBeLessThan(DEFAULT_MIN_SCORE);
    // Every operating-point face is still there among the candidates.
    for (const face of operating) expect(candidates.some((c) => boxIou(c.box, face.box) >= 0.5)).toBe(true);
  });
});

describe('the face model file', () => {
  const temp = mkdtempSync(path.join(tmpdir(), 'veil-faces-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));
  const tiny: RawImage = { data: Buffer.alloc(64 * 64 * 3, 128), width: 64, height: 64, channels: 3 };

  it('is found in models/ of the package, from src/ and from the compiled dist/', async () => {
    const expected = path.join(PROJECT_ROOT, 'models', 'yunet_n_dynamic.onnx');
    expect(defaultFaceModelPath()).toBe(expected);
    // test/global-setup.ts compiles src/ to dist/ before the tests run.
    const compiled = (await import(pathToFileURL(path.join(PROJECT_ROOT, 'dist/src/pipeline/faces-onnx.js')).href)) as { defaultFaceModelPath(): string };
    expect(compiled.defaultFaceModelPath()).toBe(expected);
  });

  it('missing → MODEL_UNAVAILABLE naming the path', async () => {
    const missing = path.join(temp, 'nowhere.onnx');
    const err = await detectFaces(tiny, { modelPath: missing }).catch((e: unknown) => e);
    expect(isVeilError(err) && err.code).toBe('MODEL_UNAVAILABLE');
    expect((err as Error).message).toContain(missing);
  });

  it('broken → MODEL_UNAVAILABLE naming the path', async () => {
    const broken = path.join(temp, 'broken.onnx');
    writeFileSync(broken, Buffer.from('this is not an ONNX model'));
    const err = await detectFaces(tiny, { modelPath: broken }).catch((e: unknown) => e);
    expect(isVeilError(err) && err.code).toBe('MODEL_UNAVAILABLE');
    expect((err as Error).message).toContain(broken);
  });

  it('of another shape (e.g. float input, as models from before 8-bit input were) → MODEL_UNAVAILABLE saying what is wrong', async () => {
    const { onnx } = (await import('onnx-proto')).default;
    const tensor = (elemType: number, dims: (number | string)[]) => ({
      tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } },
    });
    // A real, loadable model with the old contract: float32 [batch, 192, 192, 3] in.
    const model = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 7,
        opsetImport: [{ domain: '', version: 13 }],
        graph: {
          name: 'old_contract',
          node: [{ opType: 'Identity', input: ['image'], output: ['detections'] }],
          input: [{ name: 'image', type: tensor(onnx.TensorProto.DataType.FLOAT, ['batch', 192, 192, 3]) }],
          output: [{ name: 'detections', type: tensor(onnx.TensorProto.DataType.FLOAT, ['batch', 192, 192, 3]) }],
        },
      }),
    ).finish();
    const old = path.join(temp, 'float-input.onnx');
    writeFileSync(old, model);
    const err = await detectFaces(tiny, { modelPath: old }).catch((e: unknown) => e);
    expect(isVeilError(err) && err.code).toBe('MODEL_UNAVAILABLE');
    expect((err as Error).message).toContain(old);
    expect((err as Error).message).toMatch(/input "image" is float32 \[batch, 192, 192, 3\], not uint8/);
  });

  it('finds nothing in a flat grey picture', async () => {
    expect(await detectFaces(tiny, { minFaceHeight: 8 })).toEqual([]);
  });
});
