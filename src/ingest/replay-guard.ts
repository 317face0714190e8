import { VeilError } from '../pipeline/errors.js';

/**
 * Remembers the nonces of accepted ingest calls for as long as their timestamps are valid, so a
 * call captured on the way cannot be sent again. Shared by every Node process that serves
 * `/_veil/ingest` when backed by Redis; the in-memory one is for a single process.
 */
export interface ReplayGuard {
  /**
   * True the first time `nonce` is claimed within `ttlMs`, false for a replay. Throws a VeilError
   * when it cannot tell (the call is then refused: fail closed).
   */
  claim(nonce: string, ttlMs: number): Promise<boolean>;
}

/** One process's memory; entries expire after their TTL. */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();

  /** `maxEntries` bounds memory; a guard that is full refuses rather than forgets. */
  constructor(private readonly maxEntries = 100_000) {}

  async claim(nonce: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    this.sweep(now);
    const expires = this.seen.get(nonce);
    if (expires !== undefined && expires > now) return false;
    if (this.seen.size >= this.maxEntries) {
      throw new VeilError('INGEST_UNAVAILABLE', 'Veil is receiving more photos than it can keep track of right now; please try again in a few minutes.');
    }
    // Re-inserting keeps the map in expiry order (TTLs are all the same in practice).
    this.seen.delete(nonce);
    this.seen.set(nonce, now + ttlMs);
    return true;
  }

  /** Entries are in insertion order, so expired ones are at the front. */
  private sweep(now: number): void {
    for (const [nonce, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(nonce);
    }
  }
}

/** The one ioredis call the Redis guard makes, so tests and other clients can stand in. */
export interface RedisSetNx {
  set(key: string, value: string, px: 'PX', ttlMs: number, nx: 'NX'): Promise<'OK' | null>;
}

/** `SET <prefix>ingest-nonce:<nonce> 1 PX <ttl> NX`: atomic across every process on the same Redis. */
export class RedisReplayGuard implements ReplayGuard {
  constructor(
    private readonly redis: RedisSetNx,
    /** The configured key prefix (REDIS_PREFIX), e.g. `veil:`. */
    private readonly prefix: string,
  ) {}

  async claim(nonce: string, ttlMs: number): Promise<boolean> {
    try {
      const answer = await this.redis.set(`${this.prefix}ingest-nonce:${nonce}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return answer === 'OK';
    } catch (err) {
      throw new VeilError('INGEST_UNAVAILABLE', 'Veil could not check this photo right now (its Redis did not answer); please try again in a few minutes.', { cause: err });
    }
  }
}
