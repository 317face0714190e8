import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { veilExtensions } from '../../src/extensions.js';
import { closeExiftool, nonStructuralTags, readAllTags } from '../helpers/exiftool.js';
import { DEMO_PHOTO } from '../helpers/fixtures.js';
import { formBody, send, type Received } from '../helpers/http.js';
import { deleteRedisPrefix } from '../helpers/redis-server.js';
import { startTestVeil, type TestVeil } from '../helpers/veil-stack.js';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { dokuwikiMissing, startDokuWiki, type DokuWiki } from './helpers/dokuwiki.js';

/**
 * Debian's DokuWiki (php -S, its own temp conf and data) with the whole of Veil in front. The
 * media manager's uploader sends the file's name in the query string (`?qqfile=`), and DokuWiki
 * stores the file, and builds its URL, from that name: Veil must replace it there too.
 */
const missing = dokuwikiMissing();
if (missing) console.warn(`[e2e] DokuWiki suite SKIPPED: ${missing}`);

const photo = readFileSync(DEMO_PHOTO);
const PUPIL_FILENAME = 'jane-smith-year6.jpg';
const GENERATED = /^photo-\d{8}-[0-9a-f]{6}.*\.jpg$/;

/** Exactly what lib/scripts/fileuploaderextended.js sends with XHR. */
function uploaderXhr(port: number, name: string, ns = 'class6'): Promise<Received> {
  const query = new URLSearchParams({ call: 'mediaupload', ns, sectok: '', qqfile: name, ow: 'false' });
  return send(port, {
    method: 'POST',
    path: `/lib/exe/ajax.php?${query.toString()}`,
    headers: [
      ['Host', `127.0.0.1:${port}`],
      ['X-Requested-With', 'XMLHttpRequest'],
      ['X-File-Name', encodeURIComponent(name)],
      ['Content-Type', 'application/octet-stream'],
      ['Content-Length', String(photo.length)],
    ],
    body: photo,
  });
}

/** The media manager's upload form (no JavaScript): the file in `upload`, its name in `mediaid`. */
function uploadForm(port: number, name: string, ns = 'class6'): Promise<Received> {
  const boundary = '----DokuWikiFormBoundary0123456789';
  const body = formBody(
    [
      { name: 'ns', data: ns },
      { name: 'mediaid', data: name },
      { name: 'upload', filename: name, contentType: 'image/jpeg', data: photo },
    ],
    boundary,
  );
  return send(port, {
    method: 'POST',
    path: `/lib/exe/mediamanager.php?ns=${ns}`,
    headers: [['Host', `127.0.0.1:${port}`], ['Content-Type', `multipart/form-data; boundary=${boundary}`], ['Content-Length', String(body.length)]],
    body,
  });
}

function json(answer: Received): Record<string, unknown> {
  const text = answer.body.toString();
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`expected JSON, got HTTP ${answer.status}:\n${text.slice(0, 800)}`);
  }
}

describe.skipIf(missing !== undefined)('Debian DokuWiki behind Veil', () => {
  let wiki: DokuWiki;
  let veil: TestVeil;
  let holding: TestVeil;

  beforeAll(async () => {
    wiki = await startDokuWiki();
    veil = await startTestVeil({ UPSTREAM_URL: wiki.url }, 'all', veilExtensions);
    holding = await startTestVeil({ UPSTREAM_URL: wiki.url, FACE_POLICY: 'hold' }, 'all', veilExtensions);
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(`php -S log, last lines:\n${wiki?.serverLog() ?? ''}`));
  });
  afterAll(async () => {
    for (const v of [veil, holding]) {
      if (!v) continue;
      await v.close();
      await deleteRedisPrefix(v.config.redis.url, v.config.redis.prefix).catch(() => 0);
    }
    await wiki?.stop();
    await closeExiftool();
  });

  it("the media manager's uploader: stored under Veil's name, with no metadata, and the pupil's name nowhere", async () => {
    const before = wiki.mediaFiles();
    const answer = await uploaderXhr(veil.port, PUPIL_FILENAME);
    expect(answer.status).toBe(200);
    const result = json(answer);
    expect(result.success).toBe(true);
    const added = wiki.mediaFiles().filter((f) => !before.includes(f));
    expect(added).toHaveLength(1);
    const [folder, stored] = added[0]!.split('/');
    expect(folder).toBe('class6');
    expect(stored).toMatch(GENERATED);
    expect(result.id).toBe(`class6:${stored}`);
    // Neither the file, its URL, nor the request DokuWiki saw carries the pupil's name.
    expect(JSON.stringify(result)).not.toContain('jane');
    expect(wiki.serverLog()).not.toContain('jane');
    expect(wiki.serverLog()).toContain(`qqfile=${stored}`);
    const tags = await readAllTags(join(wiki.mediaDir, added[0]!));
    expect(nonStructuralTags(tags)).toEqual([]);
    expect(Object.keys(tags).some((t) => /GPS/i.test(t))).toBe(false);
  });

  it('with KEEP_FILENAMES the uploader keeps a cleaned-up name, still without metadata', async () => {
    const keeping = await startTestVeil({ UPSTREAM_URL: wiki.url, KEEP_FILENAMES: 'true' }, 'all', veilExtensions);
    try {
      const before = wiki.mediaFiles();
      const answer = await uploaderXhr(keeping.port, 'Sports Day.JPG', 'kept');
      expect(json(answer).success).toBe(true);
      const added = wiki.mediaFiles().filter((f) => !before.includes(f));
      expect(added).toHaveLength(1);
      expect(added[0]).toMatch(/^kept\/sports[-_]day\.jpg$/i);
      expect(nonStructuralTags(await readAllTags(join(wiki.mediaDir, added[0]!)))).toEqual([]);
    } finally {
      await keeping.close();
      await deleteRedisPrefix(keeping.config.redis.url, keeping.config.redis.prefix).catch(() => 0);
    }
  });

  it("the upload form: stored under Veil's name (the mediaid field is replaced too)", async () => {
    const before = wiki.mediaFiles();
    const answer = await uploadForm(veil.port, PUPIL_FILENAME);
    expect(answer.status).toBeLessThan(400);
    const added = wiki.mediaFiles().filter((f) => !before.includes(f));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^class6\/photo-\d{8}-[0-9a-f]{6}.*\.jpg$/);
    expect(nonStructuralTags(await readAllTags(join(wiki.mediaDir, added[0]!)))).toEqual([]);
    expect(answer.body.toString()).not.toContain('jane');
  });

  it("a held photo: DokuWiki's own JSON on HTTP 200, so the uploader shows Veil's message instead of \"Failed\"; nothing stored", async () => {
    const before = wiki.mediaFiles();
    const answer = await uploaderXhr(holding.port, PUPIL_FILENAME);
    expect(answer.status).toBe(200);
    const result = json(answer);
    expect(result.success).toBeUndefined();
    expect(result.ns).toBe('class6');
    expect(String(result.error)).toMatch(/held|review/i);
    expect(String(result.error)).toMatch(/Reference: /);
    expect(wiki.mediaFiles()).toEqual(before);
  });

  it('a held photo on the upload form: a page with the message and a way back to the media manager', async () => {
    const before = wiki.mediaFiles();
    const answer = await uploadForm(holding.port, PUPIL_FILENAME);
    const html = answer.body.toString();
    expect(answer.headers['content-type']?.[0]).toMatch(/text\/html/);
    expect(html).toMatch(/held|review/i);
    expect(html).toMatch(/href="\/doku\.php\?do=media&(?:amp;|#38;)ns=class6"/);
    expect(wiki.mediaFiles()).toEqual(before);
  });

  it.skipIf(chromiumMissing() !== null)("in Chromium, DokuWiki's media manager shows Veil's message for a held photo, not just \"Failed\"", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${holding.port}/doku.php?do=media&ns=class6&tab_files=upload`);
      await page.setInputFiles('.qq-upload-button input[type=file]', { name: PUPIL_FILENAME, mimeType: 'image/jpeg', buffer: photo });
      await page.click('#mediamanager__upload_button');
      const failed = page.locator('.qq-upload-fail .qq-upload-failed-text');
      await failed.waitFor({ timeout: 60_000 });
      await page.waitForFunction(() => /Reference/.test(document.querySelector('.qq-upload-fail .qq-upload-failed-text')?.textContent ?? ''), null, { timeout: 60_000 });
      const shown = (await failed.textContent()) ?? '';
      expect(shown).toMatch(/review/i);
      expect(shown).not.toBe('Failed');
      await page.screenshot({ path: join(process.env.SCREENSHOT_DIR ?? '/tmp', 'veil-dokuwiki-held.png') });
    } finally {
      await browser.close();
    }
  });
});
