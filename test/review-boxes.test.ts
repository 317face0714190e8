import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReviewAuditRecord } from '../src/audit/records.js';
import { API_TOKEN_ACTOR } from '../src/review/auth.js';
import type { ReviewItem } from '../src/review/item.js';
import { LocalObjectStore } from '../src/storage/index.js';
import { ADMIN, API_TOKEN, CookieClient, REVIEWER, buildReviewSystem, testUsers, type ReviewSystem } from './helpers/review-app.js';
import { directReprocess, storeHeldUpload } from './helpers/review-fixtures.js';
import { detailSurviving, grayOf, isVeilGrey, regionDetail, regionDifference, regionMean, regionVariance, type OriginalBox } from './helpers/review-regions.js';

/*
 * Editing the face boxes of a held photo through the API (bearer token, and a page's session with
 * its CSRF token) and through the pages' plain forms, with the real pipeline behind the approvals.
 * sample1.jpg is 1920 × 1280; the detector finds its three faces.
 */
const WIDTH = 1920;
/** The tartan skirt at the bottom left: no face, plenty of texture to lose. */
const TEXTURE: OriginalBox = [240, 940, 240, 240];

let root: string;
let store: LocalObjectStore;
let system: ReviewSystem;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-review-boxes-'));
  store = new LocalObjectStore(root);
  system = buildReviewSystem(store, { users: await testUsers(), reprocess: directReprocess(store) });
});
afterAll(async () => {
  system.actions.close();
  await rm(root, { recursive: true, force: true });
});

async function held(): Promise<ReviewItem> {
  const { job, result } = await storeHeldUpload(store, { mode: 'hold', originalName: 'year6-sports.jpg' });
  return system.items.createHeldItem(job, result);
}

const bearer = { authorization: `Bearer ${API_TOKEN}` };
function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Response> {
  return Promise.resolve(system.app.request(`http://localhost/_veil/api${url}`, { method, headers: { ...bearer, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) }));
}

async function reviewRecords(itemId: string): Promise<ReviewAuditRecord[]> {
  return (await system.audit.collect()).filter((r): r is ReviewAuditRecord => r.type === 'review' && r.itemId === itemId);
}

describe('the review API takes face box edits', () => {
  it('lists the boxes approve-redacted would hide, in pixels of the original', async () => {
    const item = await held();
    const body = await (await api('GET', `/review/${item.id}`)).json();
    expect(body.redactionBoxes).toMatchObject({ imageWidth: 1920, imageHeight: 1280, redaction: 'blur' });
    expect(body.redactionBoxes.boxes).toHaveLength(3);
    for (const [x, y, w, h] of body.redactionBoxes.boxes as OriginalBox[]) {
      expect(x + w).toBeLessThanOrEqual(1920);
      expect(y + h).toBeLessThanOrEqual(1280);
      expect(h).toBeGreaterThan(150); // ~200 px tall faces in the original, ~167 px once published
    }
  });

  it('refuses bad boxes with a 400 and a stable code, and changes nothing', async () => {
    const item = await held();
    const cases: Array<[unknown, string, RegExp]> = [
      [{ boxes: [[1800, 100, 200, 200]] }, 'INVALID_BOXES', /outside the photo, which is 1920 × 1280/],
      [{ boxes: [[-5, 100, 50, 50]] }, 'INVALID_BOXES', /outside the photo/],
      [{ boxes: [[10, 10, 2, 40]] }, 'INVALID_BOXES', /too small/],
      [{ boxes: [[10, 10, 'wide', 40]] }, 'INVALID_BOXES', /four numbers/],
      [{ boxes: [[10, 10, 40]] }, 'INVALID_BOXES', /four numbers/],
      [{ boxes: 'all of them' }, 'INVALID_BOXES', /list of boxes/],
      [{ boxes: Array.from({ length: 201 }, () => [10, 10, 40, 40]) }, 'INVALID_BOXES', /At most 200/],
      [{ remove: [7] }, 'INVALID_BOXES', /no box 7/],
      [{ remove: ['first'] }, 'INVALID_BOXES', /box numbers/],
      [{ boxes: [[10, 10, 40, 40]], add: [[50, 50, 40, 40]] }, 'INVALID_BOXES', /either/],
      [{ redaction: 'swirl' }, 'INVALID_REDACTION', /blur, pixelate or solid/],
    ];
    for (const [body, code, message] of cases) {
      const response = await api('POST', `/review/${item.id}/approve-redacted`, body);
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      const { error } = await response.json();
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    }
    const boxesOnApprove = await api('POST', `/review/${item.id}/approve`, { boxes: [[10, 10, 40, 40]] });
    expect(boxesOnApprove.status).toBe(400);
    expect((await boxesOnApprove.json()).error.code).toBe('BAD_REQUEST');
    const after = await system.items.require(item.id);
    expect(after.status).toBe('pending');
    expect(after.boxEdit).toBeUndefined();
    expect(await reviewRecords(item.id)).toEqual([]);
  });

  it('approve-redacted hides the edited boxes with the chosen redaction; a removed box stays as it was; the audit log has counts and sizes only', async () => {
    const item = await held();
    const listed = (await (await api('GET', `/review/${item.id}`)).json()).redactionBoxes.boxes as OriginalBox[];
    const removed = listed[2]!;
    const boxes = [listed[0]!, listed[1]!, TEXTURE];
    const response = await api('POST', `/review/${item.id}/approve-redacted`, { boxes, redaction: 'pixelate', reason: 'one face missed, one box on a poster' });
    expect(response.status).toBe(200);
    const decided = await response.json();
    expect(decided.status).toBe('approved-redacted');
    expect(decided.approved).toMatchObject({ facesRedacted: 3, redaction: 'pixelate' });

    const approved = await grayOf((await system.items.approvedFile(decided))!.bytes);
    const asIs = await grayOf((await directReprocess(store)(item, 'allow')).bytes);
    // The added region was textured, and is not any more.
    expect(regionDetail(asIs, TEXTURE, WIDTH)).toBeGreaterThan(1.5);
    for (const box of boxes) expect(detailSurviving(asIs, approved, box, WIDTH), `box ${box.join(',')}`).toBeLessThan(0.2);
    // The removed box is exactly as published without redaction.
    expect(detailSurviving(asIs, approved, removed, WIDTH)).toBeGreaterThan(0.97);
    expect(regionDifference(approved, asIs, removed, WIDTH)).toBeLessThan(2);

    const records = await reviewRecords(item.id);
    expect(records.map((r) => r.action)).toEqual(['edit-boxes', 'approve-redacted']);
    expect(records[0]).toMatchObject({
      actor: API_TOKEN_ACTOR,
      boxes: { added: 1, removed: 1, total: 3, addedSizes: ['240×240'], removedSizes: [`${removed[2]}×${removed[3]}`] },
      redaction: 'pixelate',
    });
    expect(records[1]).toMatchObject({ boxes: { total: 3 }, redaction: 'pixelate', reason: 'one face missed, one box on a poster' });
    // Sizes, never positions: the added box's corner is nowhere in the log.
    const logged = JSON.stringify(records);
    expect(logged).not.toMatch(/\b940\b/);
    // A re-upload of the same original hides the same boxes.
    expect(await system.items.findApprovedBySha256(item.upload.sha256)).toMatchObject({ policy: 'blur', redactionKey: `review/${item.id}/redaction.json` });
  });

  it('saves edits as a step of their own (POST .../boxes), each audited, then approves with them', async () => {
    const item = await held();
    const added = await api('POST', `/review/${item.id}/boxes`, { add: [TEXTURE] });
    expect(added.status).toBe(200);
    expect((await added.json()).redactionBoxes.boxes).toHaveLength(4);
    const removed = await api('POST', `/review/${item.id}/boxes`, { remove: [1, 2], redaction: 'solid' });
    const body = await removed.json();
    expect(body.redactionBoxes).toMatchObject({ boxes: [expect.any(Array), TEXTURE], redaction: 'solid' });
    const decided = await (await api('POST', `/review/${item.id}/approve-redacted`, {})).json();
    expect(decided.approved).toMatchObject({ facesRedacted: 2, redaction: 'solid' });
    const approved = await grayOf((await system.items.approvedFile(decided))!.bytes);
    expect(isVeilGrey(approved, TEXTURE, WIDTH)).toBe(true); // Veil's greys: the photo's detail there is gone
    const records = await reviewRecords(item.id);
    expect(records.map((r) => [r.action, r.boxes?.added, r.boxes?.removed])).toEqual([
      ['edit-boxes', 1, 0],
      ['edit-boxes', 0, 2],
      ['approve-redacted', 0, 0],
    ]);
    expect(decided.history.map((h: { action: string }) => h.action)).toEqual(['edit-boxes', 'edit-boxes', 'approve-redacted']);
    const done = await api('POST', `/review/${item.id}/boxes`, { add: [TEXTURE] });
    expect(done.status).toBe(409);
  });

  it('checks the session, its CSRF token and the role as the other decisions do', async () => {
    const item = await held();
    const anonymous = await system.app.request(`http://localhost/_veil/api/review/${item.id}/boxes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"add":[[10,10,40,40]]}' });
    expect(anonymous.status).toBe(401);
    const reviewer = new CookieClient(system.app);
    await reviewer.login(REVIEWER.name, REVIEWER.password);
    await reviewer.get(`/_veil/review/${item.id}`);
    const noToken = await reviewer.postJson(`/_veil/api/review/${item.id}/boxes`, { add: [[10, 10, 40, 40]] });
    expect(noToken.status).toBe(403);
    const withToken = await reviewer.postJson(`/_veil/api/review/${item.id}/boxes`, { add: [[10, 10, 40, 40]] }, { 'x-csrf-token': reviewer.csrf });
    expect(withToken.status).toBe(200);
    expect((await reviewRecords(item.id)).map((r) => [r.action, r.actor, r.role])).toEqual([['edit-boxes', REVIEWER.name, 'reviewer']]);
  });
});

describe('the box editor without JavaScript (plain form posts)', () => {
  it('adds a typed box, removes one, chooses the redaction and approves, all audited', async () => {
    const item = await held();
    const client = new CookieClient(system.app);
    await client.login(ADMIN.name, ADMIN.password);
    const page = await (await client.get(`/_veil/review/${item.id}`)).text();
    expect(page).toContain('Veil found 3 faces');
    expect(page).toContain('The detector can miss faces');
    expect(page).toContain('<form class="add-box" method="post" action="/_veil/review/');
    expect(page).not.toContain('year6-sports.jpg</h1>');

    const bad = await client.postForm(`/_veil/review/${item.id}/boxes`, { _csrf: client.csrf, op: 'add', x: '1900', y: '10', w: '80', h: '80' });
    expect(bad.status).toBe(400);
    const badPage = await bad.text();
    expect(badPage).toContain('reaches outside the photo');
    expect(badPage).toContain('value="1900"'); // what was typed is still there to correct

    const forged = await client.postForm(`/_veil/review/${item.id}/boxes`, { _csrf: 'not-the-token', op: 'add', x: '10', y: '10', w: '80', h: '80' });
    expect(forged.status).toBe(403);

    const add = await client.postForm(`/_veil/review/${item.id}/boxes`, { _csrf: client.csrf, op: 'add', x: String(TEXTURE[0]), y: String(TEXTURE[1]), w: String(TEXTURE[2]), h: String(TEXTURE[3]) });
    expect(add.status).toBe(303);
    const afterAdd = await (await client.get(add.headers.get('location')!)).text();
    expect(afterAdd).toContain('Boxes to hide (4 boxes)');
    expect(afterAdd).toContain(`Box 4: 240 × 240 pixels at ${TEXTURE[0]}, ${TEXTURE[1]}`);
    expect(afterAdd).toContain('Remove box 4');

    const remove = await client.postForm(`/_veil/review/${item.id}/boxes`, { _csrf: client.csrf, op: 'remove', box: '1' });
    expect(remove.status).toBe(303);
    const afterRemove = await (await client.get(remove.headers.get('location')!)).text();
    expect(afterRemove).toContain('Boxes to hide (3 boxes)');
    expect(afterRemove).toContain('Face boxes changed');
    expect(afterRemove).toMatch(/Removed 1 box \(\d+ × \d+ px\)/);

    const approve = await client.postForm(`/_veil/review/${item.id}/decide`, { _csrf: client.csrf, action: 'approve-redacted', redaction: 'pixelate', reason: 'checked every face' });
    expect(approve.status).toBe(303);
    const decidedPage = await (await client.get(approve.headers.get('location')!)).text();
    expect(decidedPage).toContain('3 faces pixelated');
    expect(decidedPage).toContain('Approved with faces hidden');
    // Words, not codes or ISO times, in what the page shows (the <time> elements keep ISO for machines).
    const shown = decidedPage.replace(/<[^>]+>/g, ' ');
    expect(shown).not.toMatch(/approve-redacted|edit-boxes|\d{4}-\d\d-\d\dT\d\d:/);

    const decided = await system.items.require(item.id);
    expect(decided.approved).toMatchObject({ facesRedacted: 3, redaction: 'pixelate' });
    const records = await reviewRecords(item.id);
    expect(records.map((r) => [r.action, r.actor, r.boxes?.added ?? 0, r.boxes?.removed ?? 0, r.redaction])).toEqual([
      ['edit-boxes', ADMIN.name, 1, 0, 'blur'],
      ['edit-boxes', ADMIN.name, 0, 1, 'blur'],
      ['edit-boxes', ADMIN.name, 0, 0, 'pixelate'],
      ['approve-redacted', ADMIN.name, 0, 0, 'pixelate'],
    ]);
  });

  it('names items by when and where they were uploaded, says who uploaded them in words, counts "1 face"', async () => {
    const { job, result } = await storeHeldUpload(store, { mode: 'always-review', originalName: 'jane-smith.jpg', now: new Date('2026-12-02T08:09:16Z') });
    const item = await system.items.createHeldItem(job, result);
    const client = new CookieClient(system.app);
    await client.login(ADMIN.name, ADMIN.password);
    const queue = await (await client.get('/_veil/review')).text();
    expect(queue).toContain('Photo uploaded to WordPress on 2 December 2026 at 08:09');
    expect(queue).not.toContain(`>Photo ${item.id}<`);
    expect(queue).not.toContain('jane-smith');
    const page = await (await client.get(`/_veil/review/${item.id}`)).text();
    expect(page).toContain('Uploader not recorded');
    expect(page).not.toContain('not known');
    await client.postForm(`/_veil/review/${item.id}/boxes`, { _csrf: client.csrf, op: 'add', x: '100', y: '100', w: '120', h: '150' });
    const one = await (await client.get(`/_veil/review/${item.id}`)).text();
    expect(one).toContain('Boxes to hide (1 box)');
    expect(one).toContain('Added 1 box (120 × 150 px). 1 box now.');
    expect(one).not.toMatch(/\b1 (faces|boxes)\b/);
  });
});
