import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminUser } from '../src/config.js';
import { AdminAuth, hashPassword, verifyPassword } from '../src/review/auth.js';
import { LocalObjectStore } from '../src/storage/index.js';
import { ADMIN, API_TOKEN, CookieClient, REVIEWER, TEST_SCRYPT, buildReviewSystem, testUsers, type ReviewSystem } from './helpers/review-app.js';
import { storeHeldUpload } from './helpers/review-fixtures.js';

let root: string;
let users: AdminUser[];
let store: LocalObjectStore;
let itemId: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-review-auth-'));
  store = new LocalObjectStore(root);
  users = await testUsers();
  const system = buildReviewSystem(store, { users });
  const { job, result } = await storeHeldUpload(store, { mode: 'always-review', path: '/safeguarding/upload' });
  itemId = (await system.items.createHeldItem(job, result)).id;
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('password hashes', () => {
  it('verifies scrypt hashes it made, and refuses a wrong password or a damaged hash', async () => {
    const hash = await hashPassword('s3cret passphrase', TEST_SCRYPT);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('s3cret passphrase', hash)).toBe(true);
    expect(await verifyPassword('s3cret passphrasE', hash)).toBe(false);
    const parts = hash.split('$');
    parts[5] = Buffer.alloc(32, 7).toString('base64');
    expect(await verifyPassword('s3cret passphrase', parts.join('$'))).toBe(false);
  });

  it('checks a hash made by another scrypt implementation (RFC 7914 test vector)', async () => {
    const key =
      '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887';
    const hash = `scrypt$16384$8$1$${Buffer.from('SodiumChloride').toString('base64')}$${Buffer.from(key, 'hex').toString('base64')}`;
    expect(await verifyPassword('pleaseletmein', hash)).toBe(true);
    expect(await verifyPassword('pleaseletmeout', hash)).toBe(false);
  });

  it('makes hashes with OWASP-strength settings by default', async () => {
    const hash = await hashPassword('a password');
    expect(hash.split('$').slice(0, 4)).toEqual(['scrypt', '131072', '8', '1']);
  });

  it('refuses argon2 hashes at start with a way out, naming the user but not the hash', () => {
    const argon = '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';
    let message = '';
    try {
      new AdminAuth({ users: [{ name: 'head', role: 'admin', hash: argon }], token: null, sessionSecret: null });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('user "head"');
    expect(message).toContain('veil hash-password');
    expect(message).not.toContain('RdescudvJ');
  });
});

describe('admin access', () => {
  const pages = ['/_veil/review', `/_veil/review/ID`, '/_veil/review/ID/preview.jpg', '/_veil/review/ID/approved', '/_veil/audit', '/_veil/audit.csv', '/_veil/queues', '/_veil/logout'];
  const apis = ['/_veil/api/review', '/_veil/api/review/ID', '/_veil/api/audit', '/_veil/api/audit?format=csv'];
  const posts = ['/_veil/review/ID/decide', '/_veil/review/bulk', '/_veil/logout'];
  const apiPosts = ['/_veil/api/review/ID/approve', '/_veil/api/review/ID/approve-redacted', '/_veil/api/review/ID/reject', '/_veil/api/review/ID/undo', '/_veil/api/review/bulk'];
  let system: ReviewSystem;
  beforeAll(() => {
    system = buildReviewSystem(store, { users });
  });
  const at = (p: string) => p.replace('ID', itemId);

  it('sends anonymous visitors of every page to the sign-in page', async () => {
    for (const page of pages) {
      const response = await system.app.request(at(page));
      expect(response.status, page).toBe(302);
      expect(response.headers.get('location'), page).toBe(`/_veil/login?next=${encodeURIComponent(at(page))}`);
    }
    for (const page of posts) {
      const response = await system.app.request(at(page), { method: 'POST', body: new URLSearchParams({ action: 'reject' }) });
      expect(response.status, page).toBe(302);
    }
  });

  it('answers 401 to anonymous and wrong-token API calls, and changes nothing', async () => {
    for (const api of apis) {
      const response = await system.app.request(at(api));
      expect(response.status, api).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      const wrong = await system.app.request(at(api), { headers: { authorization: `Bearer ${API_TOKEN.slice(0, -1)}x` } });
      expect(wrong.status, api).toBe(401);
    }
    for (const api of apiPosts) {
      const response = await system.app.request(at(api), { method: 'POST', body: JSON.stringify({ ids: [itemId] }), headers: { 'content-type': 'application/json' } });
      expect(response.status, api).toBe(401);
    }
    expect((await system.items.get(itemId))?.status).toBe('pending');
  });

  it('lets a script in with the bearer token (admin role, no CSRF token needed)', async () => {
    const list = await system.app.request('/_veil/api/review', { headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { items: Array<{ id: string }> };
    expect(body.items.map((i) => i.id)).toContain(itemId);
    const audit = await system.app.request('/_veil/api/audit?format=csv', { headers: { authorization: `Bearer ${API_TOKEN}` } });
    expect(audit.status).toBe(200);
    expect(audit.headers.get('content-type')).toContain('text/csv');
  });

  it('leaves other /_veil routes of the app alone', async () => {
    expect((await system.app.request('/_veil/health')).status).toBe(200);
  });

  it('signs in with a session cookie that is HttpOnly, SameSite=Strict, scoped to /_veil, and Secure over https', async () => {
    const client = new CookieClient(system.app);
    const response = await client.login(ADMIN.name, ADMIN.password);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/_veil/review');
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('veil_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/_veil(;|$)/);
    expect(cookie).not.toMatch(/Secure/);
    expect((await client.get('/_veil/review')).status).toBe(200);

    const secure = new CookieClient(system.app, 'https://school.example');
    const over = await secure.login(ADMIN.name, ADMIN.password);
    expect(over.headers.getSetCookie().find((c) => c.startsWith('veil_session='))).toMatch(/Secure/);
  });

  it('refuses a tampered or forged session cookie, an expired one, and one whose password has changed', async () => {
    let now = Date.now();
    const clock = () => new Date(now);
    const timed = buildReviewSystem(store, { users, clock, auth: { sessionTtlMs: 60_000 } });
    const client = new CookieClient(timed.app);
    await client.login(REVIEWER.name, REVIEWER.password);
    const token = client.cookie('veil_session')!;
    expect((await client.get('/_veil/review')).status).toBe(200);

    const [body, signature] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const promoted = Buffer.from(JSON.stringify({ ...claims, u: ADMIN.name })).toString('base64url');
    for (const bad of [`${promoted}.${signature}`, `${body}.${signature.slice(0, -2)}AA`, `${body}.`, 'garbage']) {
      client.setCookie('veil_session', bad);
      expect((await client.get('/_veil/review')).status, bad).toBe(302);
    }
    // The same cookie from a Veil with another session secret is not accepted either.
    const other = buildReviewSystem(store, { users, auth: { sessionSecret: 'another-secret-of-at-least-32-characters!' } });
    const elsewhere = new CookieClient(other.app);
    elsewhere.setCookie('veil_session', token);
    expect((await elsewhere.get('/_veil/review')).status).toBe(302);

    client.setCookie('veil_session', token);
    now += 61_000;
    expect((await client.get('/_veil/review')).status).toBe(302);

    now = Date.now();
    const rehashed = users.map((u) => (u.name === REVIEWER.name ? { ...u, hash: users[0]!.hash } : u));
    const changed = buildReviewSystem(store, { users: rehashed });
    const after = new CookieClient(changed.app);
    after.setCookie('veil_session', token);
    expect((await after.get('/_veil/review')).status).toBe(302);
  });

  it('refuses a state change without the CSRF token, or from another origin, and changes nothing', async () => {
    const client = new CookieClient(system.app);
    await client.login(ADMIN.name, ADMIN.password);
    await client.get(`/_veil/review/${itemId}`);
    expect(client.csrf).not.toBe('');

    const noToken = await client.postForm(`/_veil/review/${itemId}/decide`, { action: 'reject' });
    expect(noToken.status).toBe(403);
    const wrongToken = await client.postForm(`/_veil/review/${itemId}/decide`, { action: 'reject', _csrf: 'x'.repeat(32) });
    expect(wrongToken.status).toBe(403);
    const otherSite = await client.postForm(`/_veil/review/${itemId}/decide`, { action: 'reject', _csrf: client.csrf }, { origin: 'https://evil.example' });
    expect(otherSite.status).toBe(403);
    const bulk = await client.postForm('/_veil/review/bulk', { action: 'reject', ids: [itemId] });
    expect(bulk.status).toBe(403);
    const api = await client.postJson(`/_veil/api/review/${itemId}/reject`, {});
    expect(api.status).toBe(403);
    const logout = await client.postForm('/_veil/logout', {});
    expect(logout.status).toBe(403);
    expect((await system.items.get(itemId))?.status).toBe('pending');
    expect((await client.get('/_veil/review')).status).toBe(200); // still signed in

    // The page's own fetch, with the header, is allowed (and undone straight away).
    const withHeader = await client.postJson(`/_veil/api/review/${itemId}/reject`, { reason: 'test' }, { 'x-csrf-token': client.csrf });
    expect(withHeader.status).toBe(200);
    const undo = await client.postJson(`/_veil/api/review/${itemId}/undo`, {}, { 'x-csrf-token': client.csrf });
    expect(undo.status).toBe(200);
    expect((await system.items.get(itemId))?.status).toBe('pending');
  });

  it('keeps reviewers out of admin-only pages: the audit export, the audit API and the queue dashboard', async () => {
    const client = new CookieClient(system.app);
    await client.login(REVIEWER.name, REVIEWER.password);
    expect((await client.get('/_veil/audit.csv')).status).toBe(403);
    expect((await client.get('/_veil/queues')).status).toBe(403);
    expect((await client.get('/_veil/api/audit')).status).toBe(403);
    const audit = await client.get('/_veil/audit');
    expect(audit.status).toBe(200);
    expect(await audit.text()).not.toContain('audit.csv');

    const admin = new CookieClient(system.app);
    await admin.login(ADMIN.name, ADMIN.password);
    expect((await admin.get('/_veil/audit.csv')).status).toBe(200);
    expect((await admin.get('/_veil/queues')).status).toBe(200);
  });

  it('backs off after wrong passwords from one address, then lets the right password in, and audits the lock', async () => {
    const started = new Date();
    let now = Date.now();
    const limited = buildReviewSystem(store, { users, auth: { trustProxy: true, clock: () => now } });
    const client = new CookieClient(limited.app);
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await client.login(ADMIN.name, `wrong ${i}`, from)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // The fifth failure started a short wait: even the right password waits it out.
    const early = await client.login(ADMIN.name, ADMIN.password, from);
    expect(early.status).toBe(429);
    expect(Number(early.headers.get('retry-after'))).toBe(2);
    expect(await early.text()).toContain('Please wait 2 seconds');
    expect(client.cookie('veil_session')).toBeUndefined();
    // Another user from the same address is not held up by this.
    expect((await new CookieClient(limited.app).login(REVIEWER.name, REVIEWER.password, from)).status).toBe(303);
    now += 2_001;
    expect((await client.login(ADMIN.name, ADMIN.password, from)).status).toBe(303);

    const logins = (await limited.audit.collect({ since: started, types: ['login'] })).filter((r) => r.type === 'login' && r.user === ADMIN.name);
    expect(logins.map((r) => (r.type === 'login' ? r.outcome : ''))).toEqual(['failure', 'failure', 'failure', 'failure', 'locked', 'success']);
    expect(JSON.stringify(logins)).not.toContain('wrong');
  });

  it('limits one address trying many user names', async () => {
    const limited = buildReviewSystem(store, { users, auth: { trustProxy: true, limiter: { freePerAddress: 5 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await new CookieClient(limited.app).login(`guess${i}`, 'password', { 'x-forwarded-for': '198.51.100.23' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
  });

  it('never writes a password typed into the user name field to the audit log', async () => {
    const started = new Date();
    await new CookieClient(system.app).login(ADMIN.password, ADMIN.password);
    const records = await system.audit.collect({ since: started, types: ['login'] });
    expect(records.map((r) => (r.type === 'login' ? [r.outcome, r.user] : []))).toEqual([['failure', '(not a user name)']]);
    expect(JSON.stringify(records)).not.toContain(ADMIN.password);
  });

  it('signs out: the cookie is cleared and the old session cookie no longer works', async () => {
    const client = new CookieClient(system.app);
    await client.login(ADMIN.name, ADMIN.password);
    const token = client.cookie('veil_session')!;
    await client.get('/_veil/logout');
    const out = await client.postForm('/_veil/logout', { _csrf: client.csrf });
    expect(out.status).toBe(303);
    expect(client.cookie('veil_session')).toBeUndefined();
    client.setCookie('veil_session', token);
    expect((await client.get('/_veil/review')).status).toBe(302);
  });

  it('never redirects to another site after sign-in', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/_veil/\\evil', '/elsewhere']) {
      const client = new CookieClient(system.app);
      const form = await client.get('/_veil/login');
      const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      const response = await client.postForm('/_veil/login', { _csrf: token, name: ADMIN.name, password: ADMIN.password, next });
      expect(response.headers.get('location'), next).toBe('/_veil/review');
    }
  });
});
