import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWordPressPublisher } from '../src/review/publish-wordpress.js';
import type { ReviewItem } from '../src/review/review-store.js';
import { LocalObjectStore } from '../src/storage/index.js';
import { chromiumMissing, launchChromium } from './helpers/browser.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { PROJECT_ROOT } from './helpers/faces.js';
import { itemTitle } from '../src/review/pages/words.js';
import { ADMIN, buildReviewSystem, testUsers } from './helpers/review-app.js';
import { SAMPLE1, directReprocess, storeHeldUpload } from './helpers/review-fixtures.js';
import { detailSurviving, grayOf, regionDetail, regionDifference } from './helpers/review-regions.js';
import { startStubWordPress, type StubWordPress } from './helpers/stub-wordpress.js';

const missing = chromiumMissing();
if (missing) console.warn(missing);
const WP = { user: 'veil-publisher', appPassword: 'abcd EFGH 1234 ijkl MNOP 5678' };
const SCREENSHOT = path.join(PROJECT_ROOT, 'test-results/review-queue.png');
/** sample1.jpg's size, and a region with no face but plenty of texture (the tartan skirt) standing for a missed face. */
const WIDTH = 1920;
const HEIGHT = 1280;
const MISSED: [number, number, number, number] = [240, 940, 240, 240];

describe.skipIf(missing !== null)('the review queue in a real browser (Debian chromium, headless)', () => {
  let dir: string;
  let wordpress: StubWordPress;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let item: ReviewItem;
  let system: ReturnType<typeof buildReviewSystem>;
  let store: LocalObjectStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'veil-browser-'));
    store = new LocalObjectStore(dir);
    wordpress = await startStubWordPress(WP);
    system = buildReviewSystem(store, {
      users: await testUsers(),
      reprocess: directReprocess(store),
      publisher: createWordPressPublisher({ url: wordpress.url, ...WP }),
    });
    // A group photo with GPS EXIF, held by the real pipeline under FACE_POLICY=hold.
    const { job, result } = await storeHeldUpload(store, { mode: 'hold', originalName: 'class 4 trip.jpg', user: 'teacher1' });
    item = await system.items.createHeldItem(job, result);
    server = await new Promise<http.Server>((resolve) => {
      const s = serve({ fetch: system.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as http.Server)) as http.Server;
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await wordpress?.close();
    await closeExiftool();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs in, shows the held photo with its face boxes, approves it, and the CMS receives a clean file', async () => {
    const original = await readAllTags(SAMPLE1);
    expect(Object.keys(original).some((k) => k.includes('GPS'))).toBe(true);

    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } }); // a tablet in landscape
    const page = await context.newPage();
    await page.goto(`${base}/_veil/review`);
    expect(new URL(page.url()).pathname).toBe('/_veil/login');
    await page.getByLabel('User name').fill(ADMIN.name);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/_veil/review`);

    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain('1 photo waiting');
    const thumbnail = page.locator(`#item-${item.id} img`);
    await expect(thumbnail.getAttribute('alt')).resolves.toMatch(/\d+ identifiable faces, each boxed and numbered/);
    await thumbnail.evaluate((img: HTMLImageElement) => img.decode());
    const size = await thumbnail.evaluate((img: HTMLImageElement) => ({ width: img.naturalWidth, height: img.naturalHeight }));
    expect(size.width).toBeGreaterThan(500);
    // The boxes are drawn in the preview itself, in the "held" red: count such pixels as the browser shows them.
    const redPixels = await thumbnail.evaluate((img: HTMLImageElement) => {
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let red = 0;
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 0xd7) < 30 && Math.abs(data[i + 1]! - 0x26) < 30 && Math.abs(data[i + 2]! - 0x3d) < 30) red++;
      return red;
    });
    expect(redPixels).toBeGreaterThan(500);
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    await page.getByRole('link', { name: itemTitle(item), exact: true }).click();
    await page.waitForURL(`${base}/_veil/review/${item.id}`);
    const faceRows = await page.locator('table tbody tr', { hasText: 'Identifiable' }).count();
    expect(faceRows).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: path.join(path.dirname(SCREENSHOT), 'review-detail.png'), fullPage: true });
    await page.getByLabel(/^Reason/).fill('Parents consented; blur to be safe');
    const arrived = wordpress.nextMedia();
    await page.getByRole('button', { name: /^Approve with faces hidden/ }).click();
    await page.waitForURL(`${base}/_veil/review/${item.id}?done=approve-redacted`);
    await expect(page.getByRole('status').textContent()).resolves.toContain('Approved with the boxed faces hidden');
    const media = await arrived;
    await expect(page.locator('dl.facts').first().textContent()).resolves.toContain(`Media ${media.id}`);

    const received = path.join(dir, `received-${media.filename}`);
    await writeFile(received, media.body);
    const tags = await readAllTags(received);
    expect(Object.keys(tags).filter((k) => /GPS/i.test(k))).toEqual([]);
    expect(media.filename).not.toContain('class');
    await context.close();
  });

  it('on a tablet, a reviewer drags a box over a face the detector missed, removes a wrong box, picks pixelate and approves: exactly those regions are hidden', async () => {
    const { job, result } = await storeHeldUpload(store, { mode: 'hold', originalName: 'year 6 play.jpg' });
    const held = await system.items.createHeldItem(job, result);
    const context = await browser.newContext({ viewport: { width: 820, height: 1180 }, hasTouch: true, isMobile: true }); // a tablet held upright
    const page = await context.newPage();
    await page.goto(`${base}/_veil/login`);
    await page.getByLabel('User name').fill(ADMIN.name);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/_veil/review`);
    await page.goto(`${base}/_veil/review/${held.id}`);
    await expect(page.getByText('The detector can miss faces').count()).resolves.toBe(1);
    await expect(page.getByText('Veil found 3 faces').count()).resolves.toBe(1);

    // The preview fills the tablet's width, and the boxes are drawn over it at its scale.
    const preview = page.locator('[data-box-editor] img');
    await preview.evaluate((img: HTMLImageElement) => img.decode());
    await page.locator('[data-box-editor]').scrollIntoViewIfNeeded();
    const shown = (await preview.boundingBox())!;
    const main = (await page.locator('main').boundingBox())!;
    expect(shown.width).toBeGreaterThan(main.width - 40);
    const overlay = (await page.locator('[data-box-editor] svg').boundingBox())!;
    expect(Math.abs(overlay.width - shown.width)).toBeLessThan(1.5);
    expect(Math.abs(overlay.height - shown.height)).toBeLessThan(1.5);
    const first = (await page.locator('[data-box="1"] rect').boundingBox())!;
    const [bx, by, bw] = held.faces[0]!.box.map((v) => v * (WIDTH / 1600)); // published at 1600 px across
    expect(Math.abs(first.x - (shown.x + (bx! / WIDTH) * shown.width))).toBeLessThan(4);
    expect(Math.abs(first.y - (shown.y + (by! / HEIGHT) * shown.height))).toBeLessThan(4);
    expect(Math.abs(first.width - (bw! / WIDTH) * shown.width)).toBeLessThan(4);

    // A finger drag (touch events through the browser's own input pipeline) over the tartan skirt.
    const at = (x: number, y: number) => ({ x: shown.x + (x / WIDTH) * shown.width, y: shown.y + (y / HEIGHT) * shown.height });
    const from = at(MISSED[0], MISSED[1]);
    const to = at(MISSED[0] + MISSED[2], MISSED[1] + MISSED[3]);
    const cdp = await context.newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', p?: { x: number; y: number }) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: p ? [{ x: p.x, y: p.y }] : [] });
    await touch('touchStart', from);
    for (let i = 1; i <= 5; i++) await touch('touchMove', { x: from.x + ((to.x - from.x) * i) / 5, y: from.y + ((to.y - from.y) * i) / 5 });
    await touch('touchEnd');
    const typed = await Promise.all(['x', 'y', 'w', 'h'].map((n) => page.locator(`form.add-box [name="${n}"]`).inputValue()));
    const drawn = typed.map(Number);
    // Within the preview's pixel grid (1024 px across for 1920): ~2 original pixels per screen pixel.
    drawn.forEach((v, i) => expect(Math.abs(v - MISSED[i]!), `${['x', 'y', 'w', 'h'][i]} ${v}`).toBeLessThan(8));
    await page.getByRole('button', { name: 'Add box' }).click();
    await page.waitForURL(`${base}/_veil/review/${held.id}?done=boxes#h-boxes`);
    await expect(page.locator('.box-list li').count()).resolves.toBe(4);

    // Box 3 is the detector's third face: remove it, as if it were a poster.
    const removed = (await system.items.require(held.id)).boxEdit!.boxes[2]!;
    await page.getByRole('button', { name: 'Remove box 3' }).click();
    await page.waitForURL(`${base}/_veil/review/${held.id}?done=boxes#h-boxes`);
    await expect(page.locator('.box-list li').count()).resolves.toBe(3);
    await expect(page.locator('g.box.removed').count()).resolves.toBe(1);
    await page.screenshot({ path: path.join(path.dirname(SCREENSHOT), 'review-box-editor.png'), fullPage: true });

    await page.getByRole('radio', { name: /^Pixelate/ }).check();
    await page.getByRole('button', { name: /^Approve with faces hidden/ }).click();
    await page.waitForURL(`${base}/_veil/review/${held.id}?done=approve-redacted`);
    await expect(page.locator('dl.facts').first().textContent()).resolves.toContain('3 faces pixelated');

    const saved = (await system.items.require(held.id)).boxEdit!;
    expect(saved.redaction).toBe('pixelate');
    const added = saved.boxes.at(-1)!;
    expect(added).toEqual(drawn);
    const download = await page.request.get(`${base}/_veil/review/${held.id}/approved`);
    expect(download.status()).toBe(200);
    const approved = await grayOf(await download.body());
    const asIs = await grayOf((await directReprocess(store)(held, 'allow')).bytes);
    expect(regionDetail(asIs, added, WIDTH)).toBeGreaterThan(1.5);
    expect(detailSurviving(asIs, approved, added, WIDTH)).toBeLessThan(0.2);
    for (const box of saved.boxes) expect(detailSurviving(asIs, approved, box, WIDTH)).toBeLessThan(0.2);
    expect(detailSurviving(asIs, approved, removed, WIDTH)).toBeGreaterThan(0.97);
    expect(regionDifference(approved, asIs, removed, WIDTH)).toBeLessThan(2);
    await context.close();
  });

  it('without JavaScript, typed coordinates add a box in the same browser', async () => {
    const { job, result } = await storeHeldUpload(store, { mode: 'hold' });
    const held = await system.items.createHeldItem(job, result);
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/_veil/login`);
    await page.getByLabel('User name').fill(ADMIN.name);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto(`${base}/_veil/review/${held.id}`);
    await page.getByLabel('x (from the left)').fill(String(MISSED[0]));
    await page.getByLabel('y (from the top)').fill(String(MISSED[1]));
    await page.getByLabel('Width').fill(String(MISSED[2]));
    await page.getByLabel('Height', { exact: true }).fill(String(MISSED[3]));
    await page.getByRole('button', { name: 'Add box' }).click();
    await page.waitForURL(/done=boxes/);
    await expect(page.getByText(`Box 4: ${MISSED[2]} × ${MISSED[3]} pixels at ${MISSED[0]}, ${MISSED[1]}`).count()).resolves.toBe(1);
    expect((await system.items.require(held.id)).boxEdit?.boxes.at(-1)).toEqual(MISSED);
    await context.close();
  });
});
