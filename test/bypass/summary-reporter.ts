import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import type { AttemptRecord } from './harness.js';

/**
 * Prints one line per bypass class (attempts, leaked, refused, sanitised, errors) and the names of
 * the attempts that leaked, so the state of every door is visible at a glance.
 * BYPASS_SUMMARY_JSON=path also writes it as JSON.
 */
export default class BypassSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows = new Map<string, { attempts: number; leaked: number; refused: number; sanitised: number; errors: number }>();
    const leaks = new Map<string, string[]>();
    const where: Record<string, string> = {};
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const meta = test.meta().bypass as AttemptRecord | undefined;
        // Only attempts count: the detector's own tests and other suites are not doors.
        if (!module.moduleId.includes('/bypass/') || module.moduleId.endsWith('leak-detector.test.ts')) continue;
        const cls = meta?.cls ?? (test.parent.type === 'suite' ? test.parent.name : '?');
        const row = rows.get(cls) ?? { attempts: 0, leaked: 0, refused: 0, sanitised: 0, errors: 0 };
        rows.set(cls, row);
        row.attempts++;
        const failed = test.result().state === 'failed';
        if (!meta) row.errors++;
        else if (meta.outcome === 'leaked') {
          row.leaked++;
          leaks.set(cls, [...(leaks.get(cls) ?? []), test.name]);
          where[test.name] = meta.where ?? '';
        } else if (failed) row.errors++;
        else row[meta.outcome]++;
      }
    }
    const total = { attempts: 0, leaked: 0, refused: 0, sanitised: 0, errors: 0 };
    const width = Math.max(10, ...[...rows.keys()].map((k) => k.length));
    const line = (name: string, r: typeof total) =>
      `${name.padEnd(width)}  ${String(r.attempts).padStart(8)}  ${String(r.leaked).padStart(6)}  ${String(r.refused).padStart(7)}  ${String(r.sanitised).padStart(9)}  ${String(r.errors).padStart(6)}`;
    const out = ['', `${'class'.padEnd(width)}  attempts  leaked  refused  sanitised  errors`];
    for (const [name, r] of rows) {
      out.push(line(name, r));
      for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += r[key];
    }
    out.push(line('TOTAL', total), '');
    for (const [cls, names] of leaks) out.push(`leaks in ${cls}:`, ...names.map((n) => `  - ${n}`));
    process.stdout.write(`${out.join('\n')}\n`);
    if (process.env.BYPASS_SUMMARY_JSON) writeFileSync(process.env.BYPASS_SUMMARY_JSON, JSON.stringify({ rows: Object.fromEntries(rows), total, leaks: Object.fromEntries(leaks), where }, null, 2));
  }
}
