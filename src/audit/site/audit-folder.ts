import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { VeilError } from '../../pipeline/errors.js';
import { formatBytes } from '../../pipeline/format-bytes.js';
import { summarise } from './crawl-site.js';
import { examineImage, type ExamineOptions } from './examine-image.js';
import type { Progress } from './progress.js';
import type { AuditedImage, AuditResult } from './types.js';
import { originalNames } from './wp-sizes.js';

export const IMAGE_FILE = /\.(jpe?g|png|gif|webp|avif|heic|heif|tiff?)$/i;
const MAX_DEPTH = 32;

export interface FolderImage {
  /** Relative to the audited folder, with "/" separators. */
  relative: string;
  absolute: string;
  size: number;
  mtime: Date;
}

/**
 * Every picture file under `root`, by name (the bytes are sniffed when examined). Symbolic links
 * are not followed, so an audit or a fix never leaves the folder it was given.
 */
export async function listFolderImages(root: string, maxImages: number): Promise<{ files: FolderImage[]; notes: string[] }> {
  const info = await lstat(root).catch(() => null);
  if (!info) throw new VeilError('NOT_FOUND', `No such folder: ${root}`);
  if (!info.isDirectory()) throw new VeilError('BAD_REQUEST', `${root} is not a folder.`);
  const files: FolderImage[] = [];
  const notes: string[] = [];
  let symlinks = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) {
      notes.push(`Folders nested deeper than ${MAX_DEPTH} were not read.`);
      return;
    }
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (files.length >= maxImages) return;
      const absolute = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) symlinks += 1;
      else if (entry.isDirectory()) await walk(absolute, depth + 1);
      else if (entry.isFile() && IMAGE_FILE.test(entry.name) && !entry.name.startsWith('.')) {
        const stat = await lstat(absolute);
        files.push({ relative: path.relative(root, absolute).split(path.sep).join('/'), absolute, size: stat.size, mtime: stat.mtime });
      }
    }
  };
  await walk(root, 0);
  if (files.length >= maxImages) notes.push(`Stopped after ${maxImages} pictures (--max-images).`);
  if (symlinks > 0) notes.push(`${symlinks} symbolic link(s) were not followed.`);
  return { files, notes };
}

/** Audits every picture file in a folder (for example wp-content/uploads), one at a time. */
export async function auditFolder(root: string, options: { examine: ExamineOptions; maxImages: number; progress: Progress }): Promise<AuditResult> {
  const startedAt = new Date().toISOString();
  const { files, notes } = await listFolderImages(root, options.maxImages);
  const known = new Set(files.map((f) => f.relative));
  const images: AuditedImage[] = [];
  for (const [index, file] of files.entries()) {
    options.progress.update('images', index, files.length);
    images.push(await auditFile(file, known, options.examine));
  }
  options.progress.done();
  return { images, notes, summary: summarise(root, 'folder', startedAt, images, { pages: 0, skippedByRobots: 0, offSite: 0, maxEdge: options.examine.maxEdge }) };
}

export async function auditFile(file: FolderImage, known: Set<string>, options: ExamineOptions): Promise<AuditedImage> {
  const folder = file.relative.includes('/') ? file.relative.slice(0, file.relative.lastIndexOf('/') + 1) : '';
  const sizeOf = originalNames(file.relative.slice(folder.length)).map((n) => folder + n).find((n) => known.has(n));
  const row: AuditedImage = { location: file.relative, pages: [], sizeOf, bytes: file.size, modified: file.mtime.toISOString(), reasons: [] };
  if (file.size > options.limits.maxBytes) {
    return { ...row, error: { code: 'FILE_TOO_LARGE', message: `The file is ${formatBytes(file.size)}; the largest checked is ${formatBytes(options.limits.maxBytes)}.` }, reasons: ['unchecked'] };
  }
  const bytes = await readFile(file.absolute);
  return { ...row, bytes: bytes.length, ...(await examineImage(bytes, file.relative, options)) };
}
