import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { frameOf, decodeForPublishing } from '../pipeline/decode.js';
import { DEFAULT_FACE_MIN_PX, DEFAULT_MIN_SCORE, detectFaces } from '../pipeline/faces.js';
import { DEFAULT_LIMITS } from '../pipeline/limits.js';
import { DEFAULT_MAX_EDGE, examine } from '../pipeline/sanitise.js';
import { EXIT, line, reportFailure, UsageError, type CommandIO } from './io.js';

export const INSPECT_USAGE = `Usage: veil inspect FILE... [--json] [--no-faces]

Shows what each photo gives away as it is: the metadata Veil would remove (GPS position,
camera and serial number, dates, names, comments, hidden data) and the identifiable faces it
would redact at the published size. Nothing is written.`;

export async function inspectCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, 'no-faces': { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) throw new UsageError('name at least one file to inspect');
  let failed = 0;
  for (const file of positionals) {
    try {
      const bytes = await readFile(file);
      const limits = { ...DEFAULT_LIMITS, maxBytes: Math.max(DEFAULT_LIMITS.maxBytes, bytes.length) };
      const { header, removed } = await examine(bytes, limits);
      let faces: number | undefined;
      if (!values['no-faces']) {
        // Counted at the published size, as the proxy would judge them.
        const image = await decodeForPublishing(bytes, header, DEFAULT_MAX_EDGE, limits);
        const found = await detectFaces(frameOf(image, 0), { minFaceHeight: DEFAULT_FACE_MIN_PX, minScore: DEFAULT_MIN_SCORE });
        faces = found.length;
      }
      const summary = {
        file,
        ok: true,
        format: header.format,
        width: header.width,
        height: header.height,
        bytes: bytes.length,
        frames: header.frames,
        orientation: header.orientation,
        findings: removed,
        ...(faces === undefined ? {} : { identifiableFaces: faces }),
      };
      if (values.json) line(io.stdout, JSON.stringify(summary));
      else {
        line(io.stdout, `${file}: ${header.format.toUpperCase()} ${header.width}×${header.height}${header.frames > 1 ? `, ${header.frames} frames` : ''}`);
        if (removed.length === 0) line(io.stdout, '  no metadata found');
        for (const f of removed) line(io.stdout, `  ${f.label}${f.detail ? `: ${f.detail}` : ''}`);
        if (faces !== undefined) line(io.stdout, `  Identifiable faces at ${DEFAULT_MAX_EDGE} px: ${faces}`);
      }
    } catch (err) {
      failed += 1;
      reportFailure(io, Boolean(values.json), file, err);
    }
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}
