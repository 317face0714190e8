/**
 * Plain ZIP archives (a folder of photos, a Moodle course package): every picture through the
 * photo step, documents inside back through the dispatcher (up to MAX_NESTING_DEPTH), then
 * repacked without the original's times, permissions or extra fields. A ZIP that is really an
 * Office or OpenDocument file is handed to that sanitiser, so any ZIP can be sent here.
 */
import type { OutputFormat } from '../types.js';
import { sanitiseOffice } from './office.js';
import { checkDepth, PictureTally, renamedForFormat } from './package-parts.js';
import { packageResult, plural } from './package-report.js';
import { readParts, walkParts, type PackagePart } from './package-walk.js';
import type { DocumentOptions, DocumentResult } from './types.js';
import { readZip, writeZip } from './zip-archive.js';

export async function sanitiseZip(bytes: Uint8Array, options: DocumentOptions): Promise<DocumentResult> {
  const started = performance.now();
  checkDepth(options, 'this archive');
  // Names alone tell a package from a plain archive; nothing is unpacked twice.
  const names = readZip(bytes).map((e) => e.name);
  if (names.includes('[Content_Types].xml') || names.includes('mimetype')) return sanitiseOffice(bytes, options);

  const parts = readParts(bytes);
  const tally = new PictureTally();
  const keepNames = options.sanitise.keepFilename === true;
  const taken = new Set(parts.map((p) => p.name.toLowerCase()));
  const nameFor = (part: PackagePart, produced: { filename: string; format?: OutputFormat }) => {
    const folder = part.name.slice(0, part.name.lastIndexOf('/') + 1);
    // File names inside an archive name pupils as often as upload names do: the same rule applies.
    if (!keepNames) return folder + produced.filename;
    return produced.format ? renamedForFormat(part.name, produced.format, (c) => taken.has(c.toLowerCase())) : part.name;
  };
  const renames = await walkParts(parts, options, tally, { where: 'this archive', nameFor });
  const changes: string[] = [];
  if (tally.nested.length > 0) changes.push(`${plural(tally.nested.length, 'document')} inside sanitised`);
  if (renames.size > 0 && !keepNames) changes.push(`${plural(renames.size, 'file')} inside renamed (names can identify pupils)`);

  return packageResult({
    kind: 'zip',
    typeName: 'ZIP archive',
    extension: 'zip',
    contentType: 'application/zip',
    inputBytes: bytes.length,
    tally,
    removed: [],
    changes,
    started,
    options,
    write: () => writeZip(parts.map((p) => ({ name: p.name, data: p.data, compress: p.compress }))),
  });
}
