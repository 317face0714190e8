import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPage } from '../src/demo/pages.js';
import type { DemoUpload } from '../src/demo/site.js';
import { chromiumMissing, launchChromium } from './helpers/browser.js';
import { DEMO_PHOTO } from './helpers/fixtures.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

const PHOTO = readFileSync(DEMO_PHOTO);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

describe('the demo home page words', () => {
  it('counts one face as "1 face"', () => {
    const upload = {
      uploadId: 'u1',
      filename: 'photo-1.jpg',
      contentType: 'image/jpeg',
      bytes: new Uint8Array(),
      receivedAt: new Date(),
      report: { removed: [{ kind: 'gps', label: 'GPS position' }], faces: { identifiable: 1, redacted: 1 } },
    } as unknown as DemoUpload;
    const html = demoPage.home([upload], []);
    expect(html).toContain('1 face redacted');
    expect(html).toContain('1 kind of hidden detail removed');
    expect(html).not.toMatch(/\b1 faces\b|\b1 kinds\b/);
  });
});

const noBrowser = chromiumMissing();
if (noBrowser) console.warn(noBrowser);

describe.skipIf(noBrowser !== null)('the demo site in a browser', () => {
  let veil: TestVeil;
  let browser: Browser;
  beforeAll(async () => {
    veil = await startTestVeil({ UPSTREAM_URL: '' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await veil?.close();
  });

  /** Opens the upload page with a file chosen; `stages` collects every stage the status line shows (navigation-proof). */
  async function uploadOnPage(name: string, mimeType: string, buffer: Buffer) {
    const page = await browser.newPage();
    const stages: string[] = [];
    await page.exposeFunction('reportStage', (stage: string) => { if (stages[stages.length - 1] !== stage) stages.push(stage); });
    await page.goto(`${veil.url}/`);
    await page.evaluate(() => {
      const status = document.getElementById('status')!;
      new MutationObserver(() => (window as unknown as { reportStage(s: string): void }).reportStage(status.dataset.stage ?? '')).observe(status, { attributes: true, childList: true, subtree: true });
    });
    await page.setInputFiles('#photo', { name, mimeType, buffer });
    return { page, stages, submit: () => page.click('button[type=submit]') };
  }

  it('a photo: uploading with a percentage, then processing, then done and the result page', async () => {
    const big = await sharp(PHOTO).resize(4000).jpeg({ quality: 95 }).toBuffer();
    const { page, stages, submit } = await uploadOnPage('jane-smith-year6.jpg', 'image/jpeg', big);
    try {
      await Promise.all([page.waitForURL(/\/uploads\//, { timeout: 60_000 }), submit()]);
      expect(await page.textContent('body')).toContain('What the site received');
      expect(stages).toEqual(['uploading', 'processing', 'done']);
    } finally {
      await page.close();
    }
  });

  it('a PDF: says plainly that it was not a photo and was passed on unchanged', async () => {
    const { page, submit } = await uploadOnPage('jane-smith-consent.pdf', 'application/pdf', PDF);
    try {
      await submit();
      await page.waitForFunction(() => document.getElementById('status')!.dataset.stage === 'answered', null, { timeout: 60_000 });
      const text = (await page.textContent('#status')) ?? '';
      expect(text).toMatch(/That was not a photo: it is a PDF document\..*passed this file on unchanged/);
      expect(text).not.toMatch(/around Veil/);
    } finally {
      await page.close();
    }
  });

  it('a damaged photo: a plain message without the decoder\'s own words', async () => {
    const cut = (await sharp(PHOTO).jpeg().toBuffer()).subarray(0, 40_000);
    const { page, submit } = await uploadOnPage('cut.jpg', 'image/jpeg', cut);
    try {
      await submit();
      await page.waitForFunction(() => document.getElementById('status')!.dataset.stage === 'answered', null, { timeout: 60_000 });
      const text = (await page.textContent('#status')) ?? '';
      expect(text).toMatch(/damaged or incomplete/);
      expect(text).not.toMatch(/vips|premature|end of jpeg/i);
    } finally {
      await page.close();
    }
  });
});
