import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { isVeilError, toVeilError, VeilError } from '../pipeline/errors.js';

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const processIO: CommandIO = { stdout: process.stdout, stderr: process.stderr };

/** Exit statuses every command shares. */
export const EXIT = { ok: 0, failed: 1, usage: 2, held: 3, needsAction: 4 } as const;

export class UsageError extends Error {}

export function line(stream: NodeJS.WritableStream, text: string): void {
  stream.write(`${text}\n`);
}

/**
 * Writes next to the destination and renames into place: a reader (or a crash) never sees half
 * a file, and a failed sanitise leaves nothing behind.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Reading a file the user named: "not found" is their error, so say it plainly. */
export function fileError(file: string, err: unknown): VeilError {
  if (isVeilError(err)) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new VeilError('NOT_FOUND', `No such file: ${file}`);
  if (code === 'EISDIR') return new VeilError('BAD_REQUEST', `${file} is a folder, not a file.`);
  if (code === 'EACCES') return new VeilError('BAD_REQUEST', `Permission denied reading ${file}.`);
  return toVeilError(err);
}

export function parseNumber(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** One failed input: a JSON line with --json, else a line on stderr. Returns the error. */
export function reportFailure(io: CommandIO, json: boolean, file: string, err: unknown): VeilError {
  const error = fileError(file, err);
  if (json) line(io.stdout, JSON.stringify({ file, ok: false, error: error.toJSON() }));
  else line(io.stderr, `FAIL ${file}: ${error.code}: ${error.message}`);
  return error;
}
