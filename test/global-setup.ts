import { spawnSync } from 'node:child_process';

/**
 * The CLI tests run bin/veil.js, exactly what users run, so compile src/ once before them.
 * tsc still emits when a file has a type error; `npm run typecheck` is what fails on those,
 * so a type error elsewhere does not hide every test result here.
 */
export default function setup(): void {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    encoding: 'utf8',
  });
  if (tsc.status !== 0) console.warn(`[global-setup] tsc reported problems:\n${tsc.stdout}${tsc.stderr}`);
}
