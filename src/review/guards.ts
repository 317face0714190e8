import type { Context, MiddlewareHandler } from 'hono';
import type { Queue } from 'bullmq';
import type { AuditLog } from '../audit/audit-log.js';
import { ERROR_CODES, VeilError, toVeilError } from '../pipeline/errors.js';
import type { ReviewActions } from './actions.js';
import type { AdminAuth, Principal } from './auth.js';
import { messagePage } from './pages/login.js';
import type { ReviewStore } from './review-store.js';

export interface AdminRoutesDeps {
  auth: AdminAuth;
  items: ReviewStore;
  actions: ReviewActions;
  audit: AuditLog;
  /** BullMQ queues shown at /_veil/queues (admin only); none → that page says so. */
  queues?: readonly Queue[] | undefined;
  clock?: () => Date;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export type AdminEnv = { Variables: { principal: Principal } };

/** No framing, no third-party anything, nothing cached: these pages show children's photos. */
export const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export function secureHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(PAGE_HEADERS)) if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  };
}

/** Pages: anonymous → the sign-in page (302); a reviewer on an admin page → 403. */
export function pageGuard(deps: AdminRoutesDeps, options: { adminOnly?: boolean } = {}): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const principal = deps.auth.principal(c, { allowToken: false });
    if (!principal) {
      const url = new URL(c.req.url);
      return c.redirect(`${deps.auth.basePath}/login?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
    }
    if (options.adminOnly && principal.role !== 'admin') {
      return c.html(messagePage({ base: deps.auth.basePath, principal, title: 'Admins only', message: 'This page is for the admin role. Ask an admin if you need it.' }).value, 403);
    }
    c.set('principal', principal);
    await next();
  };
}

/** API: the bearer token or a session; anonymous → 401, a reviewer on admin-only → 403. */
export function apiGuard(deps: AdminRoutesDeps, options: { adminOnly?: boolean } = {}): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const principal = deps.auth.principal(c, { allowToken: true });
    if (!principal) {
      c.header('WWW-Authenticate', 'Bearer realm="veil"');
      return c.json({ error: { code: 'UNAUTHORIZED', message: 'Sign in, or send Authorization: Bearer with VEIL_ADMIN_TOKEN.' } }, 401);
    }
    if (options.adminOnly && principal.role !== 'admin') {
      return c.json({ error: { code: 'FORBIDDEN', message: 'This needs the admin role.' } }, 403);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !deps.auth.csrfOk(c, principal)) {
      return c.json({ error: { code: 'FORBIDDEN', message: `A signed-in request that changes something needs the X-CSRF-Token header from the page, from this site.` } }, 403);
    }
    c.set('principal', principal);
    await next();
  };
}

export function statusOf(error: VeilError): 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504 {
  const status = ERROR_CODES[error.code] as number;
  return ([400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504] as const).find((s) => s === status) ?? 500;
}

export function apiError(c: Context, err: unknown): Response {
  const error = toVeilError(err);
  return c.json({ error: error.toJSON() }, statusOf(error));
}

export function actorOf(principal: Principal): { name: string; role: Principal['role'] } {
  return { name: principal.name, role: principal.role };
}

/** Dates from forms (`2026-11-26`) or scripts (full ISO); null when absent, throws when nonsense. */
export function parseDateParam(value: string | undefined, name: string): Date | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new VeilError('BAD_REQUEST', `${name} must be a date such as 2026-11-26 or 2026-11-26T10:00:00Z.`);
  }
  return date;
}

/** The approved file of an item as a download (pages and API both offer it). */
export async function approvedDownload(items: ReviewStore, id: string): Promise<Response> {
  const item = await items.require(id);
  const file = await items.approvedFile(item);
  if (!file || !item.approved) throw new VeilError('NOT_FOUND', 'This photo has no approved file.');
  return new Response(new Uint8Array(file.bytes), {
    headers: {
      'Content-Type': item.approved.contentType,
      'Content-Disposition': `attachment; filename="${item.approved.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'Cache-Control': 'private, no-store',
    },
  });
}
