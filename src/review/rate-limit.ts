export interface LoginLimiterOptions {
  /** Failed sign-ins per user name before it is locked for `windowMs`. */
  maxPerUser?: number;
  /** Failed sign-ins (any name) per client address before it is locked. */
  maxPerIp?: number;
  windowMs?: number;
  clock?: () => number;
}

interface Counter {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

const MAX_TRACKED = 10_000;

/**
 * Counts failed sign-ins per user name and per client address. It lives in this process's
 * memory: enough for one Veil process (a restart forgets, which is fine for minutes-long locks);
 * several proxies each keep their own count, so the limit there is per proxy.
 */
export class LoginLimiter {
  private readonly maxPerUser: number;
  private readonly maxPerIp: number;
  private readonly windowMs: number;
  private readonly clock: () => number;
  private readonly counters = new Map<string, Counter>();

  constructor(options: LoginLimiterOptions = {}) {
    this.maxPerUser = options.maxPerUser ?? 5;
    this.maxPerIp = options.maxPerIp ?? 20;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.clock = options.clock ?? Date.now;
  }

  /** Seconds to wait when either the name or the address is locked, else 0. */
  retryAfter(user: string, ip: string): number {
    const now = this.clock();
    const until = Math.max(this.lockedUntil(userKey(user), now), this.lockedUntil(ipKey(ip), now));
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  /** Records a failure; true when this failure locked the name or the address. */
  fail(user: string, ip: string): boolean {
    const now = this.clock();
    const lockedUser = this.count(userKey(user), this.maxPerUser, now);
    const lockedIp = this.count(ipKey(ip), this.maxPerIp, now);
    return lockedUser || lockedIp;
  }

  /** A correct password clears the name's count (not the address's: one good login must not hide spraying). */
  succeed(user: string): void {
    this.counters.delete(userKey(user));
  }

  private lockedUntil(key: string, now: number): number {
    const counter = this.counters.get(key);
    return counter && counter.lockedUntil > now ? counter.lockedUntil : 0;
  }

  private count(key: string, max: number, now: number): boolean {
    let counter = this.counters.get(key);
    if (!counter || (now - counter.windowStart > this.windowMs && counter.lockedUntil <= now)) {
      counter = { failures: 0, windowStart: now, lockedUntil: 0 };
      this.prune(now);
      this.counters.set(key, counter);
    }
    counter.failures += 1;
    if (counter.failures >= max && counter.lockedUntil <= now) {
      counter.lockedUntil = now + this.windowMs;
      return true;
    }
    return false;
  }

  private prune(now: number): void {
    if (this.counters.size < MAX_TRACKED) return;
    for (const [key, counter] of this.counters) {
      if (now - counter.windowStart > this.windowMs && counter.lockedUntil <= now) this.counters.delete(key);
    }
    // Still full (an attack from many addresses): forget the oldest rather than grow without bound.
    while (this.counters.size >= MAX_TRACKED) this.counters.delete(this.counters.keys().next().value!);
  }
}

function userKey(user: string): string {
  return `u:${user.trim().toLowerCase().slice(0, 64)}`;
}

function ipKey(ip: string): string {
  return `i:${ip}`;
}
