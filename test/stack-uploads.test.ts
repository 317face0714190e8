import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFaces } from '../src/pipeline/faces.js';
import { closeExiftool, nonStructuralTags, readAllTags } from './helpers/exiftool.js';
import { DEMO_PHOTO, FixtureDir } from './helpers/fixtures.js';
import { formBody, parseForm, send } from './helpers/http.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * The whole of Veil as `veil start` runs it (proxy, BullMQ on Redis, worker threads with the
 * ONNX detector, the local store) in front of a stub CMS that records what it receives.
 */
const fx = new FixtureDir();
const photo = readFileSync(DEMO_PHOTO);
let cms: StubUpstream;
let veil: TestVeil;

beforeAll(async () => {
  cms = await startStubUpstream();
  veil = await startTestVeil({ UPSTREAM_URL: cms.url.toString() });
});
afterAll(async () => {
  await veil?.close();
  await cms?.close();
  fx.remove();
  await closeExiftool();
});

/** What ExifTool and the detector say about a file the CMS received. */
async function expectCleanAndRedacted(bytes: Buffer): Promise<void> {
  const file = fx.write(`received-${Date.now()}.jpg`, bytes);
  const tags = await readAllTags(file);
  expect(nonStructuralTags(tags)).toEqual([]);
  expect(tags['GPS:GPSLatitude']).toBeUndefined();
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(Math.max(info.width, info.height)).toBe(1600);
  const faces = await detectFaces({ data, width: info.width, height: info.height, channels: 3 }, { minFaceHeight: 16 });
  expect(faces).toEqual([]);
}

describe('uploads through the whole stack', () => {
  it('a multipart upload reaches the CMS clean and redacted; the other fields byte for byte', async () => {
    const boundary = '----veilStackTest7MA4YWxk';
    const notes = Buffer.from('Sports day — année 2026 ✓\r\n--not-a-boundary');
    const body = formBody(
      [
        { name: 'title', data: 'Year 6 sports day' },
        { name: 'photo', filename: 'jane-smith-year6.jpg', contentType: 'image/jpeg', data: photo },
        { name: 'notes', filename: 'notes.txt', contentType: 'text/plain', data: notes },
      ],
      boundary,
    );
    cms.requests.length = 0;
    const answer = await send(veil.port, {
      method: 'POST',
      path: '/upload?x=1',
      headers: [['Host', 'school.example'], ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)], ['Cookie', 'session=abc']],
      body,
    });
    expect(answer.status).toBe(200);
    expect(cms.requests).toHaveLength(1);
    const received = cms.requests[0]!;
    expect(received.url).toBe('/upload?x=1');
    expect(received.headers.cookie).toEqual(['session=abc']);
    const receivedBoundary = /boundary=("?)([^";]+)\1/.exec(received.headers['content-type']![0]!)![2]!;
    const parts = parseForm(received.body, receivedBoundary);
    expect(parts.map((p) => p.headers['content-disposition'])).toEqual([
      'form-data; name="title"',
      expect.stringMatching(/^form-data; name="photo"; filename="photo-\d{8}-[0-9a-f]{6}\.jpg"$/),
      'form-data; name="notes"; filename="notes.txt"',
    ]);
    expect(parts[0]!.data.toString()).toBe('Year 6 sports day');
    expect(parts[2]!.data.equals(notes)).toBe(true);
    expect(parts[1]!.headers['content-type']).toBe('image/jpeg');
    expect(Number(received.headers['content-length']![0])).toBe(received.bodyLength);
    await expectCleanAndRedacted(parts[1]!.data);
  });

  it('a WordPress REST raw upload reaches the CMS clean and redacted, under a generated name', async () => {
    cms.requests.length = 0;
    cms.handle((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"id":42}');
    });
    const answer = await send(veil.port, {
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="jane-smith.jpg"'], ['Content-Length', String(photo.length)], ['Authorization', 'Basic ZWRpdG9yOnBhc3M=']],
      body: photo,
    });
    expect(answer.status).toBe(201);
    expect(answer.body.toString()).toBe('{"id":42}');
    const received = cms.requests[0]!;
    expect(received.headers['content-disposition']![0]).toMatch(/filename="photo-\d{8}-[0-9a-f]{6}\.jpg"/);
    expect(received.headers.authorization).toEqual(['Basic ZWRpdG9yOnBhc3M=']);
    await expectCleanAndRedacted(received.body);
  });

  it('a Joomla media manager upload (base64 in JSON) reaches the CMS clean and redacted; a damaged one reaches nothing', async () => {
    cms.requests.length = 0;
    cms.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true,"message":null,"messages":null,"data":{}}');
    });
    const path = '/administrator/index.php?option=com_media&format=json&mediatypes=0,1,2,3&task=api.files&path=local-images:/';
    const post = (content: Buffer) => {
      const body = JSON.stringify({ c0ffee: '1', name: 'jane-smith.jpg', content: content.toString('base64') });
      return send(veil.port, { method: 'POST', path, headers: [['Host', 'school.example'], ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body });
    };
    const answer = await post(photo);
    expect(answer.status).toBe(200);
    const received = JSON.parse(cms.requests[0]!.body.toString()) as Record<string, string>;
    expect(received.name).toMatch(/^photo-\d{8}-[0-9a-f]{6}\.jpg$/);
    expect(received.c0ffee).toBe('1');
    await expectCleanAndRedacted(Buffer.from(received.content!, 'base64'));

    cms.requests.length = 0;
    const damaged = await post(photo.subarray(0, 30_000));
    expect(damaged.status).toBeGreaterThanOrEqual(400);
    expect(JSON.parse(damaged.body.toString())).toMatchObject({ success: false, message: expect.stringMatching(/damaged or incomplete/) });
    expect(cms.requests).toHaveLength(0);
  });

  it('a photo pasted into an article (a data: URI in a form post) reaches the CMS clean and redacted', async () => {
    cms.requests.length = 0;
    cms.handle((_req, res) => {
      res.writeHead(303, { location: '/administrator/index.php?option=com_content&view=articles' });
      res.end();
    });
    const body = new URLSearchParams({ 'jform[title]': 'Sports day', 'jform[articletext]': `<p><img src="data:image/jpeg;base64,${photo.toString('base64')}"></p>`, task: 'article.save' }).toString();
    const answer = await send(veil.port, { method: 'POST', path: '/administrator/index.php?option=com_content&layout=edit&id=0', headers: [['Host', 'school.example'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]], body });
    expect(answer.status).toBe(303);
    const saved = new URLSearchParams(cms.requests[0]!.body.toString('latin1'));
    expect(saved.get('jform[title]')).toBe('Sports day');
    const uri = /src="data:image\/jpeg;base64,([^"]+)"/.exec(saved.get('jform[articletext]')!)![1]!;
    await expectCleanAndRedacted(Buffer.from(uri, 'base64'));
  });

  it('passes other requests through untouched, and reports health and metrics', async () => {
    cms.handle((req, res) => {
      res.writeHead(302, { location: '/elsewhere', 'set-cookie': ['a=1; Path=/', 'b=2; HttpOnly'] });
      res.end(req.url);
    });
    const direct = await send(cms.port, { path: '/wp-login.php?redirect_to=%2Fwp-admin%2F' });
    const through = await send(veil.port, { path: '/wp-login.php?redirect_to=%2Fwp-admin%2F' });
    expect(through.status).toBe(direct.status);
    expect(through.headers.location).toEqual(direct.headers.location);
    expect(through.headers['set-cookie']).toEqual(direct.headers['set-cookie']);
    expect(through.body.equals(direct.body)).toBe(true);

    const health = await send(veil.port, { path: '/_veil/health' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: 'ok', checks: { redis: { ok: true }, storage: { ok: true }, model: { ok: true } } });
    const metrics = (await send(veil.port, { path: '/_veil/metrics' })).body.toString();
    expect(metrics).toMatch(/veil_uploads_total\{outcome="sanitised",code=""\} [1-9]/);
    expect(metrics).toMatch(/veil_faces_total\{action="redacted"\} [1-9]/);
    expect(metrics).toMatch(/veil_pipeline_seconds_count [1-9]/);
    expect(metrics).toMatch(/veil_queue_jobs\{state="waiting"\} 0/);
  });

  it('refuses an unreadable image in the CMS format and forwards nothing', async () => {
    cms.requests.length = 0;
    const answer = await send(veil.port, {
      method: 'POST',
      path: '/wp-json/wp/v2/media',
      headers: [['Host', 'school.example'], ['Content-Type', 'image/jpeg'], ['Content-Disposition', 'attachment; filename="x.jpg"'], ['Content-Length', '30000']],
      body: photo.subarray(0, 30_000),
    });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    const json = JSON.parse(answer.body.toString());
    expect(json.code).toMatch(/^veil_/);
    expect(json.message).toMatch(/damaged or incomplete/);
    expect(cms.requests).toHaveLength(0);
  });
});
