import type { Redis } from 'ioredis';
import type { AttemptParams, AttemptRule, LoginAttemptStore } from '../review/rate-limit.js';

// One script per failure so that two proxies counting at once cannot lose a count. The rule is
// lockEnd() in src/review/rate-limit.ts: past `free` failures, base * 2^k capped at max.
const FAIL_SCRIPT = `
local now = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local forget = tonumber(ARGV[4])
local latest = 0
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[4 + i])
  local state = redis.call('HMGET', key, 'n', 'last', 'until')
  local n = tonumber(state[1]) or 0
  local last = tonumber(state[2]) or now
  local locked = tonumber(state[3]) or 0
  if now - last > forget then n = 0; locked = 0 end
  n = n + 1
  if n > free then
    local exponent = math.min(n - free - 1, 30)
    locked = math.max(locked, now + math.min(base * (2 ^ exponent), max))
  end
  redis.call('HSET', key, 'n', n, 'last', now, 'until', locked)
  redis.call('PEXPIRE', key, forget + max)
  if locked > latest then latest = locked end
end
return tostring(latest)
`;

/** Sign-in counts in Redis, shared by every Veil process that uses the same Redis and prefix. */
export class RedisAttemptStore implements LoginAttemptStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async lockedUntil(keys: readonly string[], now: number): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hget(this.key(key), 'until');
    const answers = (await pipeline.exec()) ?? [];
    let until = 0;
    for (const [err, value] of answers) {
      if (err) throw err;
      const end = Number(value ?? 0);
      if (end > now) until = Math.max(until, end);
    }
    return until;
  }

  async fail(rules: readonly AttemptRule[], now: number, params: AttemptParams): Promise<number> {
    const result = await this.redis.eval(
      FAIL_SCRIPT,
      rules.length,
      ...rules.map((r) => this.key(r.key)),
      now,
      params.baseLockMs,
      params.maxLockMs,
      params.forgetAfterMs,
      ...rules.map((r) => r.free),
    );
    return Number(result);
  }

  async forget(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys.map((k) => this.key(k)));
  }

  async markKnown(key: string, now: number, forMs: number): Promise<void> {
    await this.redis.set(this.key(key), String(now + forMs), 'PX', forMs);
  }

  async isKnown(key: string, now: number): Promise<boolean> {
    return Number((await this.redis.get(this.key(key))) ?? 0) > now;
  }

  private key(key: string): string {
    return `${this.prefix}:login:${key}`;
  }
}
