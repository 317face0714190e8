import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeExiftool, nonStructuralTags, readAllTags, writeTags } from '../helpers/exiftool.js';
import { DEMO_DIR, DEMO_PHOTO, FixtureDir } from '../helpers/fixtures.js';
import { startTestVeil, type TestVeil } from '../helpers/veil-stack.js';
import { MediaWikiClient } from './helpers/mediawiki-client.js';
import { mediawikiMissing, startMediaWiki, type MediaWikiSite } from './helpers/mediawiki.js';

/**
 * Debian's MediaWiki (php -S, SQLite) with the whole of Veil in front, used as mw.Api and
 * UploadWizard use it: a whole-file upload, and a 10 MB photo in 1 MiB stash chunks that follow
 * the offsets the server returns, then the commit by file key. What the wiki stored, found in its
 * upload folder and by its imageinfo URL, is read back with ExifTool.
 */
const missing = mediawikiMissing();
if (missing) console.warn(`[e2e] MediaWiki suite skipped: ${missing}`);

const CHUNK = 1024 * 1024;
const fx = new FixtureDir();

/** A ~10 MB camera-sized JPEG with GPS and a camera's metadata: the demo photo, enlarged, with grain. */
async function bigPhoto(): Promise<Buffer> {
  const { width, height } = await sharp(DEMO_PHOTO).metadata();
  const w = 5600;
  const h = Math.round((w * height!) / width!);
  const grain = await sharp({ create: { width: w, height: h, channels: 3, background: { r: 128, g: 128, b: 128 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  const jpeg = await sharp(DEMO_PHOTO).resize(w, h).composite([{ input: grain, blend: 'overlay' }]).jpeg({ quality: 96 }).toBuffer();
  const file = fx.write('big-original.jpg', jpeg);
  await writeTags(file, ['-GPSLatitude=51.501', '-GPSLatitudeRef=N', '-GPSLongitude=0.1419', '-GPSLongitudeRef=W', '-Make=Apple', '-Model=iPhone 15', '-Artist=Jane Teacher']);
  return readFileSync(file);
}

async function expectSanitised(bytes: Buffer, original: { width: number }): Promise<void> {
  const file = fx.write(`stored-${Date.now()}-${Math.random().toString(36).slice(2)}.jpg`, bytes);
  const tags = await readAllTags(file);
  expect(tags['GPS:GPSLatitude'], 'no GPS').toBeUndefined();
  expect(nonStructuralTags(tags), 'no metadata at all').toEqual([]);
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  expect(Math.max(width, height), 'downscaled').toBeLessThanOrEqual(1600);
  expect(width).toBeLessThan(original.width);
}

describe.skipIf(missing !== undefined)('Debian MediaWiki behind Veil', () => {
  let wiki: MediaWikiSite;
  let veil: TestVeil;
  let photo: Buffer;
  let photoWidth: number;

  beforeAll(async () => {
    [wiki, photo] = await Promise.all([startMediaWiki(), bigPhoto()]);
    photoWidth = (await sharp(photo).metadata()).width!;
    veil = await startTestVeil({ UPSTREAM_URL: wiki.url, FACE_POLICY: 'blur', MAX_UPLOAD_BYTES: '64MiB' });
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(`php -S log, last lines:\n${wiki?.serverLog() ?? ''}`));
  });
  afterAll(async () => {
    await veil?.close();
    await wiki?.stop();
    fx.remove();
    await closeExiftool();
  });

  async function client(port: number): Promise<MediaWikiClient> {
    const c = new MediaWikiClient(`http://127.0.0.1:${port}`);
    await c.login(wiki.admin.name, wiki.admin.password);
    return c;
  }

  it('the fixture is what a phone makes: about 10 MB, with GPS', async () => {
    expect(photo.byteLength).toBeGreaterThan(8 * 1024 * 1024);
    const tags = await readAllTags(fx.write('check.jpg', photo));
    expect(tags['GPS:GPSLatitude']).toBeDefined();
  });

  it('a whole-file api.php upload succeeds and the wiki stores only sanitised bytes', async () => {
    const c = await client(veil.port);
    const answer = await c.uploadWhole('Veil whole upload.jpg', photo);
    expect(answer.json.upload?.result, JSON.stringify(answer.json)).toBe('Success');
    const url = await c.imageUrl('Veil whole upload.jpg');
    expect(url).toBeDefined();
    await expectSanitised(await c.fetchBytes(url!), { width: photoWidth });
  });

  it('a Special:Upload form upload succeeds and the wiki stores only sanitised bytes', async () => {
    const c = await client(veil.port);
    const before = new Set(wiki.uploadedFiles());
    const answer = await c.specialUpload('Veil form upload.jpg', photo);
    expect(answer.status, answer.html.slice(0, 2000)).toBe(302);
    expect(answer.location).toMatch(/File:Veil_form_upload\.jpg/);
    const stored = wiki.uploadedFiles().filter((file) => !before.has(file));
    expect(stored).toHaveLength(1);
    await expectSanitised(readFileSync(stored[0]!), { width: photoWidth });
  });

  it('a 10 MB photo in 1 MiB stash chunks, following the offsets, then committed by file key, succeeds sanitised', async () => {
    const c = await client(veil.port);
    const before = new Set(wiki.uploadedFiles());
    const answers = await c.uploadChunksToStash('Veil chunked upload.jpg', photo, CHUNK);
    const last = answers.at(-1)!.json;
    expect(last.upload?.result, JSON.stringify(last)).toBe('Success');
    // Every piece but the last was answered with the next offset, never refused.
    expect(answers.length).toBe(Math.ceil(photo.byteLength / CHUNK));
    answers.slice(0, -1).forEach((answer, i) => expect(answer.json.upload).toMatchObject({ result: 'Continue', offset: (i + 1) * CHUNK }));
    const committed = await c.commit(last.upload.filekey as string, 'Veil chunked upload.jpg');
    expect(committed.json.upload?.result, JSON.stringify(committed.json)).toBe('Success');

    const url = await c.imageUrl('Veil chunked upload.jpg');
    expect(url).toBeDefined();
    const served = await c.fetchBytes(url!);
    await expectSanitised(served, { width: photoWidth });
    const stored = wiki.uploadedFiles().filter((file) => !before.has(file));
    expect(stored).toHaveLength(1);
    const onDisk = readFileSync(stored[0]!);
    expect(onDisk.equals(served)).toBe(true);
    // Nothing of the original's compressed picture reached the wiki's folder.
    const window = photo.subarray(photo.byteLength - 4096, photo.byteLength - 4096 + 24);
    expect(onDisk.includes(window)).toBe(false);
  });

  it('without Veil the same chunks store the original with its GPS (what Veil prevents)', async () => {
    const c = await client(wiki.port);
    const answers = await c.uploadChunksToStash('Direct chunked upload.jpg', photo, CHUNK);
    const last = answers.at(-1)!.json;
    expect(last.upload?.result, JSON.stringify(last)).toBe('Success');
    await c.commit(last.upload.filekey as string, 'Direct chunked upload.jpg');
    const stored = await c.fetchBytes((await c.imageUrl('Direct chunked upload.jpg'))!);
    expect(stored.equals(photo)).toBe(true);
  });

  describe('with FACE_POLICY=hold', () => {
    let holding: TestVeil;
    beforeAll(async () => {
      holding = await startTestVeil({ UPSTREAM_URL: wiki.url, FACE_POLICY: 'hold' });
    });
    afterAll(async () => {
      await holding?.close();
    });

    it('a held photo is answered in MediaWiki\'s error shape, readable in `info`', async () => {
      const c = await client(holding.port);
      const faces = readFileSync(`${DEMO_DIR}/sample2.jpg`);
      const whole = await c.uploadWhole('Veil held.jpg', faces);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('mediawiki-api-error')).toBe('veil-held');
      expect(whole.json.error?.code).toBe('veil-held');
      expect(whole.json.error?.info).toMatch(/review/i);

      const chunked = await c.uploadChunksToStash('Veil held chunked.jpg', faces, 64 * 1024, { errorformat: 'plaintext', formatversion: '2' });
      const last = chunked.at(-1)!.json;
      expect(last.errors?.[0]?.code).toBe('veil-held');
      expect(last.errors?.[0]?.text).toMatch(/review/i);
      const page = await c.specialUpload('Veil held form.jpg', faces);
      expect(page.html).toMatch(/review/);
      expect(page.html).toContain('title=Special:Upload');
      expect(await c.imageUrl('Veil held.jpg')).toBeUndefined();
      expect(await c.imageUrl('Veil held form.jpg')).toBeUndefined();
      expect(await c.imageUrl('Veil held chunked.jpg')).toBeUndefined();
    });
  });
});
