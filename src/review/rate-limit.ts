import { createHash } from 'node:crypto';

/**
 * Sign-in throttling with backoff, three ways at once:
 * - one user name from one address (`pair`): a person mistyping; short backoff after a few tries;
 * - one user name from any address (`user`): guessing one account from many machines;
 * - one address with any name (`address`): spraying many names (a school's staff share one
 *   address behind its router, so this allows the most).
 *
 * Each failure past a rule's free tries locks for base·2^k, capped, so a lock always ends: the
 * right password after the wait works. Counts are forgotten after `forgetAfterMs` without a
 * failure. An address that has signed in as a name before is "known" for that name: the
 * account-wide and address-wide locks do not apply to it, so others cannot lock the real person
 * out (only the pair's own backoff does).
 */
export interface LoginLimiterOptions {
  /** Failures of one name from one address before backoff starts. */
  freePerPair?: number;
  /** Failures of one name from all addresses before backoff starts. */
  freePerUser?: number;
  /** Failures of all names from one address before backoff starts. */
  freePerAddress?: number;
  /** First lock; each further failure doubles it. */
  baseLockMs?: number;
  /** No lock is longer than this. */
  maxLockMs?: number;
  /** A rule's count starts again after this long without a failure. */
  forgetAfterMs?: number;
  /** How long a successful sign-in makes its address known for the name. */
  knownForMs?: number;
  clock?: () => number;
  /** Where counts live: this process (default), or Redis for several processes. */
  store?: LoginAttemptStore;
}

export interface AttemptRule {
  key: string;
  free: number;
}

export interface AttemptParams {
  baseLockMs: number;
  maxLockMs: number;
  forgetAfterMs: number;
}

/** Storage for the counts: in memory here, in Redis in src/queue/login-attempts.ts. Both keep the same rules. */
export interface LoginAttemptStore {
  /** The latest lock end (ms) among the keys, or 0. */
  lockedUntil(keys: readonly string[], now: number): Promise<number>;
  /** Counts one failure on each rule; returns the latest lock end among them, or 0. */
  fail(rules: readonly AttemptRule[], now: number, params: AttemptParams): Promise<number>;
  forget(keys: readonly string[]): Promise<void>;
  markKnown(key: string, now: number, forMs: number): Promise<void>;
  isKnown(key: string, now: number): Promise<boolean>;
}

/** The lock end after `failures` failures under a rule with `free` free tries. */
export function lockEnd(failures: number, free: number, now: number, params: AttemptParams): number {
  if (failures <= free) return 0;
  const exponent = Math.min(failures - free - 1, 30);
  return now + Math.min(params.baseLockMs * 2 ** exponent, params.maxLockMs);
}

export class LoginLimiter {
  readonly store: LoginAttemptStore;
  private readonly fallback: MemoryAttemptStore;
  private readonly freePerPair: number;
  private readonly freePerUser: number;
  private readonly freePerAddress: number;
  private readonly params: AttemptParams;
  private readonly knownForMs: number;
  private readonly clock: () => number;
  private readonly onStoreError: (err: unknown) => void;

  constructor(options: LoginLimiterOptions = {}, onStoreError: (err: unknown) => void = () => {}) {
    this.freePerPair = options.freePerPair ?? 4;
    this.freePerUser = options.freePerUser ?? 10;
    this.freePerAddress = options.freePerAddress ?? 30;
    this.params = {
      baseLockMs: options.baseLockMs ?? 2_000,
      maxLockMs: options.maxLockMs ?? 15 * 60_000,
      forgetAfterMs: options.forgetAfterMs ?? 60 * 60_000,
    };
    this.knownForMs = options.knownForMs ?? 30 * 24 * 3600_000;
    this.clock = options.clock ?? Date.now;
    this.fallback = new MemoryAttemptStore();
    this.store = options.store ?? this.fallback;
    this.onStoreError = onStoreError;
  }

  /** Seconds to wait before this name may be tried from this address, else 0. */
  async retryAfter(user: string, ip: string): Promise<number> {
    const now = this.clock();
    const keys = this.keys(user, ip);
    const known = await this.guard((s) => s.isKnown(keys.known, now));
    const checked = known ? [keys.pair] : [keys.pair, keys.user, keys.address];
    const until = await this.guard((s) => s.lockedUntil(checked, now));
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  /** Records a failure; returns the seconds this name must now wait from this address (0: none). */
  async fail(user: string, ip: string): Promise<number> {
    const now = this.clock();
    const keys = this.keys(user, ip);
    await this.guard((s) =>
      s.fail(
        [
          { key: keys.pair, free: this.freePerPair },
          { key: keys.user, free: this.freePerUser },
          { key: keys.address, free: this.freePerAddress },
        ],
        now,
        this.params,
      ),
    );
    return this.retryAfter(user, ip);
  }

  /**
   * A correct password clears the pair's and the name's counts and makes the address known for
   * the name. Not the address's count: one good sign-in must not hide spraying from there.
   */
  async succeed(user: string, ip: string): Promise<void> {
    const now = this.clock();
    const keys = this.keys(user, ip);
    await this.guard((s) => s.forget([keys.pair, keys.user]).then(() => s.markKnown(keys.known, now, this.knownForMs)));
  }

  /** Redis down: keep limiting in this process rather than let guesses through unlimited. */
  private async guard<T>(run: (store: LoginAttemptStore) => Promise<T>): Promise<T> {
    if (this.store === this.fallback) return run(this.fallback);
    try {
      return await run(this.store);
    } catch (err) {
      this.onStoreError(err);
      return run(this.fallback);
    }
  }

  private keys(user: string, ip: string) {
    // Hashed: the store holds no user names or addresses, only what they count.
    const name = digest(user.trim().toLowerCase().slice(0, 64));
    const address = digest(ip);
    return { pair: `p:${name}:${address}`, user: `u:${name}`, address: `a:${address}`, known: `k:${name}:${address}` };
  }
}

function digest(value: string): string {
  return createHash('sha256').update(`veil-login:${value}`).digest('base64url').slice(0, 22);
}

interface Counter {
  failures: number;
  last: number;
  lockedUntil: number;
}

const MAX_TRACKED = 10_000;

/** One process's counts. Bounded: under a flood from many addresses the oldest are forgotten. */
export class MemoryAttemptStore implements LoginAttemptStore {
  private readonly counters = new Map<string, Counter>();
  private readonly known = new Map<string, number>();

  async lockedUntil(keys: readonly string[], now: number): Promise<number> {
    let until = 0;
    for (const key of keys) {
      const counter = this.counters.get(key);
      if (counter && counter.lockedUntil > now) until = Math.max(until, counter.lockedUntil);
    }
    return until;
  }

  async fail(rules: readonly AttemptRule[], now: number, params: AttemptParams): Promise<number> {
    let until = 0;
    for (const { key, free } of rules) {
      let counter = this.counters.get(key);
      if (!counter || now - counter.last > params.forgetAfterMs) {
        this.prune(this.counters, now, params.forgetAfterMs + params.maxLockMs);
        counter = { failures: 0, last: now, lockedUntil: 0 };
        this.counters.set(key, counter);
      }
      counter.failures += 1;
      counter.last = now;
      counter.lockedUntil = Math.max(counter.lockedUntil, lockEnd(counter.failures, free, now, params));
      until = Math.max(until, counter.lockedUntil);
    }
    return until;
  }

  async forget(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.counters.delete(key);
  }

  async markKnown(key: string, now: number, forMs: number): Promise<void> {
    if (this.known.size >= MAX_TRACKED) this.known.delete(this.known.keys().next().value!);
    this.known.delete(key);
    this.known.set(key, now + forMs);
  }

  async isKnown(key: string, now: number): Promise<boolean> {
    return (this.known.get(key) ?? 0) > now;
  }

  private prune(map: Map<string, Counter>, now: number, staleAfterMs: number): void {
    if (map.size < MAX_TRACKED) return;
    for (const [key, counter] of map) if (now - counter.last > staleAfterMs) map.delete(key);
    while (map.size >= MAX_TRACKED) map.delete(map.keys().next().value!);
  }
}
