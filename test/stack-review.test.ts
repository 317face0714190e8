import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { veilExtensions } from '../src/extensions.js';
import { detectFaces } from '../src/pipeline/faces.js';
import { DEMO_PHOTO } from './helpers/fixtures.js';
import { detailSurviving, grayOf, isVeilGrey, regionVariance } from './helpers/review-regions.js';
import { send } from './helpers/http.js';
import { deleteRedisPrefix } from './helpers/redis-server.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * The review queue wired into the running Veil: a held upload becomes an item a safeguarding
 * lead can decide on, the decision re-runs the pipeline through the queue, a re-upload of the
 * approved original passes, and everything is in the audit log.
 */
const TOKEN = 'test-admin-token-0123456789abcdef';
const photo = readFileSync(DEMO_PHOTO);
let cms: StubUpstream;
let veil: TestVeil;
const env = () => ({ UPSTREAM_URL: cms.url.toString(), FACE_POLICY: 'hold', VEIL_ADMIN_TOKEN: TOKEN, VEIL_SESSION_SECRET: 's'.repeat(40) });

beforeAll(async () => {
  cms = await startStubUpstream();
  veil = await startTestVeil(env(), 'all', veilExtensions);
});
afterAll(async () => {
  await veil?.close();
  await cms?.close();
});

const api = (path: string, method = 'GET', body?: unknown) =>
  send(veil.port, {
    method,
    path: `/_veil/api${path}`,
    headers: [['Host', 'school.example'], ['Authorization', `Bearer ${TOKEN}`], ...(body ? ([['Content-Type', 'application/json'], ['Content-Length', String(JSON.stringify(body).length)]] as [string, string][]) : [])],
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

function restUpload() {
  return send(veil.port, {
    method: 'POST',
    path: '/wp-json/wp/v2/media',
    headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="class-photo.jpg"'], ['Content-Length', String(photo.length)]],
    body: photo,
  });
}

describe('held photos under FACE_POLICY=hold', () => {
  let itemId: string;

  it('answer in the CMS format with a reference, and reach the review queue, not the CMS', async () => {
    cms.requests.length = 0;
    const answer = await restUpload();
    expect(answer.status).toBe(403);
    const body = JSON.parse(answer.body.toString());
    expect(body.message).toMatch(/waiting for the safeguarding lead's review/);
    expect(cms.requests).toHaveLength(0);
    itemId = /Reference: (\S+)\./.exec(body.message)![1]!;

    const list = JSON.parse((await api('/review')).body.toString());
    const items = list.items ?? list;
    expect(items.map((i: { id: string }) => i.id)).toContain(itemId);
    expect((await send(veil.port, { path: '/_veil/api/review' })).status).toBe(401);
  });

  it('approve-redacted publishes a blurred, clean photo; the audit log has the upload and the decision', async () => {
    const decided = await api(`/review/${itemId}/approve-redacted`, 'POST', { reason: 'consent on file for the class, faces blurred' });
    expect(decided.status).toBe(200);
    const approved = await api(`/review/${itemId}/approved`);
    expect(approved.status).toBe(200);
    const { data, info } = await sharp(approved.body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(await detectFaces({ data, width: info.width, height: info.height, channels: 3 }, { minFaceHeight: 16 })).toEqual([]);
    expect((await sharp(approved.body).metadata()).exif).toBeUndefined();

    const audit = JSON.parse((await api('/audit?format=json')).body.toString());
    const records = audit.records ?? audit;
    const types = records.map((r: { type: string }) => r.type);
    expect(types).toEqual(expect.arrayContaining(['upload', 'review']));
    expect(JSON.stringify(records)).not.toMatch(/37\.319|ILCE/); // never the metadata values
  });

  it('a re-upload of the same original passes with the approved decision', async () => {
    cms.requests.length = 0;
    const answer = await restUpload();
    expect(answer.status).toBe(200);
    expect(cms.requests).toHaveLength(1);
    const received = cms.requests[0]!.body;
    const { data, info } = await sharp(received).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(await detectFaces({ data, width: info.width, height: info.height, channels: 3 }, { minFaceHeight: 16 })).toEqual([]);
  });

  it('keeps /_veil/ closed to anonymous visitors, but for the health check load balancers need', async () => {
    const anonymous = (path: string) => send(veil.port, { path, headers: [['Host', 'school.example']] });
    expect((await anonymous('/_veil/metrics')).status).toBe(401);
    expect((await anonymous('/_veil/review')).status).toBe(302);
    expect((await anonymous('/_veil/api/review')).status).toBe(401);
    expect((await anonymous('/_veil/api/audit')).status).toBe(401);
    expect((await anonymous('/_veil/queues')).status).toBe(302);
    expect((await anonymous('/_veil/demo/original/20261126-000000-00000000')).status).toBe(404); // not in demo mode
    const health = await anonymous('/_veil/health');
    expect(health.status).toBe(200);
    expect(health.body.toString()).not.toMatch(/redis:\/\/|\/tmp\//); // says what is down, not where things are
    const metrics = await send(veil.port, { path: '/_veil/metrics', headers: [['Authorization', `Bearer ${TOKEN}`]] });
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toMatch(/veil_uploads_total/);
  });

  it('approve-redacted with edited boxes goes through the queue and the worker: the added box is hidden, the removed one is not', async () => {
    // sample1 at 1200 px across: a different original, so it is held rather than passed with the decision above.
    const smaller = await sharp(photo).resize(1200).jpeg({ quality: 92 }).toBuffer();
    const upload = await send(veil.port, {
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="c.jpg"'], ['Content-Length', String(smaller.length)]],
      body: smaller,
    });
    const id = /Reference: (\S+)\./.exec(JSON.parse(upload.body.toString()).message)![1]!;
    const listed = JSON.parse((await api(`/review/${id}`)).body.toString()).redactionBoxes;
    expect(listed).toMatchObject({ imageWidth: 1200, imageHeight: 800 });
    // The detector's own boxes (three people, and whatever else it is unsure about): the third is removed.
    expect(listed.boxes.length).toBeGreaterThanOrEqual(3);
    const added: [number, number, number, number] = [150, 590, 150, 150]; // the tartan skirt, standing for a missed face
    const removed = listed.boxes[2] as [number, number, number, number];
    const bad = await api(`/review/${id}/approve-redacted`, 'POST', { boxes: [[1100, 700, 200, 200]] });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).error.code).toBe('INVALID_BOXES');

    const decided = await api(`/review/${id}/approve-redacted`, 'POST', { boxes: [listed.boxes[0], listed.boxes[1], added], redaction: 'solid', reason: 'one missed face' });
    expect(decided.status).toBe(200);
    expect(JSON.parse(decided.body.toString()).approved).toMatchObject({ facesRedacted: 3, redaction: 'solid' });
    const approved = await grayOf((await api(`/review/${id}/approved`)).body);
    const original = await grayOf(smaller);
    expect(approved.width).toBe(1200); // already under MAX_EDGE: same pixels as the original
    expect(isVeilGrey(approved, added, 1200)).toBe(true); // Veil's greys: the photo's detail there is gone
    expect(regionVariance(original, added, 1200)).toBeGreaterThan(100);
    expect(detailSurviving(original, approved, removed, 1200)).toBeGreaterThan(0.9);

    const audit = JSON.parse((await api('/audit?format=json&type=review')).body.toString()).records as Array<{ action: string; itemId: string; boxes?: unknown }>;
    const mine = audit.filter((r) => r.itemId === id);
    expect(mine.map((r) => r.action)).toEqual(['edit-boxes', 'approve-redacted']);
    const dropped = (listed.boxes as number[][]).slice(2);
    expect(mine[0]!.boxes).toEqual({ added: 1, removed: dropped.length, total: 3, addedSizes: ['150×150'], removedSizes: dropped.map((b) => `${b[2]}×${b[3]}`) });

    // The same original uploaded again passes with the reviewer's boxes, not the detector's.
    cms.requests.length = 0;
    const again = await send(veil.port, {
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="c.jpg"'], ['Content-Length', String(smaller.length)]],
      body: smaller,
    });
    expect(again.status).toBe(200);
    const published = await grayOf(cms.requests[0]!.body);
    expect(isVeilGrey(published, added, 1200)).toBe(true);
    expect(detailSurviving(original, published, removed, 1200)).toBeGreaterThan(0.9);
  });

  it('a restart loses no held item', async () => {
    cms.requests.length = 0;
    const otherPhoto = await sharp(photo).resize(1000).jpeg().toBuffer();
    const second = await send(veil.port, {
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="b.jpg"'], ['Content-Length', String(otherPhoto.length)]],
      body: otherPhoto,
    });
    const id = /Reference: (\S+)\./.exec(JSON.parse(second.body.toString()).message)![1]!;
    // A new Redis prefix stands for a Redis that lost everything: the items live in the store.
    const { dataDir, config } = veil;
    await veil.stop();
    await deleteRedisPrefix(config.redis.url, config.redis.prefix);
    veil = await startTestVeil({ ...env(), DATA_DIR: dataDir, REDIS_PREFIX: `${config.redis.prefix}-again` }, 'all', veilExtensions);
    const item = JSON.parse((await api(`/review/${id}`)).body.toString());
    expect((item.item ?? item).status).toBe('pending');
  });
});
