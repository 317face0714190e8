import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { veilExtensions } from '../src/extensions.js';
import { createLogger } from '../src/ops/log.js';
import { basePhoto } from './helpers/fixtures.js';
import { closeExiftool, readAllTags, writeTags } from './helpers/exiftool.js';
import { send } from './helpers/http.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * Veil's own state must not become a second copy of what it strips: after real uploads of
 * `jane-smith-year6.jpg` carrying GPS and a camera, through the whole stack (queue, worker, review
 * queue, audit), nothing under Veil's Redis prefix and no log line holds the name, the
 * coordinates in any usual spelling, or the camera.
 */
const NAME = 'jane-smith-year6.jpg';
const CAMERA_MAKE = 'Hasselblad';
const CAMERA_MODEL = 'X2D 100C';
/** 51°30'36.4"N 0°8'30.8"W, written as ExifTool reads them back. */
const LAT = 51.510111;
const LON = -0.141889;
const FORBIDDEN: RegExp[] = [
  /jane/i,
  /smith-year6/i,
  /year6/i,
  /51\.51/, // decimal, any precision
  /0\.141|0\.142/,
  /51\s*(°|deg|,|\/1)\s*30/i, // degrees and minutes: 51°30', 51 deg 30', EXIF rationals 51/1 30/1
  /\b0\s*(°|deg)\s*8/i,
  /30'\s*36/,
  /8'\s*30/,
  /hasselblad/i,
  /X2D/i,
];

let dir: string;
let photo: Buffer;
let cms: StubUpstream;
let veil: TestVeil;
const logLines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'veil-privacy-'));
  const file = join(dir, NAME);
  await (await basePhoto(900)).jpeg().toFile(file);
  await writeTags(file, [
    `-GPSLatitude=${LAT}`,
    '-GPSLatitudeRef=N',
    `-GPSLongitude=${Math.abs(LON)}`,
    '-GPSLongitudeRef=W',
    `-Make=${CAMERA_MAKE}`,
    `-Model=${CAMERA_MODEL}`,
    '-XMP-dc:Title=Jane Smith, year 6',
  ]);
  const tags = await readAllTags(file);
  // The fixture really carries what the test looks for.
  expect(String(tags['GPS:GPSLatitude'])).toMatch(/^51\.51/);
  expect(tags['IFD0:Make']).toBe(CAMERA_MAKE);
  photo = readFileSync(file);

  cms = await startStubUpstream();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  veil = await startTestVeil(
    { UPSTREAM_URL: cms.url.toString(), ALWAYS_REVIEW_PATHS: '/held/', LOG_LEVEL: 'debug', VEIL_ADMIN_TOKEN: 'a-long-admin-token-for-the-privacy-test' },
    'all',
    veilExtensions,
    createLogger('debug', sink),
  );
}, 120_000);

afterAll(async () => {
  await veil?.close();
  await cms?.close();
  await closeExiftool();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every key under the prefix, whatever its type, as text. */
async function dumpRedis(url: string, prefix: string): Promise<{ keys: string[]; text: string }> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const keys: string[] = [];
  const parts: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    for (const key of keys) {
      const type = await redis.type(key);
      parts.push(`${key} (${type})`);
      if (type === 'string') parts.push((await redis.getBuffer(key))?.toString('latin1') ?? '');
      // Values as stored (not re-quoted), so a JSON job or result reads as it is.
      else if (type === 'hash') parts.push(...Object.entries(await redis.hgetall(key)).map(([f, v]) => `${f}=${v}`));
      else if (type === 'list') parts.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(...(await redis.smembers(key)));
      else if (type === 'zset') parts.push(...(await redis.zrange(key, '0', '-1')));
      else if (type === 'stream') parts.push(...(await redis.xrange(key, '-', '+')).map(([id, fields]) => `${id} ${fields.join(' ')}`));
      else parts.push(`unread type ${type}`);
    }
  } finally {
    redis.disconnect();
  }
  return { keys, text: parts.join('\n') };
}

function upload(path: string, method: 'POST' | 'PUT' = 'POST') {
  return send(veil.port, {
    method,
    path,
    headers: [
      ['Host', 'school.example'],
      ['Content-Type', 'image/jpeg'],
      ['Content-Disposition', `attachment; filename="${NAME}"`],
      ['Content-Length', String(photo.length)],
    ],
    body: photo,
  });
}

describe("Veil's own state", () => {
  it('holds no file name, coordinates or camera in Redis or in its logs', async () => {
    cms.requests.length = 0;
    // WordPress REST (the name in a header), a WebDAV-style PUT (the name in the path), and a held upload.
    expect((await upload('/wp-json/wp/v2/media')).status).toBe(200);
    expect((await upload(`/remote.php/dav/files/teacher/${NAME}`, 'PUT')).status).toBe(200);
    const held = await upload(`/held/${NAME}`);
    expect(held.body.toString()).toMatch(/waiting for the safeguarding lead's review/);
    expect(cms.requests).toHaveLength(2);
    for (const req of cms.requests) {
      expect(req.body.includes(Buffer.from(CAMERA_MAKE))).toBe(false);
      expect(req.body.length).toBeGreaterThan(1000);
    }

    const { keys, text } = await dumpRedis(veil.config.redis.url, veil.config.redis.prefix);
    // Not a vacuous scan: the three jobs and their results are there.
    const jobHashes = keys.filter((k) => /:uploads:\d{8}-\d{6}-[0-9a-f]{8}$/.test(k));
    expect(jobHashes.length).toBe(3);
    for (const pattern of FORBIDDEN) expect(text, `Redis holds ${pattern}`).not.toMatch(pattern);
    expect(text).toMatch(/"outcome":"sanitised"/);
    expect(text).toMatch(/"outcome":"held"/);
    expect(text).toMatch(/"metadataRemoved":\[[^\]]*"gps"/);

    // The review queue (private object store) still knows the name and the request, for the lead.
    const list = await send(veil.port, { path: '/_veil/api/review', headers: [['Authorization', 'Bearer a-long-admin-token-for-the-privacy-test']] });
    expect(list.status).toBe(200);
    const items = JSON.parse(list.body.toString()).items as Array<{ upload: { originalName?: string }; uploader: { path: string }; removedMetadata: string[] }>;
    expect(items).toHaveLength(1);
    expect(items[0]!.upload.originalName).toBe(NAME);
    expect(items[0]!.uploader.path).toBe(`/held/${NAME}`);
    expect(items[0]!.removedMetadata).toContain('gps');

    expect(logLines.some((l) => l.includes('"msg":"upload sanitised"'))).toBe(true);
    expect(logLines.some((l) => l.includes('"route"'))).toBe(true);
    for (const line of logLines) {
      for (const pattern of FORBIDDEN) expect(line, `a log line holds ${pattern}`).not.toMatch(pattern);
    }
  }, 120_000);
});

describe('the demo site', () => {
  it('still shows what was removed: the report comes from the private store, not from Redis', async () => {
    const demo = await startTestVeil({});
    try {
      const boundary = 'demoBoundary';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="${NAME}"\r\nContent-Type: image/jpeg\r\n\r\n`),
        photo,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const res = await send(demo.port, {
        method: 'POST',
        path: '/upload',
        headers: [['Host', 'localhost'], ['Accept', 'application/json'], ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]],
        body,
      });
      expect(res.status).toBe(200);
      const { location } = JSON.parse(res.body.toString()) as { location: string };
      const page = (await send(demo.port, { path: location, headers: [['Host', 'localhost']] })).body.toString();
      expect(page).toMatch(/GPS position/);
      // The demo is there to show the uploader their own photo's details; that page is the one place.
      expect(page).toContain(NAME);
    } finally {
      await demo.close();
    }
  }, 120_000);
});
