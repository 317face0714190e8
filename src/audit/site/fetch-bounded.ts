import { VeilError } from '../../pipeline/errors.js';
import { formatBytes } from '../../pipeline/format-bytes.js';

export const USER_AGENT = 'VeilAudit/0.1 (+safeguarding image audit)';

export interface BoundedResponse {
  /** Where the bytes came from, after same-origin redirects. */
  url: string;
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
}

const MAX_REDIRECTS = 5;

/**
 * GET with every bound a hostile or broken server needs: a byte cap (checked on the declared
 * length and again while reading), one deadline for headers and body, and redirects followed only
 * within the origin, so a page cannot send the audit to another host.
 */
export async function fetchBounded(url: string, limits: FetchLimits, accept = '*/*'): Promise<BoundedResponse> {
  const origin = new URL(url).origin;
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      const response = await fetch(current, { redirect: 'manual', signal, headers: { 'user-agent': USER_AGENT, accept } });
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        const next = new URL(response.headers.get('location')!, current);
        if (next.origin !== origin) throw new VeilError('BAD_REQUEST', `${current} redirects to another site (${next.origin}); not followed.`);
        if (hop >= MAX_REDIRECTS) throw new VeilError('BAD_REQUEST', `${url} redirects more than ${MAX_REDIRECTS} times.`);
        current = next.href;
        continue;
      }
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > limits.maxBytes) {
        await response.body?.cancel();
        throw tooLarge(current, declared, limits.maxBytes);
      }
      const bytes = await readCapped(response, current, limits.maxBytes);
      return { url: current, status: response.status, headers: response.headers, bytes };
    }
  } catch (err) {
    if (err instanceof VeilError) throw err;
    if (signal.aborted) throw new VeilError('TIMEOUT', `${current} did not answer in full within ${Math.round(limits.timeoutMs / 1000)} s.`, { cause: err });
    throw new VeilError('NOT_FOUND', `${current} could not be fetched (${(err as Error).message}).`, { cause: err });
  }
}

async function readCapped(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(url, total, maxBytes);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(url: string, bytes: number, max: number): VeilError {
  return new VeilError('FILE_TOO_LARGE', `${url} is larger than ${formatBytes(max)} (at least ${formatBytes(bytes)}); not downloaded.`);
}
