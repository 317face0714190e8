/**
 * How the edge (Cloudflare Worker) and the Node service trust each other's ingest calls. Both sides
 * share INGEST_SECRET; every call is an HMAC-SHA256 over a canonical string of timestamp, nonce,
 * method, path, the body's SHA-256 and the upload's context, so none of them can be changed,
 * replayed later or replayed elsewhere. The answer is signed too, bound to the call's nonce, so the
 * edge forwards only bytes the Node service produced for this very call.
 *
 * Web Crypto (`crypto.subtle`) only: this module runs unchanged in Node and in workerd.
 */

/** A call is accepted this many seconds either side of the service's clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export const INGEST_HEADERS = {
  timestamp: 'x-veil-timestamp',
  nonce: 'x-veil-nonce',
  signature: 'x-veil-signature',
  /** base64url(JSON IngestContext): filenames may be any Unicode, headers may not. */
  context: 'x-veil-context',
} as const;

export const INGEST_ANSWER_HEADERS = {
  outcome: 'x-veil-outcome',
  uploadId: 'x-veil-upload-id',
  /** Percent-encoded (encodeURIComponent), for the same reason as the context. */
  filename: 'x-veil-filename',
  signature: 'x-veil-signature',
} as const;

/** What the Worker knows about an upload: the proxy's UploadContext plus the file's own claims. */
export interface IngestContext {
  cms: string;
  method: string;
  path: string;
  clientIp?: string;
  user?: string;
  filename?: string;
  declaredType?: string;
  field?: string;
}

const REQUEST_VERSION = 'veil-ingest-v1';
const ANSWER_VERSION = 'veil-ingest-answer-v1';
const NONCE = /^[A-Za-z0-9_-]{16,128}$/;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^v1=([0-9a-f]{64})$/;
const MAX_CONTEXT_FIELD = 4096;

const encoder = new TextEncoder();

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Request bodies and Buffers are ArrayBuffer-backed; the cast only narrows TypeScript's view.
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

export function newNonce(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

export interface SignRequestInput {
  secret: string;
  method: string;
  /** The ingest URL's path, e.g. /_veil/ingest. */
  path: string;
  body: Uint8Array;
  context: IngestContext;
  /** Unix seconds; now by default. */
  timestamp?: number;
  nonce?: string;
}

/** The headers that authenticate one ingest call. */
export async function signIngestRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(input.timestamp ?? Date.now() / 1000));
  const nonce = input.nonce ?? newNonce();
  const context = encodeContext(input.context);
  const canonical = canonicalRequest({ timestamp, nonce, method: input.method, path: input.path, bodySha256: await sha256Hex(input.body), context });
  const signature = await hmacHex(input.secret, canonical);
  return {
    [INGEST_HEADERS.timestamp]: timestamp,
    [INGEST_HEADERS.nonce]: nonce,
    [INGEST_HEADERS.context]: context,
    [INGEST_HEADERS.signature]: `v1=${signature}`,
  };
}

export interface VerifyRequestInput {
  secret: string;
  method: string;
  path: string;
  body: Uint8Array;
  headers: Headers;
  /** Unix seconds; now by default. */
  now?: number;
  maxSkewSeconds?: number;
}

export type RequestVerification =
  | { ok: true; context: IngestContext; nonce: string; timestamp: number }
  | { ok: false; reason: 'missing' | 'signature' | 'stale' | 'context'; message: string };

/**
 * Checks a call's signature, then its age. The nonce is returned for the caller's replay guard:
 * it is only worth remembering once the signature is known to be good.
 */
export async function verifyIngestRequest(input: VerifyRequestInput): Promise<RequestVerification> {
  const timestamp = input.headers.get(INGEST_HEADERS.timestamp) ?? '';
  const nonce = input.headers.get(INGEST_HEADERS.nonce) ?? '';
  const context = input.headers.get(INGEST_HEADERS.context) ?? '';
  const signature = SIGNATURE.exec(input.headers.get(INGEST_HEADERS.signature) ?? '');
  if (!TIMESTAMP.test(timestamp) || !NONCE.test(nonce) || !context || !signature) {
    return { ok: false, reason: 'missing', message: 'The ingest call is not signed (timestamp, nonce, context or signature missing or malformed).' };
  }
  const canonical = canonicalRequest({ timestamp, nonce, method: input.method, path: input.path, bodySha256: await sha256Hex(input.body), context });
  if (!(await hmacVerify(input.secret, canonical, signature[1]!))) {
    return { ok: false, reason: 'signature', message: "The ingest call's signature does not match (is INGEST_SECRET the same on the edge and the service?)." };
  }
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const skew = input.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
  if (Math.abs(now - Number(timestamp)) > skew) {
    return { ok: false, reason: 'stale', message: `The ingest call is more than ${skew} seconds old or in the future (check both clocks).` };
  }
  const decoded = decodeContext(context);
  if (!decoded) return { ok: false, reason: 'context', message: "The ingest call's context could not be read." };
  return { ok: true, context: decoded, nonce, timestamp: Number(timestamp) };
}

/** The parts of an ingest answer that its signature covers. */
export interface AnswerParts {
  /** The nonce of the call being answered. */
  nonce: string;
  status: number;
  outcome: string;
  uploadId: string;
  /** As sent in the header (percent-encoded). */
  filename: string;
  contentType: string;
  body: Uint8Array;
}

export async function signIngestAnswer(secret: string, parts: AnswerParts): Promise<string> {
  return `v1=${await hmacHex(secret, await canonicalAnswer(parts))}`;
}

export async function verifyIngestAnswer(secret: string, parts: AnswerParts, signatureHeader: string | null): Promise<boolean> {
  const signature = SIGNATURE.exec(signatureHeader ?? '');
  if (!signature) return false;
  return hmacVerify(secret, await canonicalAnswer(parts), signature[1]!);
}

function canonicalRequest(p: { timestamp: string; nonce: string; method: string; path: string; bodySha256: string; context: string }): string {
  return [REQUEST_VERSION, p.timestamp, p.nonce, p.method.toUpperCase(), p.path, p.bodySha256, p.context].join('\n');
}

async function canonicalAnswer(p: AnswerParts): Promise<string> {
  return [ANSWER_VERSION, p.nonce, String(p.status), p.outcome, p.uploadId, p.filename, p.contentType, await sha256Hex(p.body)].join('\n');
}

export function encodeContext(context: IngestContext): string {
  const json = JSON.stringify(context);
  let binary = '';
  for (const byte of encoder.encode(json)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The context, or undefined when it is not the JSON object the edge sends. */
export function decodeContext(value: string): IngestContext | undefined {
  try {
    const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const o = parsed as Record<string, unknown>;
    const text = (key: string, required: boolean): string | undefined | null => {
      const v = o[key];
      if (v === undefined || v === null) return required ? null : undefined;
      return typeof v === 'string' && v.length <= MAX_CONTEXT_FIELD ? v : null;
    };
    const context: IngestContext = { cms: '', method: '', path: '' };
    for (const key of ['cms', 'method', 'path'] as const) {
      const v = text(key, true);
      if (typeof v !== 'string') return undefined;
      context[key] = v;
    }
    for (const key of ['clientIp', 'user', 'filename', 'declaredType', 'field'] as const) {
      const v = text(key, false);
      if (v === null) return undefined;
      if (v !== undefined) context[key] = v;
    }
    return context;
  } catch {
    return undefined;
  }
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    // One secret per deployment; a handful at most while a secret is rotated.
    if (keys.size > 8) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

async function hmacHex(secret: string, message: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message))));
}

/** crypto.subtle.verify compares in constant time, unlike comparing hex strings. */
async function hmacVerify(secret: string, message: string, hex: string): Promise<boolean> {
  return crypto.subtle.verify('HMAC', await hmacKey(secret), fromHex(hex), encoder.encode(message));
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
