import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_FACE_MIN_PX, detectFaces, detectionScales, detectionTileCount } from '../src/pipeline/faces.js';
import { blazeFaceModelPath, FACE_MODEL_INPUT_SIZE, loadFaceModel } from '../src/pipeline/faces-onnx.js';
import { redactFaces } from '../src/pipeline/redact.js';
import type { RawImage } from '../src/pipeline/types.js';
import { mb, median, ms, table, timed } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** The published-size pixels the pipeline detects on (long edge 1600, upright, sRGB). */
async function publishedPixels(bytes: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(bytes).rotate().resize(1600, 1600, { fit: 'inside', withoutEnlargement: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/**
 * Face detection and redaction per photo, next to what sanitising costs without them (decode,
 * resize to 1600, JPEG encode) on the same photo in the same run. Target: detection costs no
 * more than that baseline. Where detection's time goes is shown by its two big parts, each
 * measured alone: the network over all tiles, and sharp enlarging the photo to the finest level.
 */
export async function benchFaces(files: string[]): Promise<void> {
  const baseline: number[] = [];
  const detection: number[] = [];
  const redaction: number[] = [];
  const tiles: number[] = [];
  const enlargement: number[] = [];
  let faces = 0;
  // Load the model outside the timings.
  await detectFaces(await publishedPixels(readFileSync(files[0]!)), { minFaceHeight: DEFAULT_FACE_MIN_PX });

  for (let round = 0; round < ROUNDS; round++) {
    for (const file of files) {
      const bytes = readFileSync(file);
      baseline.push((await timed(() => sharp(bytes).rotate().resize(1600, 1600, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer())).ms);
      const image = await publishedPixels(bytes);
      const found = await timed(() => detectFaces(image, { minFaceHeight: DEFAULT_FACE_MIN_PX }));
      detection.push(found.ms);
      redaction.push((await timed(() => redactFaces(image, found.value, { mode: 'blur', padding: 0.25 }))).ms);
      if (round === 0) faces += found.value.length;
      tiles.push(detectionTileCount(image.width, image.height, DEFAULT_FACE_MIN_PX));
      const finest = detectionScales(image.width, image.height, DEFAULT_FACE_MIN_PX)[0]!;
      if (finest > 1) {
        const [w, h] = [Math.round(image.width * finest), Math.round(image.height * finest)];
        enlargement.push((await timed(() => sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer())).ms);
      }
    }
  }

  const perTile = await networkMsPerTile(readFileSync(files[0]!));
  const base = median(baseline);
  const network = median(tiles) * perTile;
  console.log(`\n## Faces: ${files.length} photos × ${ROUNDS} rounds, at the published size (1600 px), ${faces} faces found\n`);
  console.log(table([
    ['what', 'median per photo', 'vs decode+resize+encode'],
    ['decode + resize to 1600 + JPEG encode (baseline)', ms(base), '1.00×'],
    ['face detection (ONNX, FACE_MIN_PX 16)', ms(median(detection)), `${(median(detection) / base).toFixed(2)}×`],
    [`  its network, alone: ${median(tiles)} tiles × ${perTile.toFixed(2)} ms`, ms(network), `${(network / base).toFixed(2)}×`],
    ...(enlargement.length > 0 ? [['  its enlargement to the finest level (sharp), alone', ms(median(enlargement)), `${(median(enlargement) / base).toFixed(2)}×`]] : []),
    ['redaction of the faces found', ms(median(redaction)), `${(median(redaction) / base).toFixed(2)}×`],
  ]));
  console.log(`\npeak RSS of a worker process sanitising all ${files.length} photos with faces: ${mb(await workerPeakRss(files))}`);
}

/** The network's time per 192 px tile in batches of 8, as detectFaces runs it (pixels of a real photo). */
async function networkMsPerTile(bytes: Buffer): Promise<number> {
  const model = await loadFaceModel(blazeFaceModelPath());
  if (model.family !== 'blazeface') throw new Error('expected the BlazeFace model');
  const size = FACE_MODEL_INPUT_SIZE;
  const batch = 8;
  const crops = await Promise.all(
    Array.from({ length: batch }, (_, i) => sharp(bytes).resize(size * 4, size * 3, { fit: 'fill' }).extract({ left: (i % 4) * size, top: Math.floor(i / 4) * size, width: size, height: size }).removeAlpha().raw().toBuffer()),
  );
  const input = new Uint8Array(Buffer.concat(crops));
  await model.run(input, batch);
  const runs: number[] = [];
  for (let i = 0; i < 12; i++) runs.push((await timed(() => model.run(input, batch))).ms / batch);
  return median(runs);
}

/** A `veil sanitise` process does exactly a worker's pipeline work; its peak RSS stands for a worker's. */
function workerPeakRss(files: string[]): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'veil-bench-rss-'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './bench/report-rss.mjs', 'bin/veil.js', 'sanitise', ...files, '--out-dir', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', () => {
      rmSync(out, { recursive: true, force: true });
      const kb = /VEIL_BENCH_MAXRSS_KB=(\d+)/.exec(stderr);
      resolve(kb ? Number(kb[1]) * 1024 : NaN);
    });
  });
}
