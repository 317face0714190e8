import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isVeilError, toVeilError } from '../../pipeline/errors.js';
import { faceOptions } from '../../pipeline/face-options.js';
import { sanitiseImage } from '../../pipeline/sanitise.js';
import { auditFile } from './audit-folder.js';
import type { ExamineOptions } from './examine-image.js';
import type { Progress } from './progress.js';
import type { AuditedImage, AuditResult, FixOutcome, Reason } from './types.js';

export interface FixOptions {
  root: string;
  examine: ExamineOptions;
  dryRun: boolean;
  /** Backups go to DATA_DIR/audit-backups/<run>/, private to Veil's user. */
  dataDir: string;
  backupDays: number;
  progress: Progress;
  now?: Date;
}

/** What a rewrite can put right; a person's name in the file name is not among them (renaming breaks links). */
const FIXABLE: Reason[] = ['gps', 'names-in-metadata', 'serial-number', 'faces', 'large'];

export const BACKUP_FOLDER = 'audit-backups';

/**
 * Rewrites each flagged picture in place through the pipeline (metadata removed, shrunk to
 * MAX_EDGE, faces redacted), under the same name and in the same format so every link to it
 * still works. WordPress's generated sizes of a flagged upload are rewritten too. The original is
 * kept first in a private backup that expires. Rows are updated with what was done.
 */
export async function fixFolder(result: AuditResult, options: FixOptions): Promise<{ backupDir: string | null }> {
  const now = options.now ?? new Date();
  const flaggedOriginals = new Set(result.images.filter((i) => i.reasons.some((r) => r === 'faces' || r === 'gps' || r === 'names-in-metadata')).map((i) => i.location));
  const todo = result.images.filter((i) => !i.error && (i.reasons.some((r) => FIXABLE.includes(r)) || (i.sizeOf && flaggedOriginals.has(i.sizeOf))));
  for (const row of result.images) {
    if (row.error) row.fix = { status: 'not-fixed', why: `could not be read (${row.error.code})` };
    else if (!todo.includes(row) && row.reasons.includes('person-name')) row.fix = { status: 'not-fixed', why: 'the file name looks like a person\'s name: rename it in the CMS (renaming it here would break the pages that link to it)' };
  }
  if (todo.length === 0) return { backupDir: null };

  let backupDir: string | null = null;
  if (!options.dryRun) {
    await purgeExpiredBackups(options.dataDir, now);
    backupDir = await makeBackupDir(options.dataDir, now, options.backupDays, options.root);
  }
  const known = new Set(result.images.map((i) => i.location));
  const face = faceOptions({ policy: 'blur' });
  for (const [index, row] of todo.entries()) {
    options.progress.update('fixing', index, todo.length);
    const file = path.join(options.root, ...row.location.split('/'));
    try {
      const bytes = await readFile(file);
      const out = await sanitiseImage(bytes, { maxEdge: options.examine.maxEdge, faces: face, limits: options.examine.limits });
      if (out.outcome === 'held') {
        row.fix = { status: 'not-fixed', why: `held: ${out.reasons.join('; ')}` };
        continue;
      }
      if (out.format !== row.format) {
        row.fix = { status: 'not-fixed', why: `it would have to change from ${String(row.format).toUpperCase()} to ${out.format.toUpperCase()}, which breaks its links; replace it by hand` };
        continue;
      }
      const changes = describeChanges(out.report);
      if (options.dryRun) {
        row.fix = { status: 'would-fix', changes };
        continue;
      }
      await backup(backupDir!, row.location, bytes);
      await replaceKeepingOwner(file, out.bytes);
      const info = await stat(file);
      const after = await auditFile({ relative: row.location, absolute: file, size: info.size, mtime: info.mtime }, known, options.examine);
      Object.assign(row, after, { reasonsBefore: row.reasons, fix: { status: 'fixed', changes } satisfies FixOutcome });
    } catch (err) {
      const error = isVeilError(err) ? err : toVeilError(err);
      row.fix = { status: 'not-fixed', why: `${error.code}: ${error.message}` };
    }
  }
  options.progress.done();
  result.summary.fixed = result.images.filter((i) => i.fix?.status === 'fixed').length;
  return { backupDir };
}

function describeChanges(report: Awaited<ReturnType<typeof sanitiseImage>>['report']): string[] {
  const changes: string[] = [];
  if (report.removed.length > 0) changes.push(`Removed: ${report.removed.map((f) => f.label).join('; ')}.`);
  changes.push(...report.changes);
  if (report.faces && report.faces.redacted > 0) changes.push(`Redacted ${report.faces.redacted} face(s).`);
  if (changes.length === 0) changes.push('Rewritten through the pipeline as a copy of a flagged upload (nothing else was found in this size).');
  return changes;
}

interface BackupManifest {
  createdAt: string;
  expiresAt: string;
  /** Where the originals came from, so a person can put one back. */
  root: string;
}

async function makeBackupDir(dataDir: string, now: Date, days: number, root: string): Promise<string> {
  const base = path.join(dataDir, BACKUP_FOLDER);
  await mkdir(base, { recursive: true, mode: 0o700 });
  await chmod(base, 0o700);
  const dir = path.join(base, `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  const manifest: BackupManifest = { createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + days * 86_400_000).toISOString(), root: path.resolve(root) };
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return dir;
}

async function backup(dir: string, relative: string, bytes: Buffer): Promise<void> {
  const target = path.join(dir, 'files', ...relative.split('/'));
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  await writeFile(target, bytes, { mode: 0o600, flag: 'wx' });
}

/** Deletes backup runs whose manifest says they have expired. Returns how many went. */
export async function purgeExpiredBackups(dataDir: string, now: Date): Promise<number> {
  const base = path.join(dataDir, BACKUP_FOLDER);
  const runs = await readdir(base).catch(() => [] as string[]);
  let removed = 0;
  for (const run of runs) {
    try {
      const manifest = JSON.parse(await readFile(path.join(base, run, 'manifest.json'), 'utf8')) as BackupManifest;
      if (Date.parse(manifest.expiresAt) <= now.getTime()) {
        await rm(path.join(base, run), { recursive: true, force: true });
        removed += 1;
      }
    } catch {
      // Not a backup run written by Veil: leave it alone.
    }
  }
  return removed;
}

/** Atomic replace that keeps the file's mode and owner, so the web server can still read it. */
async function replaceKeepingOwner(file: string, bytes: Buffer): Promise<void> {
  const info = await stat(file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.partial`);
  const handle = await open(temp, 'wx', info.mode & 0o777);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.chmod(info.mode & 0o777);
    if (process.getuid?.() === 0) await handle.chown(info.uid, info.gid);
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
