/**
 * The report and the result of a ZIP-based container, in counts and plain words: never a name,
 * a path inside the archive or a metadata value.
 */
import { randomBytes } from 'node:crypto';
import type { SanitiseOptions } from '../sanitise.js';
import type { PictureTally } from './package-parts.js';
import type { DocumentKind, DocumentOptions, DocumentReport, DocumentResult } from './types.js';

export interface PackageOutcome {
  kind: DocumentKind;
  typeName: string;
  extension: string;
  contentType: string;
  inputBytes: number;
  tally: PictureTally;
  /** Document-level kinds removed ("author name"), in the order found. */
  removed: string[];
  changes: string[];
  started: number;
  options: DocumentOptions;
  /** Builds the output; not called when the container is held. */
  write: () => Buffer;
}

const REDACTED_WORD = { blur: 'blurred', pixelate: 'pixelated', solid: 'covered' } as const;

export function packageResult(outcome: PackageOutcome): DocumentResult {
  const { tally, options } = outcome;
  const pictureRemoved = [...tally.removed];
  const report: DocumentReport = {
    kind: outcome.kind,
    typeName: outcome.typeName,
    input: { bytes: outcome.inputBytes, filename: options.sanitise.originalName },
    pictures: {
      found: tally.found,
      sanitised: tally.sanitised,
      downscaled: tally.downscaled,
      facesFound: tally.facesFound,
      facesRedacted: tally.facesRedacted,
    },
    removed: [...outcome.removed, ...pictureRemoved.map((label) => `from pictures: ${label}`)],
    changes: outcome.changes,
    summary: '',
    timings: { totalMs: 0 },
  };
  if (tally.nested.length > 0) report.nested = tally.nested;
  const redactedWord = REDACTED_WORD[options.sanitise.faces?.redaction ?? 'blur'];
  const pictures = plural(tally.found, 'picture');

  if (tally.held) {
    const reasons = [...tally.heldReasons];
    report.held = { reasons };
    const waiting = tally.previews.length;
    report.summary = `Held for review: ${pictures} inside, ${waiting === 1 ? '1 needs' : `${waiting} need`} a person to decide (${reasons.join('; ')}).`;
    report.timings.totalMs = Math.round(performance.now() - outcome.started);
    return { outcome: 'held', reasons, report, previews: tally.previews };
  }

  const bytes = outcome.write();
  const filename = documentFilename(outcome.extension, options.sanitise);
  report.output = { filename, contentType: outcome.contentType, bytes: bytes.length };
  const done: string[] = [];
  if (tally.facesRedacted > 0) done.push(`${plural(tally.facesRedacted, 'face')} ${redactedWord}`);
  if (tally.downscaled > 0) done.push(`${tally.downscaled} downscaled`);
  if (tally.found > 0 && done.length === 0) done.push('metadata removed');
  const removedWords = [...outcome.removed];
  if (pictureRemoved.length > 0) removedWords.push('photo metadata');
  const head = tally.found > 0 ? `${pictures} inside: ${done.join(', ')}` : 'No pictures inside';
  report.summary = `${head}${removedWords.length > 0 ? `; ${removedWords.join(', ')} removed` : ''}.`;
  report.timings.totalMs = Math.round(performance.now() - outcome.started);
  return { outcome: 'sanitised', bytes, filename, contentType: outcome.contentType, report };
}

/** `document-20261204-3f9a2c.docx`, or the uploader's name reduced to safe characters when names are kept. */
export function documentFilename(extension: string, options: SanitiseOptions): string {
  const original = options.originalName;
  if (options.keepFilename && original) {
    const stem = (original.split(/[\\/]/).pop() ?? '')
      .replace(/\.[^.]*$/, '')
      .normalize('NFKD')
      .replace(/[^\w.-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 80);
    if (stem) return `${stem}.${extension}`;
  }
  const day = (options.now ?? new Date()).toISOString().slice(0, 10).replace(/-/g, '');
  return `document-${day}-${randomBytes(3).toString('hex')}.${extension}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
