import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminRole, AdminUser } from '../config.js';

/** What a signed session cookie carries. The role is read from configuration on every request. */
export interface SessionClaims {
  v: 1;
  /** User name. */
  u: string;
  /** Session id (for sign-out). */
  sid: string;
  /** CSRF token of this session. */
  csrf: string;
  /** Issued and expiry times, ms since the epoch. */
  iat: number;
  exp: number;
  /** Fingerprint of the user's password hash: changing the password ends the user's sessions. */
  h: string;
}

export interface Session {
  user: string;
  role: AdminRole;
  sid: string;
  csrf: string;
  expiresAt: number;
}

const MAX_COOKIE_CHARS = 4096;
const CONTEXT = 'veil-admin-session.';

/**
 * Sessions as `base64url(claims).base64url(HMAC-SHA256)` cookies: nothing is stored server side
 * except the ids of sessions signed out in this process (kept until they would have expired).
 */
export class SessionCodec {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    secret: string,
    private readonly users: () => readonly AdminUser[],
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    // Derived, so the configured secret is never used directly as an HMAC key for anything else.
    this.key = createHmac('sha256', secret).update('veil session signing key').digest();
  }

  issue(user: AdminUser): { token: string; session: Session } {
    const now = this.clock();
    const claims: SessionClaims = {
      v: 1,
      u: user.name,
      sid: randomBytes(12).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      iat: now,
      exp: now + this.ttlMs,
      h: fingerprint(user.hash),
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return {
      token: `${body}.${this.sign(body)}`,
      session: { user: user.name, role: user.role, sid: claims.sid, csrf: claims.csrf, expiresAt: claims.exp },
    };
  }

  /** The session, or null when the cookie is missing, forged, tampered with, expired or signed out. */
  verify(token: string | undefined): Session | null {
    if (!token || token.length > MAX_COOKIE_CHARS) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: SessionClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
    } catch {
      return null;
    }
    const now = this.clock();
    if (claims?.v !== 1 || typeof claims.exp !== 'number' || claims.exp <= now || claims.iat > now + 60_000) return null;
    if (this.revoked.has(claims.sid)) return null;
    const user = this.users().find((u) => u.name === claims.u);
    if (!user || fingerprint(user.hash) !== claims.h) return null;
    return { user: user.name, role: user.role, sid: claims.sid, csrf: claims.csrf, expiresAt: claims.exp };
  }

  revoke(session: Session): void {
    const now = this.clock();
    for (const [sid, exp] of this.revoked) if (exp <= now) this.revoked.delete(sid);
    this.revoked.set(session.sid, session.expiresAt);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(CONTEXT).update(body).digest('base64url');
  }
}

function fingerprint(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
