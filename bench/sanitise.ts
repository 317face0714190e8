import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sanitiseImage } from '../src/pipeline/sanitise.js';
import { EXIFTOOL } from './photos.js';
import { mb, median, ms, table, timed } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** ImageMagick 6's convert, when Debian's imagemagick is installed (not the sandbox stand-in). */
function imageMagick(): string | null {
  for (const candidate of ['/usr/bin/convert', '/usr/bin/magick']) {
    if (spawnSync(candidate, ['-version'], { encoding: 'utf8' }).stdout?.includes('ImageMagick')) return candidate;
  }
  return null;
}

/** Runs `node [--import rss] args`, returning wall time and the child's peak RSS. */
function runNode(args: string[]): Promise<{ ms: number; maxRssKb: number; status: number | null }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', './bench/report-rss.mjs', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => {
      const rss = /VEIL_BENCH_MAXRSS_KB=(\d+)/.exec(stderr);
      resolve({ ms: performance.now() - start, maxRssKb: rss ? Number(rss[1]) : NaN, status });
    });
  });
}

/**
 * Veil against what a technician would otherwise script: `exiftool -all=` then ImageMagick's
 * auto-orient and resize to the same 1600 px, per photo, in the same run on the same files.
 */
export async function benchSanitise(files: string[], outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const convert = imageMagick();
  const inProcess: number[] = [];
  const withFaces: number[] = [];
  const cliEach: number[] = [];
  const script: number[] = [];
  // 12 MP phone photos only, one process each, faces off and on: the 1.5x target.
  const phoneOff: number[] = [];
  const phoneOn: number[] = [];
  const phone = (file: string) => file.includes('12mp');
  const scriptPhone: number[] = [];
  let cliBatchPerPhoto = NaN;
  let cliBatchFacesPerPhoto = NaN;
  let cliPeakRss = 0;
  let workerPeakRss = 0;

  // One warm-up so that module loading and the model's first load are not timed.
  const { faceOptions } = await import('../src/pipeline/face-options.js');
  await sanitiseImage(readFileSync(files[0]!), { faces: faceOptions({ policy: 'blur' }) });

  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, file] of files.entries()) {
      const bytes = readFileSync(file);
      inProcess.push((await timed(() => sanitiseImage(bytes, { faces: null }))).ms);
      withFaces.push((await timed(() => sanitiseImage(bytes, { faces: faceOptions({ policy: 'blur' }) }))).ms);

      const cli = await runNode(['bin/veil.js', 'sanitise', file, '-o', join(outDir, `veil-${i}.jpg`), '--faces', 'off']);
      if (cli.status !== 0) throw new Error(`veil sanitise failed on ${file}`);
      cliEach.push(cli.ms);
      if (phone(file)) {
        phoneOff.push(cli.ms);
        const on = await runNode(['bin/veil.js', 'sanitise', file, '-o', join(outDir, `veil-faces-${i}.jpg`), '--faces', 'blur']);
        if (on.status !== 0) throw new Error(`veil sanitise --faces blur failed on ${file}`);
        phoneOn.push(on.ms);
      }
      cliPeakRss = Math.max(cliPeakRss, cli.maxRssKb * 1024);

      if (convert) {
        const stripped = join(outDir, `stripped-${i}.jpg`);
        const t = performance.now();
        execFileSync('perl', [EXIFTOOL, '-q', '-all=', '-o', stripped, file], { stdio: 'ignore' });
        execFileSync(convert, [stripped, '-auto-orient', '-resize', '1600x1600>', '-quality', '85', join(outDir, `script-${i}.jpg`)]);
        script.push(performance.now() - t);
        if (phone(file)) scriptPhone.push(script[script.length - 1]!);
        execFileSync('rm', ['-f', stripped]);
      }
    }
    const batch = await runNode(['bin/veil.js', 'sanitise', ...files, '--out-dir', join(outDir, `batch-${round}`), '--faces', 'off']);
    cliBatchPerPhoto = Math.min(Number.isNaN(cliBatchPerPhoto) ? Infinity : cliBatchPerPhoto, batch.ms / files.length);
    // A worker's job: the photos with faces found and blurred, in one process (its peak RSS is a worker's).
    const withFaces12 = files.filter(phone);
    const facesBatch = await runNode(['bin/veil.js', 'sanitise', ...withFaces12, '--out-dir', join(outDir, `batch-faces-${round}`), '--faces', 'blur']);
    if (facesBatch.status !== 0) throw new Error('veil sanitise --faces blur (batch) failed');
    cliBatchFacesPerPhoto = Math.min(Number.isNaN(cliBatchFacesPerPhoto) ? Infinity : cliBatchFacesPerPhoto, facesBatch.ms / withFaces12.length);
    workerPeakRss = Math.max(workerPeakRss, facesBatch.maxRssKb * 1024);
    cliPeakRss = Math.max(cliPeakRss, batch.maxRssKb * 1024);
  }

  const base = median(script);
  const ratio = (v: number) => (convert ? `${(v / base).toFixed(2)}×` : 'n/a');
  console.log(`\n## Sanitise: ${files.length} photos × ${ROUNDS} rounds (median time per photo)\n`);
  console.log(table([
    ['what', 'median', 'vs script'],
    ['technician script: exiftool -all= + convert -resize 1600 (two processes)', convert ? ms(base) : 'not installed', convert ? '1.00×' : 'n/a'],
    ['veil sanitise, one process per photo (--faces off)', ms(median(cliEach)), ratio(median(cliEach))],
    ['veil sanitise, all photos in one process (--faces off)', ms(cliBatchPerPhoto), ratio(cliBatchPerPhoto)],
    ['veil sanitise, the 12 MP photos in one process, faces found and blurred (target ≤ 0.5× the script on them)', ms(cliBatchFacesPerPhoto), convert ? `${(cliBatchFacesPerPhoto / median(scriptPhone)).toFixed(2)}×` : 'n/a'],
    ['pipeline in process, metadata + size only', ms(median(inProcess)), ratio(median(inProcess))],
    ['pipeline in process, with face detection + redaction', ms(median(withFaces)), ratio(median(withFaces))],
  ]));
  console.log(`\n12 MP phone photo, one veil sanitise process each: faces on ${ms(median(phoneOn))}, --faces off ${ms(median(phoneOff))}: ${(median(phoneOn) / median(phoneOff)).toFixed(2)}× (target ≤ 1.5×)`);
  console.log(`12 MP photos with faces, one process: ${ms(cliBatchFacesPerPhoto)} per photo against the script's ${convert ? ms(median(scriptPhone)) : 'n/a'} on the same photos`);
  console.log(`peak RSS of a veil sanitise process: ${mb(cliPeakRss)}; of the batch with faces (a worker's work): ${mb(workerPeakRss)}`);
  if (!convert) console.log('(ImageMagick is not installed: `apt-get install imagemagick` to measure the script baseline.)');
}
