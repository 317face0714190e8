import { execFileSync } from 'node:child_process';

/** The CLI tests run bin/veil.js, exactly what users run, so compile src/ once before them. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
