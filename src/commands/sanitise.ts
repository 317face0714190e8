import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VeilError } from '../pipeline/errors.js';
import { DEFAULT_FACE_MIN_PX } from '../pipeline/faces.js';
import { faceOptions } from '../pipeline/face-options.js';
import { DEFAULT_LIMITS } from '../pipeline/limits.js';
import { DEFAULT_MAX_EDGE, sanitiseImage, type SanitiseReport } from '../pipeline/sanitise.js';
import type { FacePolicy } from '../pipeline/types.js';
import { EXIT, line, parseNumber, reportFailure, UsageError, writeFileAtomic, type CommandIO } from './io.js';

export const SANITISE_USAGE = `Usage: veil sanitise IN... (-o OUT | --out-dir DIR) [options]

Strips all metadata, turns photos upright, shrinks them and redacts identifiable faces.

Options:
  -o, --output FILE     where to write the result (one input only)
  -d, --out-dir DIR     write each result into DIR under a generated name
      --max-edge N      long edge of the result in pixels (default ${DEFAULT_MAX_EDGE})
      --faces MODE      blur (default), hold (do not publish photos with faces), allow, or
                        off (metadata and size only; faces are not looked for)
      --face-min-px N   faces shorter than this in the result are left alone (default ${DEFAULT_FACE_MIN_PX})
      --max-pixels N    refuse images larger than N pixels (default ${DEFAULT_LIMITS.maxPixels})
      --json            one JSON line per input
Exit status: 0 all sanitised, 1 some failed, 2 usage error, 3 some held for review.`;

const FACE_MODES = ['blur', 'hold', 'allow', 'off'] as const;

export async function sanitiseCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      'out-dir': { type: 'string', short: 'd' },
      'max-edge': { type: 'string' },
      faces: { type: 'string', default: 'blur' },
      'face-min-px': { type: 'string' },
      'max-pixels': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) throw new UsageError('name at least one image to sanitise');
  if (!values.output === !values['out-dir']) throw new UsageError('give either -o OUT (one input) or --out-dir DIR');
  if (values.output && positionals.length > 1) throw new UsageError('-o takes one input; use --out-dir for several');
  const mode = values.faces as (typeof FACE_MODES)[number];
  if (!FACE_MODES.includes(mode)) throw new UsageError(`--faces must be one of ${FACE_MODES.join(', ')}`);
  const maxEdge = parseNumber('--max-edge', values['max-edge'], 16, 20000) ?? DEFAULT_MAX_EDGE;
  const minFacePx = parseNumber('--face-min-px', values['face-min-px'], 1, 1000);
  const maxPixels = parseNumber('--max-pixels', values['max-pixels'], 1, 1e10) ?? DEFAULT_LIMITS.maxPixels;
  const faces = mode === 'off' ? null : faceOptions({ policy: mode as FacePolicy, minFacePx });
  if (values['out-dir']) await mkdir(values['out-dir'], { recursive: true });

  let failed = 0;
  let held = 0;
  for (const file of positionals) {
    try {
      const input = await readFile(file);
      const result = await sanitiseImage(input, {
        maxEdge,
        faces,
        limits: { ...DEFAULT_LIMITS, maxPixels, maxBytes: Math.max(DEFAULT_LIMITS.maxBytes, input.length) },
        originalName: file,
      });
      if (result.outcome === 'held') {
        held += 1;
        if (values.json) line(io.stdout, JSON.stringify({ file, ok: false, held: true, reasons: result.reasons, report: result.report }));
        else line(io.stdout, `HELD ${file}: ${result.reasons.join('; ')} (nothing written)`);
        continue;
      }
      const output = values.output ? values.output : join(values['out-dir']!, result.filename);
      await refuseToOverwriteInput(file, output);
      await writeFileAtomic(output, result.bytes);
      if (values.json) line(io.stdout, JSON.stringify({ file, output, ok: true, report: result.report }));
      else line(io.stdout, `OK   ${file} -> ${output}\n${summarise(result.report)}`);
    } catch (err) {
      failed += 1;
      reportFailure(io, Boolean(values.json), file, err);
    }
  }
  return failed > 0 ? EXIT.failed : held > 0 ? EXIT.held : EXIT.ok;
}

/** Sanitising in place would destroy the only copy a person may need for a review. */
async function refuseToOverwriteInput(input: string, output: string): Promise<void> {
  const [a, b] = await Promise.all([stat(input), stat(output).catch(() => null)]);
  if (resolve(input) === resolve(output) || (b && a.ino === b.ino && a.dev === b.dev)) {
    throw new VeilError('BAD_REQUEST', `Refusing to overwrite the original ${input}; choose another output.`);
  }
}

/** A few indented lines a person can read at a glance. */
export function summarise(report: SanitiseReport): string {
  const lines: string[] = [];
  if (report.removed.length > 0) {
    lines.push(`     removed: ${report.removed.map((f) => (f.detail && f.kind === 'gps' ? `${f.label} ${f.detail}` : f.label)).join('; ')}`);
  } else lines.push('     no metadata found');
  for (const change of report.changes) lines.push(`     ${change}`);
  if (report.faces) {
    const f = report.faces;
    const small = f.faces.filter((d) => d.action === 'too-small').length;
    lines.push(`     faces: ${f.summary ?? `${f.identifiable} found, ${f.redacted} redacted.`}`);
    lines.push(`     redaction: ${f.redaction}${small > 0 ? `; ${small} left as ${small === 1 ? 'it is' : 'they are'} (smaller than ${f.minFacePx} px once published)` : ''}`);
  }
  return lines.join('\n');
}
