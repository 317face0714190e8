import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../src/storage/index.js';
import { ADMIN, CookieClient, buildReviewSystem, testUsers, type ReviewSystem } from './helpers/review-app.js';
import { storeHeldUpload } from './helpers/review-fixtures.js';

const HOSTILE_NAME = '"><img src=x onerror=alert(1)>.jpg';
const HOSTILE_USER = "teacher'><script>alert(2)</script>";
const HOSTILE_REASON = '<script>alert(3)</script> & "quoted"';

let root: string;
let system: ReviewSystem;
let client: CookieClient;
let hostileId: string;
let plainId: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-review-pages-'));
  const store = new LocalObjectStore(root);
  system = buildReviewSystem(store, { users: await testUsers() });
  const hostile = await storeHeldUpload(store, { mode: 'always-review', originalName: HOSTILE_NAME, user: HOSTILE_USER, path: '/safeguarding/<b>x</b>' });
  hostileId = (await system.items.createHeldItem(hostile.job, hostile.result)).id;
  const plain = await storeHeldUpload(store, { mode: 'always-review' });
  plainId = (await system.items.createHeldItem(plain.job, plain.result)).id;
  await system.actions.reject(hostileId, { name: 'dsl', role: 'admin' }, { reason: HOSTILE_REASON });
  client = new CookieClient(system.app);
  await client.login(ADMIN.name, ADMIN.password);
});
afterAll(async () => {
  system.actions.close();
  await rm(root, { recursive: true, force: true });
});

/** Tags and attributes a page may have; anything injected would show up as something else. */
function injected(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]).filter((tag) => !/^<script src="\/_veil\/assets\/admin\.js" defer>$/.test(tag))
    .concat([...html.matchAll(/<[a-z][^>]*>/gi)].map((m) => m[0]).filter((tag) => /\son\w+=|src="?x[\s">]/i.test(tag)));
}

describe('admin pages', () => {
  it('show hostile file names, user names, paths and reasons as text, never as markup', async () => {
    for (const page of [`/_veil/review/${hostileId}`, '/_veil/review?status=all', '/_veil/audit']) {
      const response = await client.get(page);
      expect(response.status, page).toBe(200);
      const html = await response.text();
      expect(injected(html), page).toEqual([]);
    }
    const detail = await (await client.get(`/_veil/review/${hostileId}`)).text();
    expect(detail).toContain('&#60;script&#62;alert(3)&#60;/script&#62; &#38; &#34;quoted&#34;');
    expect(detail).toContain('&#34;&#62;&#60;img src=x onerror=alert(1)&#62;.jpg');
  });

  it('send headers that keep the pages out of frames, caches and other sites', async () => {
    const response = await client.get('/_veil/review');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const preview = await client.get(`/_veil/review/${plainId}/preview.jpg`);
    expect(preview.headers.get('cache-control')).toBe('private, no-store');
  });

  it('are accessible without a script: one h1, labelled fields, alt text, forms that post', async () => {
    for (const page of ['/_veil/login', '/_veil/review', `/_veil/review/${plainId}`, '/_veil/audit']) {
      const html = await (await (page === '/_veil/login' ? new CookieClient(system.app) : client).get(page)).text();
      expect(html, page).toMatch(/<html lang="en">/);
      expect(html.match(/<h1\b/g)?.length, page).toBe(1);
      expect(html, page).toContain('<meta name="viewport"');
      for (const [, id] of html.matchAll(/<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|checkbox)")[^>]*\bid="([^"]+)"/g)) {
        expect(html, `${page}: label for #${id}`).toContain(`for="${id}"`);
      }
      const unlabelled = [...html.matchAll(/<(?:input|select|textarea)\b(?![^>]*type="(?:hidden|checkbox)")(?![^>]*\bid=)[^>]*>/g)];
      expect(unlabelled.map((m) => m[0]), page).toEqual([]);
      for (const [img] of html.matchAll(/<img\b[^>]*>/g)) expect(img, page).toMatch(/\balt="[^"]+"/);
    }
    const queue = await (await client.get('/_veil/review')).text();
    // Checkboxes sit inside their label, so the whole label is the touch target.
    expect(queue).toMatch(new RegExp(`<label class="select"><input type="checkbox" name="ids" value="${plainId}"> Select this photo<span class="visually-hidden"> \\(${plainId}\\)</span></label>`));
    expect(queue).toContain(`<form method="post" action="/_veil/review/bulk"`);
  });

  it('decide through plain form posts, with a confirmation after the redirect', async () => {
    await client.get(`/_veil/review/${plainId}`);
    const post = await client.postForm(`/_veil/review/${plainId}/decide`, { _csrf: client.csrf, action: 'reject', reason: 'duplicate' });
    expect(post.status).toBe(303);
    const after = await client.get(post.headers.get('location')!);
    const html = await after.text();
    expect(html).toContain('Rejected. The original will be deleted when the undo window ends.');
    expect(html).toContain('value="undo"');
    expect(html).toContain('value="delete-now"');
    const undo = await client.postForm(`/_veil/review/${plainId}/decide`, { _csrf: client.csrf, action: 'undo' });
    expect(undo.status).toBe(303);
    expect((await system.items.require(plainId)).status).toBe('pending');
  });

  it('explain a decision that is no longer possible instead of failing silently', async () => {
    await client.get(`/_veil/review/${hostileId}`);
    const again = await client.postForm(`/_veil/review/${hostileId}/decide`, { _csrf: client.csrf, action: 'reject' });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('has already been decided');
  });
});
