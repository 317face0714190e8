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
import { ADMIN, buildReviewSystem, testUsers } from './helpers/review-app.js';
import { SAMPLE1, directReprocess, storeHeldUpload } from './helpers/review-fixtures.js';
import { startStubWordPress, type StubWordPress } from './helpers/stub-wordpress.js';

const missing = chromiumMissing();
if (missing) console.warn(missing);
const WP = { user: 'veil-publisher', appPassword: 'abcd EFGH 1234 ijkl MNOP 5678' };
const SCREENSHOT = path.join(PROJECT_ROOT, 'test-results/review-queue.png');

describe.skipIf(missing !== null)('the review queue in a real browser (Debian chromium, headless)', () => {
  let dir: string;
  let wordpress: StubWordPress;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let item: ReviewItem;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'veil-browser-'));
    const store = new LocalObjectStore(dir);
    wordpress = await startStubWordPress(WP);
    const system = buildReviewSystem(store, {
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

    await page.getByRole('link', { name: `Photo ${item.id}`, exact: true }).click();
    await page.waitForURL(`${base}/_veil/review/${item.id}`);
    const faceRows = await page.locator('table tbody tr', { hasText: 'Identifiable' }).count();
    expect(faceRows).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: path.join(path.dirname(SCREENSHOT), 'review-detail.png'), fullPage: true });
    await page.getByLabel(/^Reason/).fill('Parents consented; blur to be safe');
    const arrived = wordpress.nextMedia();
    await page.getByRole('button', { name: 'Approve, blur faces' }).click();
    await page.waitForURL(`${base}/_veil/review/${item.id}?done=approve-redacted`);
    await expect(page.getByRole('status').textContent()).resolves.toContain('Approved with faces blurred');
    const media = await arrived;
    await expect(page.locator('dl.facts').first().textContent()).resolves.toContain(`Media ${media.id}`);

    const received = path.join(dir, `received-${media.filename}`);
    await writeFile(received, media.body);
    const tags = await readAllTags(received);
    expect(Object.keys(tags).filter((k) => /GPS/i.test(k))).toEqual([]);
    expect(media.filename).not.toContain('class');
    await context.close();
  });
});
