/**
 * The one place Veil talks to onnxruntime-node. Everything about what the face model means
 * (preprocessing, anchors, NMS) lives in faces.ts; this file only loads and runs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Ort from 'onnxruntime-node';
import { VeilError } from './errors.js';

/** The model file shipped in the package (built by models/build-face-model.ts). */
export const DEFAULT_FACE_MODEL_FILE = 'models/blazeface-full-range.onnx';

/** The input/output contract of the "BlazeFace full-range" family Veil supports (see models/README.md). */
export const FACE_MODEL_INPUT = 'image';
export const FACE_MODEL_OUTPUT = 'detections';
/** The network's square input, in pixels. */
export const FACE_MODEL_INPUT_SIZE = 192;
/** One anchor per 4x4 px cell: 48 x 48 of them. */
export const FACE_MODEL_ANCHOR_STRIDE = 4;
export const FACE_MODEL_ANCHORS = (FACE_MODEL_INPUT_SIZE / FACE_MODEL_ANCHOR_STRIDE) ** 2;
/** Values per anchor: score logit, box (dx, dy, w, h), six keypoints (x, y). */
export const FACE_MODEL_VALUES_PER_ANCHOR = 17;

export interface FaceModel {
  readonly path: string;
  /**
   * Runs the network on `count` tiles of FACE_MODEL_INPUT_SIZE² NHWC RGB pixels scaled to
   * [-1, 1]. Returns FACE_MODEL_ANCHORS rows of FACE_MODEL_VALUES_PER_ANCHOR values per tile.
   */
  run(tiles: Float32Array, count: number): Promise<Float32Array>;
}

const sessions = new Map<string, Promise<FaceModel>>();
let packageRoot: string | undefined;

/** models/blazeface-full-range.onnx in Veil's package, whether running from src/ or dist/src/. */
export function defaultFaceModelPath(): string {
  packageRoot ??= findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  return path.join(packageRoot, DEFAULT_FACE_MODEL_FILE);
}

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'veil') return dir;
      } catch {
        // Not ours (or unreadable): keep walking up.
      }
    }
    if (path.dirname(dir) === dir) {
      throw new VeilError('MODEL_UNAVAILABLE', `Cannot find Veil's package.json above ${start}, so the face model's location is unknown. Set FACE_MODEL to the .onnx file.`);
    }
  }
}

/**
 * One session per model file per process, created on first use. A failed load is not cached,
 * so fixing the file and retrying works without a restart.
 */
export function loadFaceModel(modelPath: string = defaultFaceModelPath()): Promise<FaceModel> {
  const key = path.resolve(modelPath);
  let pending = sessions.get(key);
  if (!pending) {
    pending = createFaceModel(key);
    sessions.set(key, pending);
    pending.catch(() => sessions.delete(key));
  }
  return pending;
}

/**
 * onnxruntime 1.30's native library sends usage telemetry to Microsoft unless told not to, and
 * Veil talks to nothing it was not asked to. The variable must be set before the library loads,
 * hence the late import.
 */
async function onnxRuntime(): Promise<typeof Ort> {
  process.env.ORT_DISABLE_TELEMETRY = '1';
  return import('onnxruntime-node');
}

async function createFaceModel(modelPath: string): Promise<FaceModel> {
  const ort = await onnxRuntime();
  if (!existsSync(modelPath)) {
    throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} does not exist. Reinstall Veil, run "npm run build:model", or point FACE_MODEL at the .onnx file.`);
  }
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      // Two cores is the common worker size; more threads than cores only adds contention with sharp.
      intraOpNumThreads: Math.max(1, Math.min(2, availableParallelism())),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} could not be loaded (${reason}). Rebuild it with "npm run build:model" or point FACE_MODEL at a valid file.`, { cause: err });
  }
  if (!session.inputNames.includes(FACE_MODEL_INPUT) || !session.outputNames.includes(FACE_MODEL_OUTPUT)) {
    await session.release().catch(() => undefined);
    throw new VeilError(
      'MODEL_UNAVAILABLE',
      `The face model ${modelPath} is not a supported BlazeFace full-range model: it needs an input "${FACE_MODEL_INPUT}" and an output "${FACE_MODEL_OUTPUT}" (it has ${session.inputNames.join(', ')} → ${session.outputNames.join(', ')}).`,
    );
  }
  return {
    path: modelPath,
    async run(tiles, count) {
      const input = new ort.Tensor('float32', tiles, [count, FACE_MODEL_INPUT_SIZE, FACE_MODEL_INPUT_SIZE, 3]);
      let output: Ort.Tensor | undefined;
      try {
        const result = await session.run({ [FACE_MODEL_INPUT]: input }, [FACE_MODEL_OUTPUT]);
        output = result[FACE_MODEL_OUTPUT];
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} failed to run (${reason}).`, { cause: err });
      }
      const expected = count * FACE_MODEL_ANCHORS * FACE_MODEL_VALUES_PER_ANCHOR;
      if (!output || output.type !== 'float32' || output.data.length !== expected) {
        throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} returned ${output?.dims.join('x') ?? 'nothing'}, not [${count}, ${FACE_MODEL_ANCHORS}, ${FACE_MODEL_VALUES_PER_ANCHOR}].`);
      }
      return output.data as Float32Array;
    },
  };
}
