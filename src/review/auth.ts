import { randomBytes } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AdminRole, AdminUser } from '../config.js';
import { DEFAULT_SCRYPT, assertUsableAdminUsers, hashPassword, verifyPassword } from './passwords.js';
import { LoginLimiter, type LoginLimiterOptions } from './rate-limit.js';
import { SessionCodec, secretsEqual, type Session } from './session.js';

export { hashPassword, verifyPassword, assertUsableAdminUsers, passwordHashProblem, DEFAULT_SCRYPT } from './passwords.js';
export { LoginLimiter, MemoryAttemptStore, type LoginAttemptStore } from './rate-limit.js';
export type { Session } from './session.js';

export interface AdminAuthOptions {
  users: readonly AdminUser[];
  /** VEIL_ADMIN_TOKEN: the API's bearer token (admin role); null turns bearer access off. */
  token: string | null;
  /** VEIL_SESSION_SECRET; null → a random one for this process (sessions end on restart). */
  sessionSecret: string | null;
  /** Where the admin routes are mounted; the session cookie is sent there only. */
  basePath?: string;
  /** Default 8 hours: a working day. */
  sessionTtlMs?: number;
  /** Believe X-Forwarded-For/-Proto/-Host from a load balancer (TRUST_PROXY). */
  trustProxy?: boolean;
  /** PUBLIC_URL: its origin is accepted as "same origin" too, and https there means Secure cookies. */
  publicUrl?: string | null;
  limiter?: LoginLimiterOptions;
  clock?: () => number;
  /** Told when the shared sign-in counts (Redis) cannot be reached; counting goes on in this process. */
  onLimiterError?: (err: unknown) => void;
}

/** Who is asking: a signed-in person, or a script with the API token. */
export interface Principal {
  name: string;
  role: AdminRole;
  via: 'session' | 'token';
  session?: Session;
}

export type LoginResult =
  | { ok: true; user: AdminUser; token: string; session: Session }
  /** retryAfterSeconds > 0: this failure started a backoff before the next try. */
  | { ok: false; reason: 'invalid'; retryAfterSeconds: number }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

export const SESSION_COOKIE = 'veil_session';
export const LOGIN_COOKIE = 'veil_login';
export const CSRF_HEADER = 'x-csrf-token';
export const API_TOKEN_ACTOR = 'api-token';
const MAX_NAME_CHARS = 64;

/**
 * Sign-in, sessions, CSRF and the API token for the admin pages. Users and hashes come from
 * configuration (VEIL_ADMIN_USERS); a hash Veil cannot check is refused here, at start.
 */
export class AdminAuth {
  readonly limiter: LoginLimiter;
  /** True when no VEIL_SESSION_SECRET was given: warn that sessions end on restart. */
  readonly generatedSecret: boolean;
  readonly basePath: string;
  private readonly users: readonly AdminUser[];
  private readonly token: string | null;
  private readonly sessions: SessionCodec;
  private readonly ttlMs: number;
  private readonly trustProxy: boolean;
  private readonly publicOrigin: string | null;
  private readonly publicHttps: boolean;
  private dummyHash: Promise<string> | undefined;

  constructor(options: AdminAuthOptions) {
    assertUsableAdminUsers(options.users);
    this.users = options.users;
    this.token = options.token;
    this.generatedSecret = !options.sessionSecret;
    this.basePath = options.basePath ?? '/_veil';
    this.ttlMs = options.sessionTtlMs ?? 8 * 3600_000;
    this.trustProxy = options.trustProxy ?? false;
    const publicUrl = options.publicUrl ? new URL(options.publicUrl) : null;
    this.publicOrigin = publicUrl?.origin ?? null;
    this.publicHttps = publicUrl?.protocol === 'https:';
    const secret = options.sessionSecret ?? randomBytes(32).toString('base64url');
    this.sessions = new SessionCodec(secret, () => this.users, this.ttlMs, options.clock);
    this.limiter = new LoginLimiter({ ...options.limiter, ...(options.clock ? { clock: options.clock } : {}) }, options.onLimiterError);
  }

  get hasUsers(): boolean {
    return this.users.length > 0;
  }

  /**
   * The name to write in the audit log for a sign-in attempt: a configured user's name, or a
   * placeholder. People sometimes type their password into the name field; it must not be logged.
   */
  auditName(typed: string): string {
    const name = typed.trim().slice(0, MAX_NAME_CHARS);
    return this.users.some((u) => u.name === name) ? name : '(not a user name)';
  }

  /** Checks a name and password, with the rate limit; the caller audits the outcome. */
  async login(name: string, password: string, ip: string): Promise<LoginResult> {
    const typed = name.trim().slice(0, MAX_NAME_CHARS);
    const wait = await this.limiter.retryAfter(typed, ip);
    if (wait > 0) return { ok: false, reason: 'locked', retryAfterSeconds: wait };
    const user = this.users.find((u) => u.name === typed);
    // An unknown name costs the same as a wrong password, so timing does not reveal user names.
    const ok = await verifyPassword(password, user?.hash ?? (await this.dummy()));
    if (!ok || !user) {
      const retryAfterSeconds = await this.limiter.fail(typed, ip);
      // The failure is reported as such; the wait applies to the next try.
      return { ok: false, reason: 'invalid', retryAfterSeconds };
    }
    await this.limiter.succeed(typed, ip);
    const { token, session } = this.sessions.issue(user);
    return { ok: true, user, token, session };
  }

  /** The signed-in person (cookie), or with `allowToken` a script with the bearer token. */
  principal(c: Context, options: { allowToken: boolean }): Principal | null {
    const authorization = c.req.header('authorization');
    if (authorization !== undefined && options.allowToken) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (match && this.token && secretsEqual(match[1]!, this.token)) return { name: API_TOKEN_ACTOR, role: 'admin', via: 'token' };
      return null; // a wrong token is not silently replaced by a cookie
    }
    const session = this.sessions.verify(getCookie(c, SESSION_COOKIE));
    return session ? { name: session.user, role: session.role, via: 'session', session } : null;
  }

  /** True for a bearer-token caller, or a session whose CSRF token was sent and whose origin is ours. */
  csrfOk(c: Context, principal: Principal, formToken?: unknown): boolean {
    if (principal.via === 'token') return true;
    const expected = principal.session?.csrf;
    const given = typeof formToken === 'string' && formToken !== '' ? formToken : c.req.header(CSRF_HEADER);
    return Boolean(expected && given && secretsEqual(given, expected) && this.sameOrigin(c));
  }

  /** Origin (or, without one, Referer) must be this site; with neither, the CSRF token decides alone. */
  sameOrigin(c: Context): boolean {
    const allowed = this.allowedOrigins(c);
    const origin = c.req.header('origin');
    if (origin !== undefined) return allowed.has(origin);
    const referer = c.req.header('referer');
    if (referer !== undefined) {
      try {
        return allowed.has(new URL(referer).origin);
      } catch {
        return false;
      }
    }
    return true;
  }

  startSession(c: Context, token: string): void {
    setCookie(c, SESSION_COOKIE, token, {
      path: this.basePath,
      httpOnly: true,
      sameSite: 'Strict',
      secure: this.isHttps(c),
      maxAge: Math.floor(this.ttlMs / 1000),
    });
  }

  endSession(c: Context, principal: Principal | null): void {
    if (principal?.session) this.sessions.revoke(principal.session);
    deleteCookie(c, SESSION_COOKIE, { path: this.basePath, secure: this.isHttps(c), httpOnly: true, sameSite: 'Strict' });
  }

  /** A double-submit token for the sign-in form (there is no session yet to hold one). */
  loginFormToken(c: Context): string {
    const existing = getCookie(c, LOGIN_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
    const token = randomBytes(24).toString('base64url');
    setCookie(c, LOGIN_COOKIE, token, { path: `${this.basePath}/login`, httpOnly: true, sameSite: 'Strict', secure: this.isHttps(c), maxAge: 3600 });
    return token;
  }

  loginFormOk(c: Context, formToken: unknown): boolean {
    const cookie = getCookie(c, LOGIN_COOKIE);
    return Boolean(cookie && typeof formToken === 'string' && secretsEqual(cookie, formToken) && this.sameOrigin(c));
  }

  clientIp(c: Context): string {
    if (this.trustProxy) {
      // The nearest proxy appends the address it saw: the last entry is the one to believe.
      const forwarded = c.req.header('x-forwarded-for')?.split(',').map((s) => s.trim()).filter(Boolean);
      const last = forwarded?.[forwarded.length - 1];
      if (last) return last.slice(0, 64);
    }
    try {
      return getConnInfo(c).remote.address ?? 'unknown';
    } catch {
      return 'unknown'; // not running on Node's HTTP server (tests with app.request)
    }
  }

  isHttps(c: Context): boolean {
    if (this.publicHttps) return true;
    if (this.trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https') return true;
    return new URL(c.req.url).protocol === 'https:';
  }

  private allowedOrigins(c: Context): Set<string> {
    const url = new URL(c.req.url);
    const origins = new Set([url.origin]);
    if (this.publicOrigin) origins.add(this.publicOrigin);
    if (this.trustProxy) {
      const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim();
      const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim();
      if (host && (proto === 'http' || proto === 'https')) origins.add(`${proto}://${host}`);
    }
    return origins;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'), this.users[0] ? paramsOf(this.users[0].hash) : DEFAULT_SCRYPT);
    return this.dummyHash;
  }
}

function paramsOf(hash: string): { N: number; r: number; p: number } {
  const [, n, r, p] = hash.split('$');
  return { N: Number(n), r: Number(r), p: Number(p) };
}
