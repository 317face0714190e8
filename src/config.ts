import { statSync } from 'node:fs';
import path from 'node:path';
import type { FacePolicy, RedactionMode } from './pipeline/types.js';
import type { S3Encryption } from './storage/s3.js';
import { mergeSetupValues, readSetupFile, setupFilePath, SetupFileError } from './setup-file.js';

/*
 * Every setting Veil reads is one row of SETTINGS below: name, default, parser, description. The
 * loader, the error messages and the README table (scripts/settings-table.ts) all come from it, so
 * they cannot drift apart.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type AdminRole = 'reviewer' | 'admin';

export interface AdminUser {
  readonly name: string;
  readonly role: AdminRole;
  /** `scrypt$…` or `$argon2…`; only the shape is checked here. */
  readonly hash: string;
}

export interface S3Config {
  /** null → AWS itself, chosen by region. */
  readonly endpoint: string | null;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string | null;
  readonly secretAccessKey: string | null;
  readonly forcePathStyle: boolean;
  readonly encryption: S3Encryption | null;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  /** null → Veil serves its built-in demo site instead of a CMS. */
  readonly upstreamUrl: string | null;
  readonly publicUrl: string | null;
  readonly redis: { readonly url: string; readonly prefix: string };
  readonly dataDir: string;
  /** The local folder store's root (used when s3 is null). */
  readonly storageDir: string;
  /** null → the local folder store. */
  readonly s3: S3Config | null;
  readonly faces: {
    readonly policy: FacePolicy;
    readonly minPx: number;
    /** null → the built-in model. */
    readonly model: string | null;
    readonly redaction: RedactionMode;
    readonly padding: number;
    /** null → the detector's own operating threshold. */
    readonly minScore: number | null;
    /** Detections scored in [low, high] are held for review as uncertain. */
    readonly reviewBand: readonly [number, number] | null;
    readonly uncertainScore: number;
  };
  readonly limits: {
    readonly maxEdge: number;
    readonly maxUploadBytes: number;
    readonly maxBodyBytes: number;
    readonly maxPixels: number;
    readonly maxFrames: number;
    readonly uploadTimeoutMs: number;
  };
  readonly workerConcurrency: number;
  readonly keepFilenames: boolean;
  readonly originalsRetentionDays: number;
  /** Days Veil keeps its own copy of each sanitised photo; null: kept. */
  readonly sanitisedRetentionDays: number | null;
  readonly reviewExpiryDays: number;
  readonly admin: {
    readonly users: readonly AdminUser[];
    readonly token: string | null;
    readonly sessionSecret: string | null;
    /** True when VEIL_SESSION_SECRET is unset: the server should warn and generate one. */
    readonly sessionSecretMissing: boolean;
  };
  readonly alwaysReviewPaths: readonly string[];
  readonly ingestSecret: string | null;
  readonly logLevel: LogLevel;
  readonly trustProxy: boolean;
  /** null → Veil does not publish approved photos itself. */
  readonly wordpress: { readonly url: string; readonly user: string; readonly appPassword: string } | null;
}

/** Thrown by loadConfig; `problems` holds one line per bad setting, and so does the message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Veil's settings have ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.join('\n')}`);
  }
}

export interface SettingRow {
  name: string;
  /** The default in the form the variable takes ('' when there is none). */
  default: string;
  /** What happens when the variable is unset, when that is not a literal default ('demo site'). */
  whenUnset: string;
  description: string;
  secret: boolean;
}

/** The settings table, for the README and `veil --help`. */
export function describeSettings(): SettingRow[] {
  return Object.entries(SETTINGS).map(([name, setting]) => ({
    name,
    default: setting.default ?? '',
    whenUnset: setting.whenUnset,
    description: setting.description,
    secret: setting.secret,
  }));
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: { cwd?: string } = {},
): Config {
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const isSet = (name: SettingName): boolean => (env[name]?.trim() ?? '') !== '';
  const values: Partial<Record<SettingName, unknown>> = {};

  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const setting: Setting<unknown> = SETTINGS[name];
    const raw = env[name]?.trim() ?? '';
    const given = raw !== '';
    try {
      values[name] = given ? setting.parse(raw, cwd) : setting.default === undefined ? undefined : setting.parse(setting.default, cwd);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      for (const problem of err.problems) {
        const shown = problem.shown ?? `=${showValue(raw, setting.secret)}`;
        problems.push(`${name}${shown}: ${problem.expected}`);
      }
    }
  }

  problems.push(...crossCheck(env, isSet));
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(assemble(values as Values, cwd));
}

/**
 * The environment `veil start` works from: the variables, plus the admin user and secrets that
 * `veil setup` wrote to DATA_DIR/settings.env where a variable does not already set them.
 */
export function withSetupFile(
  env: Record<string, string | undefined> = process.env,
  options: { cwd?: string } = {},
): { env: Record<string, string | undefined>; file: string; found: boolean } {
  const file = setupFilePath(env, options.cwd ?? process.cwd(), SETTINGS.DATA_DIR.default);
  try {
    const values = readSetupFile(file);
    return { env: mergeSetupValues(env, values), file, found: values !== null };
  } catch (err) {
    if (err instanceof SetupFileError) throw new ConfigError([err.message]);
    throw new ConfigError([`${file} could not be read: ${(err as Error).message}`]);
  }
}

function crossCheck(env: Record<string, string | undefined>, isSet: (name: SettingName) => boolean): string[] {
  const problems: string[] = [];
  // Settings that only make sense with a bucket. Region and path style have harmless defaults.
  const s3Others: SettingName[] = ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_SSE'];
  const strayS3 = s3Others.filter((name) => isSet(name) && !(name === 'S3_SSE' && env.S3_SSE?.trim().toLowerCase() === 'none'));
  if (!isSet('S3_BUCKET') && strayS3.length > 0) {
    problems.push(
      `S3_BUCKET is missing: ${listNames(strayS3)} ${strayS3.length === 1 ? 'is' : 'are'} set, so Veil needs the bucket name too (or unset ${strayS3.length === 1 ? 'it' : 'them'} to use the local folder store)`,
    );
  }
  const keys: SettingName[] = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
  const keysSet = keys.filter(isSet);
  if (keysSet.length === 1) {
    const missing = keys.find((name) => !isSet(name));
    problems.push(`${missing} is missing: ${keysSet[0]} is set; set both S3 keys, or neither to use the SDK's usual credentials`);
  }
  const wordpress: SettingName[] = ['WORDPRESS_URL', 'WORDPRESS_USER', 'WORDPRESS_APP_PASSWORD'];
  const wordpressSet = wordpress.filter(isSet);
  if (wordpressSet.length > 0 && wordpressSet.length < wordpress.length) {
    const missing = wordpress.filter((name) => !isSet(name));
    problems.push(
      `${listNames(missing)} ${missing.length === 1 ? 'is' : 'are'} missing: ${listNames(wordpressSet)} ${wordpressSet.length === 1 ? 'is' : 'are'} set; Veil needs all three to publish approved photos to WordPress (or none)`,
    );
  }
  return problems;
}

function assemble(v: Values, cwd: string): Config {
  const dataDir = v.DATA_DIR;
  return {
    port: v.PORT,
    host: v.HOST,
    upstreamUrl: v.UPSTREAM_URL ?? null,
    publicUrl: v.PUBLIC_URL ?? null,
    redis: { url: v.REDIS_URL, prefix: v.REDIS_PREFIX },
    dataDir,
    storageDir: v.STORAGE_DIR ?? path.resolve(cwd, dataDir, 'store'),
    s3: v.S3_BUCKET
      ? {
          endpoint: v.S3_ENDPOINT ?? null,
          bucket: v.S3_BUCKET,
          region: v.S3_REGION,
          accessKeyId: v.S3_ACCESS_KEY_ID ?? null,
          secretAccessKey: v.S3_SECRET_ACCESS_KEY ?? null,
          forcePathStyle: v.S3_FORCE_PATH_STYLE,
          encryption: v.S3_SSE === 'none' ? null : v.S3_SSE,
        }
      : null,
    faces: {
      policy: v.FACE_POLICY,
      minPx: v.FACE_MIN_PX,
      model: v.FACE_MODEL ?? null,
      redaction: v.FACE_REDACTION,
      padding: v.FACE_PADDING,
      minScore: v.FACE_MIN_SCORE ?? null,
      reviewBand: v.FACE_REVIEW_BAND ?? null,
      uncertainScore: v.FACE_UNCERTAIN_SCORE,
    },
    limits: {
      maxEdge: v.MAX_EDGE,
      maxUploadBytes: v.MAX_UPLOAD_BYTES,
      maxBodyBytes: v.MAX_BODY_BYTES,
      maxPixels: v.MAX_PIXELS,
      maxFrames: v.MAX_FRAMES,
      uploadTimeoutMs: v.UPLOAD_TIMEOUT_MS,
    },
    workerConcurrency: v.WORKER_CONCURRENCY,
    keepFilenames: v.KEEP_FILENAMES,
    originalsRetentionDays: v.ORIGINALS_RETENTION_DAYS,
    sanitisedRetentionDays: v.SANITISED_RETENTION_DAYS ?? null,
    reviewExpiryDays: v.REVIEW_EXPIRY_DAYS,
    admin: {
      users: v.VEIL_ADMIN_USERS,
      token: v.VEIL_ADMIN_TOKEN ?? null,
      sessionSecret: v.VEIL_SESSION_SECRET ?? null,
      sessionSecretMissing: v.VEIL_SESSION_SECRET === undefined,
    },
    alwaysReviewPaths: v.ALWAYS_REVIEW_PATHS,
    ingestSecret: v.INGEST_SECRET ?? null,
    logLevel: v.LOG_LEVEL,
    trustProxy: v.TRUST_PROXY,
    wordpress:
      v.WORDPRESS_URL && v.WORDPRESS_USER && v.WORDPRESS_APP_PASSWORD
        ? { url: v.WORDPRESS_URL, user: v.WORDPRESS_USER, appPassword: v.WORDPRESS_APP_PASSWORD }
        : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Parsers. Each throws Invalid with what it accepts; the loader adds the name and the bad value.

class Invalid extends Error {
  /** `shown` replaces `="value"` when a line should point at part of a value (or hide it). */
  constructor(readonly problems: Array<{ expected: string; shown?: string }>) {
    super(problems.map((p) => p.expected).join('; '));
  }
  static expected(expected: string): Invalid {
    return new Invalid([{ expected }]);
  }
}

type Parser<T> = (raw: string, cwd: string) => T;

interface Setting<T> {
  /** In the same form as the environment value, parsed by the same parser. */
  default: string | undefined;
  whenUnset: string;
  parse: Parser<T>;
  description: string;
  secret: boolean;
}

function withDefault<T>(
  defaultValue: string,
  parse: Parser<T>,
  description: string,
  whenUnset = '',
): Setting<T> {
  return { default: defaultValue, whenUnset, parse, description, secret: false };
}

function optional<T>(
  parse: Parser<T>,
  description: string,
  extra: { secret?: boolean; whenUnset?: string } = {},
): Setting<T | undefined> {
  return { default: undefined, whenUnset: extra.whenUnset ?? '', parse, description, secret: extra.secret ?? false };
}

function wholeNumber(min: number, max: number, unit: string): Parser<number> {
  const expected = `expected a whole number${unit ? ` ${unit}` : ''} between ${min} and ${max}`;
  return (raw) => {
    if (!/^\d+$/.test(raw)) throw Invalid.expected(expected);
    const n = Number(raw);
    if (n < min || n > max) throw Invalid.expected(expected);
    return n;
  };
}

function decimal(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = parseDecimal(raw);
    if (n === null || n < min || n > max) throw Invalid.expected(`expected a number between ${min} and ${max}`);
    return n;
  };
}

function parseDecimal(raw: string): number | null {
  return /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(raw) ? Number(raw) : null;
}

function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    const choice = choices.find((c) => c.toLowerCase() === raw.toLowerCase());
    if (choice === undefined) throw Invalid.expected(`expected one of ${choices.join(', ')}`);
    return choice;
  };
}

const boolean: Parser<boolean> = (raw) => {
  const word = raw.toLowerCase();
  if (['true', '1', 'yes'].includes(word)) return true;
  if (['false', '0', 'no'].includes(word)) return false;
  throw Invalid.expected('expected true or false (1/0 and yes/no also work)');
};

function url(protocols: readonly string[], noun: string): Parser<string> {
  const expected = `expected ${noun} starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw Invalid.expected(expected);
    }
    if (!protocols.includes(parsed.protocol) || parsed.hostname === '') throw Invalid.expected(expected);
    return parsed.href;
  };
}

const httpUrl = url(['http:', 'https:'], 'a URL');

const folderPath: Parser<string> = (raw, cwd) => {
  if (raw.includes('\0')) throw Invalid.expected('expected a folder path');
  return path.resolve(cwd, raw);
};

const existingFile: Parser<string> = (raw, cwd) => {
  const file = path.resolve(cwd, raw);
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw Invalid.expected(`expected the path of an ONNX model file; nothing is at ${file}`);
  }
  if (!isFile) throw Invalid.expected(`expected the path of an ONNX model file; ${file} is not a file`);
  return file;
};

function pattern(regex: RegExp, expected: string): Parser<string> {
  return (raw) => {
    if (!regex.test(raw)) throw Invalid.expected(expected);
    return raw;
  };
}

function secret(minLength: number): Parser<string> {
  return (raw) => {
    if (raw.length < minLength || /\s/.test(raw)) {
      throw Invalid.expected(`expected at least ${minLength} characters without spaces (a long random string)`);
    }
    return raw;
  };
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `52428800`, `50M`, `50MB`, `50MiB` all mean 50 × 1024 × 1024: upload limits are not disk marketing. */
function byteSize(min: number, max: number): Parser<number> {
  const expected = `expected a size between ${formatBytes(min)} and ${formatBytes(max)}, such as 52428800, 50MB, 50MiB or 50M (K, M, G are powers of 1024)`;
  return (raw) => {
    const match = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?$/i.exec(raw);
    if (!match) throw Invalid.expected(expected);
    const [, amount = '', unit = ''] = match;
    if (unit === '' && amount.includes('.')) throw Invalid.expected(expected);
    const bytes = Math.floor(Number(amount) * (BYTE_UNITS[unit.toLowerCase()] ?? 1));
    if (bytes < min || bytes > max) throw Invalid.expected(expected);
    return bytes;
  };
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes} bytes`;
}

function pixelCount(min: number, max: number): Parser<number> {
  const expected = `expected a number of pixels between ${min} and ${max / 1e6}MP, such as 50000000 or 50MP`;
  return (raw) => {
    const match = /^(\d+(?:\.\d+)?)\s*(mp)?$/i.exec(raw);
    if (!match || (!match[2] && match[1]?.includes('.'))) throw Invalid.expected(expected);
    const pixels = Math.floor(Number(match[1]) * (match[2] ? 1e6 : 1));
    if (pixels < min || pixels > max) throw Invalid.expected(expected);
    return pixels;
  };
}

const scoreBand: Parser<readonly [number, number]> = (raw) => {
  const parts = raw.split(',').map((part) => parseDecimal(part.trim()));
  const [low, high] = parts;
  if (parts.length !== 2 || low == null || high == null || low > 1 || high > 1 || low >= high) {
    throw Invalid.expected('expected two scores "low,high" between 0 and 1 with low below high, such as 0.3,0.6');
  }
  return [low, high] as const;
};

const pathPrefixes: Parser<readonly string[]> = (raw) => {
  const prefixes = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (prefixes.some((prefix) => !/^\/[^\s?#]*$/.test(prefix))) {
    throw Invalid.expected('expected URL paths starting with "/" separated by commas, such as /wp-admin/,/safeguarding/');
  }
  return prefixes;
};

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const PASSWORD_HASH = /^(?:scrypt\$|\$argon2(?:id|i|d)\$)\S{16,}$/;

/**
 * Entries are `name:role:hash`, separated by newlines or commas. Argon2 hashes contain commas
 * (`m=65536,t=3,p=4`), so a comma only separates entries when a `name:` follows it.
 */
const adminUsers: Parser<readonly AdminUser[]> = (raw) => {
  const entries = raw
    .split(/\r?\n|,(?=[^,:$\s]*:)/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const users: AdminUser[] = [];
  const problems: Array<{ expected: string; shown: string }> = [];
  entries.forEach((entry, index) => {
    const [name = '', role = '', ...rest] = entry.split(':');
    const hash = rest.join(':');
    // Never echo a hash: shape and position are enough to find the entry.
    const shown = ` entry ${index + 1} ("${name.slice(0, 64)}:${role.slice(0, 16)}:…")`;
    if (entry.split(':').length < 3) {
      // Could be a bare password pasted in: show only where it is.
      problems.push({ shown: ` entry ${index + 1}`, expected: 'expected name:role:hash' });
    } else if (!USER_NAME.test(name)) {
      problems.push({ shown, expected: 'expected a user name of letters, digits, ".", "_", "@" or "-" before the first ":"' });
    } else if (role !== 'reviewer' && role !== 'admin') {
      problems.push({ shown, expected: 'expected the role reviewer or admin between the first and second ":"' });
    } else if (!PASSWORD_HASH.test(hash)) {
      problems.push({ shown, expected: 'expected a password hash starting with scrypt$ or $argon2 after the second ":"' });
    } else if (users.some((user) => user.name === name)) {
      problems.push({ shown, expected: `expected each user name once; "${name}" appears earlier too` });
    } else {
      users.push({ name, role, hash });
    }
  });
  if (problems.length > 0) throw new Invalid(problems);
  return users;
};

/** Hides secrets and any user:password inside a URL, and keeps a hostile value to one short line. */
function showValue(raw: string, isSecret: boolean): string {
  if (isSecret) return `(${raw.length} characters, hidden)`;
  const withoutCredentials = raw.replace(/\/\/[^/@\s]*@/, '//…@');
  const short = withoutCredentials.length > 120 ? `${withoutCredentials.slice(0, 120)}…` : withoutCredentials;
  return JSON.stringify(short);
}

function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------

const SETTINGS = {
  PORT: withDefault('8080', wholeNumber(0, 65535, ''), 'TCP port Veil listens on (0 picks a free one).'),
  HOST: withDefault('0.0.0.0', pattern(/^[^\s/]+$/, 'expected a host name or IP address to listen on'), 'Address Veil listens on.'),
  UPSTREAM_URL: optional(httpUrl, 'The CMS Veil stands in front of (http or https URL). Unset: Veil serves its built-in demo site instead.', {
    whenUnset: 'demo site',
  }),
  PUBLIC_URL: optional(httpUrl, 'How users reach Veil, when it differs from the address it listens on (links in pages and messages).'),
  REDIS_URL: withDefault('redis://127.0.0.1:6379', url(['redis:', 'rediss:'], 'a Redis URL'), 'Redis for the job queue and review state.'),
  REDIS_PREFIX: withDefault(
    'veil',
    pattern(/^[A-Za-z0-9:._-]{1,64}$/, 'expected up to 64 letters, digits, ":", ".", "_" or "-"'),
    'Prefix of every Redis key Veil writes, so several Veils can share one Redis.',
  ),
  DATA_DIR: withDefault('./.veil-data', folderPath, "Folder for Veil's own files (a private Redis if Veil starts one, spool files)."),
  STORAGE_DIR: optional(folderPath, 'Root folder of the local object store, used when no S3 bucket is configured.', {
    whenUnset: 'DATA_DIR/store',
  }),
  S3_ENDPOINT: optional(httpUrl, 'S3-compatible endpoint (MinIO, R2, Ceph…). Leave unset for AWS itself.'),
  S3_BUCKET: optional(
    pattern(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected a bucket name of 3 to 63 lowercase letters, digits, "." or "-"'),
    'Bucket for originals, sanitised files, review items and audit records. Setting it switches from the local folder to S3.',
  ),
  S3_REGION: withDefault('us-east-1', pattern(/^[a-z0-9-]{1,32}$/, 'expected a region name such as us-east-1, eu-west-2 or auto'), 'S3 region (auto for Cloudflare R2).'),
  S3_ACCESS_KEY_ID: optional(pattern(/^\S+$/, 'expected an access key id without spaces'), 'S3 access key id (unset: the SDK\'s usual credential chain).'),
  S3_SECRET_ACCESS_KEY: optional(pattern(/^\S+$/, 'expected a secret key without spaces'), 'S3 secret access key.', { secret: true }),
  S3_FORCE_PATH_STYLE: withDefault('true', boolean, 'Address buckets as host/bucket rather than bucket.host (needed by MinIO and most non-AWS servers).'),
  S3_SSE: withDefault('none', oneOf(['none', 'AES256', 'aws:kms'] as const), 'Server-side encryption asked for on every object: none, AES256 or aws:kms.'),
  FACE_POLICY: withDefault('blur', oneOf(['blur', 'hold', 'allow'] as const), 'What happens to identifiable faces: blur them, hold the photo for review, or allow it.'),
  FACE_MIN_PX: withDefault(
    '16',
    wholeNumber(4, 200, 'of pixels'),
    'Faces smaller than this many pixels tall in the published image are not identifiable and are left as they are.',
  ),
  FACE_MODEL: optional(existingFile, 'Path to an ONNX face detection model of a supported family.', { whenUnset: 'built-in model' }),
  FACE_REDACTION: withDefault('blur', oneOf(['blur', 'pixelate', 'solid'] as const), 'How a face is made unrecognisable: blur, pixelate or solid.'),
  FACE_PADDING: withDefault('0.25', decimal(0, 1), 'Extra margin around each face box that is redacted too, as a fraction of the box size.'),
  FACE_MIN_SCORE: optional(decimal(0, 1), "Detection score (0..1) above which something counts as a face, overriding the model's own threshold.", {
    whenUnset: "the model's own",
  }),
  FACE_UNCERTAIN_SCORE: withDefault('0.3', decimal(0, 1), 'Detections scored from this up to the face threshold are possible faces: blurred too under blur, faces under hold.'),
  FACE_REVIEW_BAND: optional(scoreBand, 'Scores "low,high" (0..1): detections scored in this band are uncertain and the photo is held for review.'),
  MAX_EDGE: withDefault('1600', wholeNumber(64, 10000, 'of pixels'), 'Longest edge of a published image, in pixels; larger images are downscaled.'),
  MAX_UPLOAD_BYTES: withDefault('50MiB', byteSize(1024, 64 * 1024 ** 3), 'Largest image file accepted (52428800, 50MB, 50MiB and 50M all mean the same).'),
  MAX_BODY_BYTES: withDefault('2GiB', byteSize(1024, 1024 ** 4), 'Largest request body passed through to the CMS (non-image multipart uploads).'),
  MAX_PIXELS: withDefault('50000000', pixelCount(1, 1e9), 'Largest image accepted, in pixels (50000000 or 50MP); guards against decompression bombs.'),
  MAX_FRAMES: withDefault('500', wholeNumber(1, 100000, 'of frames'), 'Most frames accepted in an animated image.'),
  UPLOAD_TIMEOUT_MS: withDefault(
    '60000',
    wholeNumber(1, 86_400_000, 'of milliseconds'),
    'How long an upload may wait for its photo to be processed before it fails.',
  ),
  WORKER_CONCURRENCY: withDefault('1', wholeNumber(1, 64, 'of jobs'), 'Photos one worker process handles at once.'),
  KEEP_FILENAMES: withDefault('false', boolean, "Keep uploaded file names (they often carry pupils' names); by default they are replaced."),
  ORIGINALS_RETENTION_DAYS: withDefault('30', wholeNumber(0, 3650, 'of days'), 'Days the private originals are kept before they are deleted.'),
  SANITISED_RETENTION_DAYS: optional(
    wholeNumber(1, 36500, 'of days'),
    "Days Veil keeps its own copy of each sanitised photo and its report (sanitised/ in the store) before deleting them; the CMS keeps what it published.",
    { whenUnset: 'kept' },
  ),
  REVIEW_EXPIRY_DAYS: withDefault('14', wholeNumber(1, 365, 'of days'), 'Days a held photo waits for a decision before it expires.'),
  VEIL_ADMIN_USERS: withDefault<readonly AdminUser[]>(
    '',
    adminUsers,
    'Admin users as name:role:hash entries separated by commas or newlines; role reviewer or admin; hash from `veil hash-password` (scrypt$…).',
    'none',
  ),
  VEIL_ADMIN_TOKEN: optional(secret(24), 'Bearer token for the admin API (at least 24 characters).', { secret: true }),
  VEIL_SESSION_SECRET: optional(secret(32), 'Key that signs admin sessions (at least 32 characters). Unset: one is generated at start and sessions end on restart.', {
    secret: true,
    whenUnset: 'generated at start',
  }),
  ALWAYS_REVIEW_PATHS: withDefault<readonly string[]>(
    '',
    pathPrefixes,
    'Comma-separated URL path prefixes: uploads on these paths are always held for review.',
    'none',
  ),
  INGEST_SECRET: optional(secret(32), 'Shared HMAC secret for uploads sent by the Cloudflare edge (at least 32 characters).', { secret: true }),
  LOG_LEVEL: withDefault('info', oneOf(['debug', 'info', 'warn', 'error'] as const), 'Least important log level written: debug, info, warn or error.'),
  TRUST_PROXY: withDefault('false', boolean, 'Trust X-Forwarded-* headers from a load balancer in front of Veil.'),
  WORDPRESS_URL: optional(httpUrl, 'WordPress site Veil publishes approved photos to (with WORDPRESS_USER and WORDPRESS_APP_PASSWORD).'),
  WORDPRESS_USER: optional(pattern(/^.{1,200}$/, 'expected a WordPress user name'), 'WordPress user that publishes approved photos.'),
  WORDPRESS_APP_PASSWORD: optional(pattern(/^.{1,200}$/, 'expected a WordPress application password'), 'Application password of WORDPRESS_USER.', {
    secret: true,
  }),
} satisfies Record<string, Setting<unknown>>;

type SettingName = keyof typeof SETTINGS;
type Values = { [K in SettingName]: ReturnType<(typeof SETTINGS)[K]['parse']> };
