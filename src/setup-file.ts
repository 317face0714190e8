import { chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/*
 * `veil setup` writes the first admin, the session secret and the API token to one file under
 * DATA_DIR, and `veil start` reads it. Environment variables always win over the file, so a
 * deployment that sets them (systemd, docker) is never overridden by a forgotten file.
 *
 * The format is KEY='value' lines: what systemd's EnvironmentFile= and a shell's `.` both read.
 * Veil parses it itself (no shell expansion), so a `$` in a password hash is just a character.
 */

export const SETUP_FILE_NAME = 'settings.env';
/** Only these keys are read from the file: it is for secrets `veil setup` made, not a second config system. */
export const SETUP_KEYS = ['VEIL_ADMIN_USERS', 'VEIL_SESSION_SECRET', 'VEIL_ADMIN_TOKEN'] as const;
export type SetupKey = (typeof SETUP_KEYS)[number];
export type SetupValues = Partial<Record<SetupKey, string>>;

export class SetupFileError extends Error {}

/** DATA_DIR as `veil start` resolves it: the variable, else ./.veil-data, relative to cwd. */
export function setupFilePath(env: Record<string, string | undefined>, cwd: string, defaultDataDir = './.veil-data'): string {
  const dataDir = env.DATA_DIR?.trim() || defaultDataDir;
  return path.resolve(cwd, dataDir, SETUP_FILE_NAME);
}

/** The file's values, or null when there is none. Refuses a file others can read: it holds secrets. */
export function readSetupFile(file: string): SetupValues | null {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new SetupFileError(`${file} can be read by other users (mode ${mode.toString(8)}); it holds secrets: run  chmod 600 ${file}`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseSetupFile(text, file);
}

export function parseSetupFile(text: string, file = SETUP_FILE_NAME): SetupValues {
  const values: SetupValues = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const lineText = raw.trim();
    if (lineText === '' || lineText.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(lineText);
    if (!match) throw new SetupFileError(`${file} line ${index + 1}: expected NAME='value'`);
    const [, key, rawValue] = match as unknown as [string, string, string];
    if (!(SETUP_KEYS as readonly string[]).includes(key)) {
      throw new SetupFileError(`${file} line ${index + 1}: ${key} does not belong here (only ${SETUP_KEYS.join(', ')}); set it in the environment instead`);
    }
    values[key as SetupKey] = unquote(rawValue);
  });
  return values;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"')))) return v.slice(1, -1);
  return v;
}

/** Writes the file with mode 0600 (the folder 0700), atomically: a crash never leaves half a file. */
export function writeSetupFile(file: string, values: SetupValues): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const lines = [
    '# Written by `veil setup`; read by `veil start`, `veil proxy` and `veil worker`.',
    '# Secrets: keep this file private (mode 600) and out of version control.',
    '# Environment variables with the same names take precedence over these lines.',
  ];
  for (const key of SETUP_KEYS) {
    const value = values[key];
    if (value === undefined) continue;
    if (/['\r\n]/.test(value)) throw new SetupFileError(`${key} cannot contain quotes or line breaks`);
    lines.push(`${key}='${value}'`);
  }
  const temp = `${file}.${randomBytes(4).toString('hex')}.partial`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(temp, 0o600); // whatever the umask said
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** The environment with the setup file's values filled in where the environment has none. */
export function mergeSetupValues(env: Record<string, string | undefined>, values: SetupValues | null): Record<string, string | undefined> {
  if (!values) return env;
  const merged = { ...env };
  for (const key of SETUP_KEYS) {
    if ((merged[key]?.trim() ?? '') === '' && values[key] !== undefined) merged[key] = values[key];
  }
  return merged;
}
