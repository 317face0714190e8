import type { ProxyLimits } from '../proxy/types.js';

/**
 * The Worker's settings, from wrangler.toml `[vars]` and `wrangler secret put`. Values use the
 * Node service's syntax (52428800, 50MB, 50MiB, 50M all mean 50 × 1024 × 1024), but src/config.ts
 * reads files and cannot run at the edge, so the few settings the edge has are read here.
 */
export interface EdgeEnv {
  /** The CMS, e.g. https://origin.school.example (pass-through and sanitised uploads go here). */
  ORIGIN_URL?: string;
  /** The Node service's ingest endpoint, e.g. https://veil.school.example/_veil/ingest. */
  VEIL_INGEST_URL?: string;
  /** Shared with the Node service; set with `wrangler secret put INGEST_SECRET`. */
  INGEST_SECRET?: string;
  MAX_UPLOAD_BYTES?: string;
  MAX_BODY_BYTES?: string;
  UPLOAD_TIMEOUT_MS?: string;
}

export interface EdgeConfig {
  origin: URL;
  /** Where photos go, or why they cannot (then uploads are refused while pass-through goes on). */
  ingest: { ok: true; url: URL; secret: string } | { ok: false; problem: string };
  limits: ProxyLimits;
}

export type EdgeConfigResult = { ok: true; config: EdgeConfig } | { ok: false; problems: string[] };

/**
 * Free and Pro plans accept request bodies up to 100 MB; Cloudflare refuses larger ones before the
 * Worker runs. Multipart bodies are held in memory at the edge, so this is also a memory bound.
 */
export const EDGE_DEFAULT_MAX_BODY = 100 * 1024 * 1024;
/** Lower than Node's 50 MiB: a Worker has 128 MB of memory for the body, the photo and its copy. */
export const EDGE_DEFAULT_MAX_UPLOAD = 25 * 1024 * 1024;
export const EDGE_DEFAULT_TIMEOUT_MS = 60_000;
const MIN_SECRET_LENGTH = 32;

export function readEdgeConfig(env: EdgeEnv): EdgeConfigResult {
  const problems: string[] = [];
  const origin = httpUrl(env.ORIGIN_URL);
  if (!origin) problems.push('ORIGIN_URL must be the http(s) address of the website (the CMS), e.g. https://origin.school.example');
  const limits: ProxyLimits = {
    maxUploadBytes: setting(problems, 'MAX_UPLOAD_BYTES', env.MAX_UPLOAD_BYTES, EDGE_DEFAULT_MAX_UPLOAD, byteSize),
    maxBodyBytes: setting(problems, 'MAX_BODY_BYTES', env.MAX_BODY_BYTES, EDGE_DEFAULT_MAX_BODY, byteSize),
    uploadTimeoutMs: setting(problems, 'UPLOAD_TIMEOUT_MS', env.UPLOAD_TIMEOUT_MS, EDGE_DEFAULT_TIMEOUT_MS, wholeNumber),
  };
  if (problems.length > 0 || !origin) return { ok: false, problems };
  return { ok: true, config: { origin, ingest: ingestSettings(env), limits } };
}

function ingestSettings(env: EdgeEnv): EdgeConfig['ingest'] {
  const url = httpUrl(env.VEIL_INGEST_URL);
  if (!url) return { ok: false, problem: 'VEIL_INGEST_URL is not set to the http(s) address of the Node service\'s /_veil/ingest' };
  const secret = env.INGEST_SECRET ?? '';
  if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
    return { ok: false, problem: `INGEST_SECRET is not set (wrangler secret put INGEST_SECRET) or shorter than ${MIN_SECRET_LENGTH} characters` };
  }
  return { ok: true, url, secret };
}

function httpUrl(raw: string | undefined): URL | undefined {
  if (!raw?.trim()) return undefined;
  try {
    const url = new URL(raw.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function setting(problems: string[], name: string, raw: string | undefined, fallback: number, parse: (raw: string) => number | undefined): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = parse(raw.trim());
  if (value === undefined || value <= 0) {
    problems.push(`${name}=${raw} is not valid (${parse === byteSize ? 'a size such as 52428800, 50MB, 50MiB or 50M' : 'a whole number of milliseconds'})`);
    return fallback;
  }
  return value;
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function byteSize(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(raw);
  if (!match) return undefined;
  const [, amount = '', unit = ''] = match;
  if (unit === '' && amount.includes('.')) return undefined;
  return Math.floor(Number(amount) * (BYTE_UNITS[unit.toLowerCase()] ?? 1));
}

function wholeNumber(raw: string): number | undefined {
  return /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
}
