/**
 * `npm run bench`: every figure is a median (or p95) measured in this run, next to a baseline
 * measured in the same run on the same machine, because these machines are noisy.
 * BENCH_ROUNDS (default 3) repeats each measurement; BENCH_ONLY=sanitise,faces,proxy,passthrough
 * picks sections. Targets (bench/targets.ts) are printed at the end; a missed one fails the run
 * unless BENCH_REPORT_ONLY=1.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { preparePhotos } from './photos.js';
import { allTargets, formatTarget, formatValue } from './targets.js';
import { table } from './stats.js';

const only = new Set((process.env.BENCH_ONLY ?? 'sanitise,faces,proxy,passthrough').split(','));
console.log(`# Veil bench (${new Date().toISOString()}, node ${process.version})`);
const photos = only.has('sanitise') || only.has('faces') ? await preparePhotos() : undefined;
try {
  if (only.has('sanitise')) await (await import('./sanitise.js')).benchSanitise(photos!.files, join(photos!.dir, 'out'));
  if (only.has('faces')) await (await import('./faces.js')).benchFaces(photos!.files);
  if (only.has('proxy')) await (await import('./proxy.js')).benchProxy();
  if (only.has('passthrough')) await (await import('./passthrough.js')).benchPassThrough();
} finally {
  if (photos) rmSync(photos.dir, { recursive: true, force: true });
}

const targets = allTargets();
if (targets.length > 0) {
  console.log('\n## Targets\n');
  console.log(table([['', 'measured', 'target'], ...targets.map((t) => [t.name, formatValue(t.value, t.unit), formatTarget(t)])]));
  const missed = targets.filter((t) => !t.met);
  if (missed.length > 0) {
    console.log(`\n${missed.length} of ${targets.length} targets missed${process.env.BENCH_REPORT_ONLY === '1' ? ' (BENCH_REPORT_ONLY=1: reported, not failed)' : ''}.`);
    if (process.env.BENCH_REPORT_ONLY !== '1') process.exitCode = 1;
  }
}
