import { Hono } from 'hono';
import { AuditLog } from '../../src/audit/audit-log.js';
import type { AdminUser } from '../../src/config.js';
import { ReviewActions, type Reprocess } from '../../src/review/actions.js';
import { AdminAuth, hashPassword, type AdminAuthOptions } from '../../src/review/auth.js';
import type { Publisher } from '../../src/review/publisher.js';
import { ReviewStore } from '../../src/review/review-store.js';
import { createAdminRoutes } from '../../src/review/routes.js';
import type { ObjectStore } from '../../src/storage/object-store.js';

/** Cheap scrypt settings so tests do not spend seconds per sign-in; the format is the real one. */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };
export const ADMIN = { name: 'dsl', password: 'correct horse battery staple' };
export const REVIEWER = { name: 'comms', password: 'another long passphrase' };
export const API_TOKEN = 'test-token-0123456789abcdefghijkl';

export async function testUsers(): Promise<AdminUser[]> {
  return [
    { name: ADMIN.name, role: 'admin', hash: await hashPassword(ADMIN.password, TEST_SCRYPT) },
    { name: REVIEWER.name, role: 'reviewer', hash: await hashPassword(REVIEWER.password, TEST_SCRYPT) },
  ];
}

export interface ReviewSystem {
  app: Hono;
  items: ReviewStore;
  audit: AuditLog;
  actions: ReviewActions;
  auth: AdminAuth;
}

/** The admin area mounted at /_veil as the lead's app mounts it. */
export function buildReviewSystem(
  store: ObjectStore,
  options: {
    users: AdminUser[];
    reprocess?: Reprocess;
    publisher?: Publisher;
    auth?: Partial<AdminAuthOptions>;
    undoWindowMs?: number;
    clock?: () => Date;
    queues?: Parameters<typeof createAdminRoutes>[0]['queues'];
  },
): ReviewSystem {
  const clock = options.clock ?? (() => new Date());
  const items = new ReviewStore(store, { reviewExpiryDays: 14, clock });
  const audit = new AuditLog(store, clock);
  const reprocess: Reprocess =
    options.reprocess ??
    (async () => {
      throw new Error('this test does not reprocess photos');
    });
  const actions = new ReviewActions({ items, audit, reprocess, publisher: options.publisher, undoWindowMs: options.undoWindowMs, clock });
  const auth = new AdminAuth({ users: options.users, token: API_TOKEN, sessionSecret: 'a-session-secret-of-at-least-32-characters', clock: () => clock().getTime(), ...options.auth });
  const app = new Hono();
  app.route('/_veil', createAdminRoutes({ auth, items, actions, audit, clock, queues: options.queues }));
  app.get('/_veil/health', (c) => c.text('ok'));
  return { app, items, audit, actions, auth };
}

type Fetchable = { request: (input: string, init?: RequestInit) => Response | Promise<Response> };

/**
 * A minimal browser for app.request: keeps cookies (honouring Path), sends Origin on POST as
 * browsers do, and remembers the CSRF token of the last page.
 */
export class CookieClient {
  private readonly cookies = new Map<string, { value: string; path: string }>();
  csrf = '';

  constructor(
    private readonly app: Fetchable,
    readonly origin = 'http://localhost',
  ) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, { method: 'GET', headers });
  }

  async postForm(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of ([] as string[]).concat(value)) body.append(name, v);
    return this.send(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...headers }, body: body.toString() });
  }

  async postJson(path: string, json: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, { method: 'POST', headers: { 'content-type': 'application/json', origin: this.origin, ...headers }, body: JSON.stringify(json) });
  }

  /** Signs in through the real form; returns the final response of the POST. */
  async login(name: string, password: string, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const form = await this.get('/_veil/login', extraHeaders);
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    return this.postForm('/_veil/login', { _csrf: token, name, password, next: '/_veil/review' }, extraHeaders);
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  setCookie(name: string, value: string, path = '/_veil'): void {
    this.cookies.set(name, { value, path });
  }

  async send(path: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
    const cookie = [...this.cookies.entries()]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || path.startsWith(`${c.path}?`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const response = await this.app.request(`${this.origin}${path}`, { ...init, headers: { ...(cookie ? { cookie } : {}), ...init.headers } });
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const pathAttr = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const maxAge = attributes.find((a) => a.toLowerCase().startsWith('max-age='));
      if (value === '' || maxAge === 'Max-Age=0') this.cookies.delete(name);
      else this.cookies.set(name, { value, path: pathAttr });
    }
    if ((response.headers.get('content-type') ?? '').includes('text/html')) {
      const text = await response.clone().text();
      const token = /<meta name="csrf-token" content="([^"]+)">/.exec(text)?.[1];
      if (token) this.csrf = token;
    }
    return response;
  }
}
