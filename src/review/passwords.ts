import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { AdminUser } from '../config.js';
import { VeilError } from '../pipeline/errors.js';

/*
 * Admin password hashes are `scrypt$N$r$p$salt$key` (salt and key in base64), made by
 * `veil hash-password`. Argon2 needs a native module or Node >= 24.7's crypto.argon2; Veil
 * installs no native module for it, so `$argon2…` hashes are refused at start with a way out.
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's recommendation for scrypt: 128 MiB, about a quarter of a second. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Longer passwords are refused before hashing, so a huge form field cannot tie up the CPU. */
export const MAX_PASSWORD_CHARS = 1024;

interface ParsedHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new VeilError('BAD_REQUEST', 'The password is empty.');
  if (password.length > MAX_PASSWORD_CHARS) throw new VeilError('BAD_REQUEST', `The password is longer than ${MAX_PASSWORD_CHARS} characters.`);
  const problem = paramsProblem(params);
  if (problem) throw new VeilError('BAD_REQUEST', `Cannot hash with these scrypt settings: ${problem}.`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `hash`; false for a wrong password or a hash Veil cannot use. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseScryptHash(hash);
  if (!parsed || typeof password !== 'string' || password.length > MAX_PASSWORD_CHARS) return false;
  const key = await derive(password, parsed.salt, parsed.key.length, parsed);
  return timingSafeEqual(key, parsed.key);
}

/** Why Veil cannot check passwords against this hash, or null when it can. */
export function passwordHashProblem(hash: string): string | null {
  if (hash.startsWith('$argon2')) {
    return 'argon2 hashes are not supported by this Veil (it installs no native argon2 module); make a scrypt hash with `veil hash-password`';
  }
  if (!hash.startsWith('scrypt$')) return 'expected a hash starting with scrypt$ (made by `veil hash-password`)';
  const parts = hash.split('$');
  if (parts.length !== 6) return 'expected scrypt$N$r$p$salt$key';
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((v) => /^\d{1,10}$/.test(v))) return 'N, r and p must be whole numbers';
  const problem = paramsProblem({ N: Number(n), r: Number(r), p: Number(p) });
  if (problem) return problem;
  if (!isBase64(salt) || Buffer.from(salt, 'base64').length < 8) return 'the salt must be at least 8 bytes of base64';
  if (!isBase64(key) || Buffer.from(key, 'base64').length < 16 || Buffer.from(key, 'base64').length > 128) return 'the key must be 16 to 128 bytes of base64';
  return null;
}

/**
 * Call at start: every configured user must have a hash Veil can check, or nobody could tell why
 * a correct password is refused. The message names the users, never the hashes.
 */
export function assertUsableAdminUsers(users: readonly AdminUser[]): void {
  const problems = users.flatMap((user) => {
    const problem = passwordHashProblem(user.hash);
    return problem ? [`VEIL_ADMIN_USERS: user "${user.name}": ${problem}`] : [];
  });
  if (problems.length > 0) throw new VeilError('BAD_REQUEST', problems.join('\n'));
}

function parseScryptHash(hash: string): ParsedHash | null {
  if (passwordHashProblem(hash) !== null) return null;
  const [, n, r, p, salt, key] = hash.split('$') as [string, string, string, string, string, string];
  return { N: Number(n), r: Number(r), p: Number(p), salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

function paramsProblem({ N, r, p }: ScryptParams): string | null {
  // Bounded so that a typo in configuration cannot make each sign-in take gigabytes.
  if (!Number.isInteger(N) || N < 2 ** 10 || N > 2 ** 22 || (N & (N - 1)) !== 0) return 'N must be a power of two between 1024 and 4194304';
  if (!Number.isInteger(r) || r < 1 || r > 32) return 'r must be between 1 and 32';
  if (!Number.isInteger(p) || p < 1 || p > 16) return 'p must be between 1 and 16';
  if (128 * N * r > 1024 ** 3) return 'N × r needs more than 1 GiB of memory';
  return null;
}

function derive(password: string, salt: Buffer, length: number, { N, r, p }: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}
