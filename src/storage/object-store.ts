import { VeilError } from '../pipeline/errors.js';

/**
 * The one storage interface the rest of Veil codes against. Implementations: a local folder
 * (`local.ts`, the embedded default) and S3 (`s3.ts`). "Not found" is `null`; any failure of the
 * backing system is `VeilError('STORAGE_UNAVAILABLE')` so callers fail closed.
 */
export interface ObjectStore {
  /** Writes the whole object; a reader sees either the old object or the new one, never half. */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>;
  get(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order, fetched page by page. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Resolves when the store can be used; else throws `VeilError('STORAGE_UNAVAILABLE')`. */
  check(): Promise<void>;
  /** Where the objects live, for logs. Never contains a secret. */
  describe(): string;
}

export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface StoredObject extends ObjectInfo {
  bytes: Uint8Array;
  contentType: string;
  metadata: Record<string, string>;
}

/** The key prefixes Veil uses. Originals are private and deleted after a short retention. */
export const KEY_PREFIXES = {
  originals: 'originals/',
  sanitised: 'sanitised/',
  review: 'review/',
  audit: 'audit/',
} as const;

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** S3 allows 1024 bytes; staying well under leaves room for a folder store's path on disk. */
export const MAX_KEY_LENGTH = 512;
const MAX_SEGMENT_LENGTH = 200;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * The one place keys are checked. Keys often carry ids taken from requests, so anything that could
 * climb out of the store (absolute paths, `..`, backslashes, NUL) or mean different things to a
 * file system and to S3 (empty segments, `.`) is refused.
 */
export function assertSafeKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new VeilError('BAD_REQUEST', `Refused storage key ${quoteKey(key)}: ${problem}`);
}

export function isSafeKey(key: string): boolean {
  return keyProblem(key) === null;
}

/**
 * A list prefix is a key whose last segment may be partial or empty (`originals/`, `originals/ab`),
 * or the empty string for everything.
 */
export function assertSafePrefix(prefix: string): void {
  const problem = prefixProblem(prefix);
  if (problem) throw new VeilError('BAD_REQUEST', `Refused storage prefix ${quoteKey(prefix)}: ${problem}`);
}

function prefixProblem(prefix: unknown): string | null {
  if (typeof prefix !== 'string') return 'a prefix must be a string';
  if (prefix === '') return null;
  if (prefix.startsWith('/')) return 'must be relative (no leading "/")';
  const cut = prefix.lastIndexOf('/');
  const whole = cut === -1 ? null : keyProblem(prefix.slice(0, cut));
  if (whole) return whole;
  const partial = prefix.slice(cut + 1);
  return partial === '' ? null : keyProblem(partial);
}

function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'a key must be a string';
  if (key.length === 0) return 'a key cannot be empty';
  if (key.length > MAX_KEY_LENGTH) return `longer than ${MAX_KEY_LENGTH} characters`;
  if (key.includes('\0')) return 'contains a NUL character';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'must be relative (no leading "/")';
  for (const segment of key.split('/')) {
    if (segment === '') return 'contains an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `contains a "${segment}" segment`;
    if (segment.length > MAX_SEGMENT_LENGTH) return `a segment is longer than ${MAX_SEGMENT_LENGTH} characters`;
    if (!SEGMENT.test(segment)) return 'only letters, digits, ".", "_", "-" and "/" are allowed';
  }
  return null;
}

/** Shows a hostile key safely in a message: bounded, control characters escaped. */
function quoteKey(key: unknown): string {
  const text = typeof key === 'string' ? key : String(key);
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(shown);
}

const METADATA_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** S3's limit for all user metadata of one object. */
export const MAX_METADATA_BYTES = 2048;
const CONTENT_TYPE = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

/**
 * Metadata names are lowercase because S3 lowercases them (they travel as HTTP headers); refusing
 * other names keeps both stores answering the same. Values may be any text.
 */
export function assertValidPutOptions(options: PutOptions | undefined): void {
  if (!options) return;
  if (options.contentType !== undefined && !CONTENT_TYPE.test(options.contentType)) {
    throw new VeilError('BAD_REQUEST', `Refused content type ${quoteKey(options.contentType)}: expected printable ASCII`);
  }
  let bytes = 0;
  for (const [name, value] of Object.entries(options.metadata ?? {})) {
    if (!METADATA_NAME.test(name)) {
      throw new VeilError(
        'BAD_REQUEST',
        `Refused metadata name ${quoteKey(name)}: expected lowercase letters, digits and "-" (at most 63)`,
      );
    }
    if (typeof value !== 'string') throw new VeilError('BAD_REQUEST', `Metadata "${name}" must be a string`);
    bytes += name.length + Buffer.byteLength(encodeMetadataValue(value));
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new VeilError('BAD_REQUEST', `Metadata is ${bytes} bytes; at most ${MAX_METADATA_BYTES} are allowed`);
  }
}

/** S3 metadata travels in HTTP headers, which only carry ASCII reliably. */
export function encodeMetadataValue(value: string): string {
  return encodeURIComponent(value);
}

export function decodeMetadataValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // written by another tool, not encoded by us
  }
}

/** A short reason from any thrown value, for STORAGE_UNAVAILABLE messages. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
