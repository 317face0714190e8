/**
 * The one place Veil talks to onnxruntime-node. Everything about what a face model means
 * (preprocessing, anchors, NMS) lives in faces*.ts; this file only loads and runs it, and tells
 * the two supported families apart by their graph's inputs and outputs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Ort from 'onnxruntime-node';
import { VeilError } from './errors.js';

/** The primary model shipped in the package: YuNet-n (see models/README.md). */
export const DEFAULT_FACE_MODEL_FILE = 'models/yunet_n_dynamic.onnx';
/** The second family, kept as a measured second opinion (built by models/build-face-model.ts). */
export const BLAZEFACE_MODEL_FILE = 'models/blazeface-full-range.onnx';

/** YuNet's contract: float32 BGR 0–255 NCHW in, per stride s: cls_s, obj_s, bbox_s, kps_s. */
export const YUNET_INPUT = 'input';
export const YUNET_STRIDES = [8, 16, 32] as const;
/** Height and width of YuNet's input must be multiples of this. */
export const YUNET_ALIGN = 32;
const YUNET_OUTPUTS = YUNET_STRIDES.flatMap((s) => [`cls_${s}`, `obj_${s}`, `bbox_${s}`]);

/** The input/output contract of the "BlazeFace full-range" family Veil supports (see models/README.md). */
export const FACE_MODEL_INPUT = 'image';
export const FACE_MODEL_OUTPUT = 'detections';
/** The network's square input, in pixels: 8-bit RGB, NHWC. */
export const FACE_MODEL_INPUT_SIZE = 192;
/** One anchor per 4x4 px cell: 48 x 48 of them. */
export const FACE_MODEL_ANCHOR_STRIDE = 4;
export const FACE_MODEL_ANCHORS = (FACE_MODEL_INPUT_SIZE / FACE_MODEL_ANCHOR_STRIDE) ** 2;
/** Values per anchor: score logit, then the box (dx, dy, w, h). */
export const FACE_MODEL_VALUES_PER_ANCHOR = 5;
/**
 * The anchor grid comes folded into 2x2 blocks, as the network computes it: the output is
 * [tiles, BLOCK² * VALUES, GRID, GRID], and [t, (i * BLOCK + j) * VALUES + v, h, w] is value v
 * of the anchor in row h * BLOCK + i, column w * BLOCK + j.
 */
export const FACE_MODEL_BLOCK = 2;
export const FACE_MODEL_GRID = FACE_MODEL_INPUT_SIZE / FACE_MODEL_ANCHOR_STRIDE / FACE_MODEL_BLOCK;
const OUTPUT_DIMS = [FACE_MODEL_BLOCK ** 2 * FACE_MODEL_VALUES_PER_ANCHOR, FACE_MODEL_GRID, FACE_MODEL_GRID];
/** Output values per tile. */
export const FACE_MODEL_TILE_VALUES = FACE_MODEL_ANCHORS * FACE_MODEL_VALUES_PER_ANCHOR;

/** One stride's outputs: N = batch * (height / s) * (width / s) cells, row-major, image after image. */
export interface YuNetLevel {
  stride: number;
  /** Sigmoid class score, [N]. */
  cls: Float32Array;
  /** Sigmoid objectness, [N]. */
  obj: Float32Array;
  /** (dx, dy, dw, dh) in stride units, [N * 4]. */
  bbox: Float32Array;
}

export interface YuNetModel {
  readonly family: 'yunet';
  readonly path: string;
  /**
   * Runs the network on `batch` float32 BGR images of one size, NCHW, width and height multiples
   * of YUNET_ALIGN. Each level's arrays hold the batch's images one after another.
   */
  run(input: Float32Array, width: number, height: number, batch?: number): Promise<YuNetLevel[]>;
}

export type FaceModel = YuNetModel | BlazeFaceModel;

export interface BlazeFaceModel {
  readonly family: 'blazeface';
  readonly path: string;
  /**
   * Runs the network on `count` tiles of FACE_MODEL_INPUT_SIZE² pixels, 8-bit RGB, interleaved
   * (NHWC). Returns FACE_MODEL_TILE_VALUES values per tile, laid out as FACE_MODEL_BLOCK says.
   */
  run(tiles: Uint8Array, count: number): Promise<Float32Array>;
}

const sessions = new Map<string, Promise<FaceModel>>();
let packageRoot: string | undefined;

/** models/yunet_n_dynamic.onnx in Veil's package, whether running from src/ or dist/src/. */
export function defaultFaceModelPath(): string {
  packageRoot ??= findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  return path.join(packageRoot, DEFAULT_FACE_MODEL_FILE);
}

/** models/blazeface-full-range.onnx in Veil's package. */
export function blazeFaceModelPath(): string {
  packageRoot ??= findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  return path.join(packageRoot, BLAZEFACE_MODEL_FILE);
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
      // 'all' includes the NCHWc layout rewrite: 2.5x faster than 'extended' here.
      graphOptimizationLevel: 'all',
      // Idle threads sleep instead of spinning. On an idle machine that costs ~10% per tile (5–9%
      // per photo, against spinning freely or for at most 100–200 µs), but with one other busy
      // thread beside detection, as a worker has (sharp enlarging the finest level, other photos'
      // decoding and encoding), photos took ~1.0 s, against ~1.2 s (bounded) and ~1.3 s (free).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} could not be loaded (${reason}). Rebuild it with "npm run build:model" or point FACE_MODEL at a valid file.`, { cause: err });
  }
  if (isYuNet(session)) return yunetModel(ort, session, modelPath);
  const contract = checkContract(session);
  if (contract) {
    await session.release().catch(() => undefined);
    throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} is neither a YuNet model nor a supported BlazeFace full-range model: ${contract} Point FACE_MODEL at the .onnx file Veil ships, or one "npm run build:model" built.`);
  }
  return {
    family: 'blazeface',
    path: modelPath,
    async run(tiles, count) {
      const input = new ort.Tensor('uint8', tiles, [count, FACE_MODEL_INPUT_SIZE, FACE_MODEL_INPUT_SIZE, 3]);
      let output: Ort.Tensor | undefined;
      try {
        const result = await session.run({ [FACE_MODEL_INPUT]: input }, [FACE_MODEL_OUTPUT]);
        output = result[FACE_MODEL_OUTPUT];
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} failed to run (${reason}).`, { cause: err });
      }
      const expected = count * FACE_MODEL_TILE_VALUES;
      if (!output || output.type !== 'float32' || output.data.length !== expected) {
        throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} returned ${output?.dims.join('x') ?? 'nothing'}, not [${count}, ${OUTPUT_DIMS.join(', ')}].`);
      }
      return output.data as Float32Array;
    },
  };
}

/** YuNet's graph: one float32 [batch, 3, h, w] input named "input", and cls/obj/bbox per stride. */
function isYuNet(session: Ort.InferenceSession): boolean {
  const input = session.inputMetadata.find((m) => m.name === YUNET_INPUT);
  return Boolean(input?.isTensor && input.type === 'float32' && input.shape.length === 4 && input.shape[1] === 3) && YUNET_OUTPUTS.every((name) => session.outputNames.includes(name));
}

function yunetModel(ort: typeof Ort, session: Ort.InferenceSession, modelPath: string): YuNetModel {
  return {
    family: 'yunet',
    path: modelPath,
    async run(pixels, width, height, batch = 1) {
      if (width % YUNET_ALIGN || height % YUNET_ALIGN || pixels.length !== batch * 3 * width * height) {
        throw new VeilError('BAD_REQUEST', `YuNet needs ${batch} input(s) of 3x${height}x${width}, with sides multiples of ${YUNET_ALIGN}.`);
      }
      let result: Ort.InferenceSession.ReturnType;
      try {
        result = await session.run({ [YUNET_INPUT]: new ort.Tensor('float32', pixels, [batch, 3, height, width]) }, YUNET_OUTPUTS);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} failed to run (${reason}).`, { cause: err });
      }
      return YUNET_STRIDES.map((stride) => {
        const cells = batch * (width / stride) * (height / stride);
        const take = (name: string, per: number): Float32Array => {
          const t = result[`${name}_${stride}`];
          if (!t || t.type !== 'float32' || t.data.length !== cells * per) {
            throw new VeilError('MODEL_UNAVAILABLE', `The face model ${modelPath} returned ${t?.dims.join('x') ?? 'nothing'} for ${name}_${stride}, not [${batch}, ${cells / batch}, ${per}].`);
          }
          return t.data as Float32Array;
        };
        return { stride, cls: take('cls', 1), obj: take('obj', 1), bbox: take('bbox', 4) };
      });
    },
  };
}

/** What is wrong with the session's inputs and outputs, or null if they are the family's. */
function checkContract(session: Ort.InferenceSession): string | null {
  const input = session.inputMetadata.find((m) => m.name === FACE_MODEL_INPUT);
  const output = session.outputMetadata.find((m) => m.name === FACE_MODEL_OUTPUT);
  if (!input || !output) {
    return `it needs an input "${FACE_MODEL_INPUT}" and an output "${FACE_MODEL_OUTPUT}" (it has ${session.inputNames.join(', ')} → ${session.outputNames.join(', ')}).`;
  }
  const size = FACE_MODEL_INPUT_SIZE;
  const describe = (m: Ort.InferenceSession.ValueMetadata) => (m.isTensor ? `${m.type} [${m.shape.join(', ')}]` : 'not a tensor');
  const fits = (m: Ort.InferenceSession.ValueMetadata, type: string, dims: number[]) =>
    m.isTensor && m.type === type && m.shape.length === dims.length + 1 && dims.every((d, i) => m.shape[i + 1] === d);
  // Models from before Veil fed 8-bit pixels took float32 [batch, 192, 192, 3] and gave [batch, 2304, 17].
  if (!fits(input, 'uint8', [size, size, 3])) return `its input "${FACE_MODEL_INPUT}" is ${describe(input)}, not uint8 [batch, ${size}, ${size}, 3].`;
  if (!fits(output, 'float32', OUTPUT_DIMS)) return `its output "${FACE_MODEL_OUTPUT}" is ${describe(output)}, not float32 [batch, ${OUTPUT_DIMS.join(', ')}].`;
  return null;
}
