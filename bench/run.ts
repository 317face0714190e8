/**
 * `npm run bench`: every figure is a median (or p95) measured in this run, next to a baseline
 * measured in the same run on the same machine, because these machines are noisy.
 * BENCH_ROUNDS (default 3) repeats each measurement; BENCH_ONLY=sanitise,faces,proxy picks sections.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { preparePhotos } from './photos.js';
import { benchSanitise } from './sanitise.js';

const only = new Set((process.env.BENCH_ONLY ?? 'sanitise,faces,proxy').split(','));
const { dir, files } = await preparePhotos();
console.log(`# Veil bench (${new Date().toISOString()}, node ${process.version})`);
try {
  if (only.has('sanitise')) await benchSanitise(files, join(dir, 'out'));
  if (only.has('faces')) await (await import('./faces.js')).benchFaces(files);
  if (only.has('proxy')) await (await import('./proxy.js')).benchProxy();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
