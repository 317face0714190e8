// Preloaded into a measured node process: prints its peak resident memory when it exits.
import { writeSync } from 'node:fs';
process.on('exit', () => writeSync(2, `\nVEIL_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`));
