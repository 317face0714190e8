#!/usr/bin/env node
// The `veil` command. Compiled by `npm install` / `npm ci` (the `prepare` script) into dist/.
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    process.exitCode = 1;
  },
);
