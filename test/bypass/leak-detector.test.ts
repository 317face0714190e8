import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sanitiseImage } from '../../src/pipeline/sanitise.js';
import { closeExiftool } from '../helpers/exiftool.js';
import { FixtureDir } from '../helpers/fixtures.js';
import { describeHits, distinctiveRegions, LeakDetector } from './leak-detector.js';
import { makeOriginals, type Originals } from './originals.js';

/**
 * The detector is the suite's judge, so it is tested on its own: it must find the original in
 * every spelling, and must stay quiet on a properly sanitised re-encode of the same photo.
 */
const fx = new FixtureDir();
let originals: Originals;
let jpeg: LeakDetector;
/** Where the original's compressed pixels start: slices below are taken from there on. */
let scan: number;

beforeAll(async () => {
  originals = await makeOriginals(fx);
  jpeg = await LeakDetector.forOriginal(originals.jpeg);
  scan = distinctiveRegions(originals.jpeg).find((r) => r.name === 'scan')!.start;
}, 120_000);
afterAll(async () => {
  fx.remove();
  await closeExiftool();
});

const b64 = (b: Buffer): string => b.toString('base64');
const mime76 = (s: string): string => s.replace(/.{76}/g, '$&\r\n');
const percentAll = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
const jsonBinary = (b: Buffer): string => JSON.stringify(b.toString('latin1')).replace(/[\u007f-\u00ff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const utf16be = (s: string): Buffer => Buffer.from(s, 'utf16le').swap16();
const utf32 = (s: string, le: boolean): Buffer => {
  const out = Buffer.alloc(s.length * 4);
  for (let i = 0; i < s.length; i++) (le ? out.writeUInt32LE.bind(out) : out.writeUInt32BE.bind(out))(s.charCodeAt(i), i * 4);
  return out;
};

function expectLeak(body: Buffer | string, extra: { url?: string; headers?: string[] } = {}): void {
  const report = jpeg.check({ body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'), ...extra });
  expect(report.leaked, describeHits(report)).toBe(true);
}

describe('the leak detector finds the original', () => {
  it('picks windows only from distinctive regions: EXIF, XMP, scan data, the appended JPEG', () => {
    const names = distinctiveRegions(originals.jpeg).map((r) => r.name);
    expect(names).toContain('app1');
    expect(names).toContain('scan');
    expect(names).toContain('after-eoi');
    expect(names).not.toContain('dqt');
    expect(jpeg.windowCount).toBeGreaterThan(10_000);
  });

  it('raw, whole or any 24-byte-plus slice (EXIF only, scan only, the gain map only)', () => {
    expectLeak(originals.jpeg);
    const regions = distinctiveRegions(originals.jpeg);
    for (const name of ['app1', 'scan', 'after-eoi']) {
      const r = regions.find((x) => x.name === name)!;
      const mid = r.start + Math.floor((r.end - r.start) / 2);
      expectLeak(Buffer.concat([Buffer.from('junk before '), originals.jpeg.subarray(mid, mid + 40), Buffer.from(' junk after')]));
    }
  });

  it('base64 at every alignment, with MIME line breaks, base64url, inside a data: URI', () => {
    for (let k = 0; k < 3; k++) expectLeak(`{"a":"${b64(originals.jpeg.subarray(k + 1000))}"}`);
    expectLeak(mime76(b64(originals.jpeg)));
    expectLeak(b64(originals.jpeg).replace(/.{60}/g, '$& \n\t'));
    expectLeak(originals.jpeg.toString('base64url'));
    expectLeak(`<img src="DATA:IMAGE/JPEG;BASE64,${b64(originals.jpeg)}">`);
    // the original sliced out of the middle, then encoded: offset of the slice is arbitrary
    expectLeak(b64(originals.jpeg.subarray(scan + 20_001, scan + 20_200)));
  });

  it('hex in either case, \\x escapes', () => {
    expectLeak(originals.jpeg.toString('hex'));
    expectLeak(`x${originals.jpeg.toString('hex').toUpperCase()}`);
    expectLeak([...originals.jpeg.subarray(scan + 5000, scan + 5100)].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join(''));
  });

  it('percent-encoding, form encoding with +, percent-encoded base64', () => {
    expectLeak(`photo=${percentAll(originals.jpeg)}`);
    expectLeak(`photo=${encodeURIComponent(b64(originals.jpeg))}`);
    expectLeak(`photo=${b64(originals.jpeg).replace(/\//g, '%2F')}`);
    expectLeak('', { url: `/upload?img=${encodeURIComponent(b64(originals.jpeg.subarray(scan + 4000, scan + 4200)))}` });
  });

  it('JSON \\u escapes and \\/ in base64, JSON binary strings, UTF-8 code points', () => {
    expectLeak(JSON.stringify({ c: `data:image\\u002Fjpeg;base64,${b64(originals.jpeg).replace(/\//g, '\\/').replace(/\+/g, '\\u002B')}` }));
    expectLeak(jsonBinary(originals.jpeg.subarray(scan + 3000, scan + 3200)));
    expectLeak(Buffer.from(JSON.stringify(originals.jpeg.subarray(scan + 3000, scan + 3200).toString('latin1')), 'utf8'));
  });

  it('XML/HTML entities (numeric and named), CDATA split, comments inside base64', () => {
    const s = b64(originals.jpeg);
    expectLeak(`<img src="data:image&#x2F;jpeg;base64,${s.replace(/\//g, '&#x2F;').replace(/\+/g, '&plus;')}">`);
    expectLeak(`<base64>${s.replace(/\//g, '&#47;')}</base64>`);
    const half = Math.floor(s.length / 2);
    expectLeak(`<base64><![CDATA[${s.slice(0, half)}]]><![CDATA[${s.slice(half)}]]></base64>`);
    expectLeak(`<base64>${s.slice(0, 1001)}<!-- x -->${s.slice(1001)}</base64>`);
    expectLeak([...originals.jpeg.subarray(scan + 9000, scan + 9100)].map((x) => `&#${x};`).join(''));
  });

  it('a JSON array of byte values', () => {
    expectLeak(JSON.stringify({ bytes: [...originals.jpeg.subarray(scan + 9000, scan + 9100)] }));
  });

  it('quoted-printable', () => {
    const qp = [...originals.jpeg.subarray(scan + 9000, scan + 9300)].map((x) => (x >= 33 && x <= 126 && x !== 61 ? String.fromCharCode(x) : `=${x.toString(16).toUpperCase().padStart(2, '0')}`)).join('').replace(/.{70}/g, '$&=\r\n');
    expectLeak(qp);
  });

  it('UTF-16LE/BE with and without BOM, at odd offsets, and UTF-32', { timeout: 240_000 }, () => {
    const json = JSON.stringify({ content: `<img src="data:image/jpeg;base64,${b64(originals.jpeg)}">` });
    expectLeak(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')]));
    expectLeak(utf16be(json));
    expectLeak(Buffer.concat([Buffer.from('x'), Buffer.from(json, 'utf16le')]));
    expectLeak(utf32(json, true));
    expectLeak(utf32(json, false));
    // bytes widened to UTF-16 code units (a binary string saved as UTF-16)
    expectLeak(Buffer.from(originals.jpeg.subarray(scan + 7000, scan + 7100).toString('latin1'), 'utf16le'));
  });

  it('gzip, zlib, raw deflate and brotli, whole or inside a larger body', () => {
    expectLeak(gzipSync(originals.jpeg));
    expectLeak(Buffer.concat([Buffer.from('--b\r\n\r\n'), gzipSync(originals.jpeg), Buffer.from('\r\n--b--')]));
    expectLeak(deflateSync(originals.jpeg));
    expectLeak(deflateRawSync(originals.jpeg));
    expectLeak(brotliCompressSync(originals.jpeg));
    // a deflated ZIP entry, as in DOCX and ODT files
    const data = deflateRawSync(originals.jpeg);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(22, 26);
    expectLeak(Buffer.concat([Buffer.from('junk'), local, Buffer.from('word/media/image1.jpeg'), data]));
  });

  it('nested: gzip of UTF-16 JSON with an escaped, line-broken base64 data: URI', { timeout: 240_000 }, () => {
    const json = JSON.stringify({ c: `data:image/jpeg;base64,${mime76(b64(originals.jpeg))}`.replace(/\//g, '\\/') });
    expectLeak(gzipSync(Buffer.from(json, 'utf16le')));
  });

  it('in the request-target or a header', () => {
    expectLeak('', { url: `/x?p=${originals.jpeg.subarray(scan + 4000, scan + 4100).toString('base64url')}` });
    expectLeak('', { headers: ['X-Photo', b64(originals.jpeg.subarray(scan + 4000, scan + 4100))] });
  });

  it('each other original format, raw and as base64', { timeout: 240_000 }, async () => {
    for (const name of ['png', 'webp', 'gif', 'heic', 'heicAvci', 'bmp', 'tga', 'pcx', 'ppm'] as const) {
      const bytes = originals[name];
      if (!bytes) continue;
      const detector = await LeakDetector.forOriginal(bytes);
      expect(detector.windowCount, name).toBeGreaterThan(1000);
      expect(detector.check({ body: bytes }).leaked, name).toBe(true);
      expect(detector.check({ body: Buffer.from(`{"f":"${b64(bytes)}"}`) }).leaked, name).toBe(true);
    }
  });
});

describe('the leak detector stays quiet on sanitised bytes', () => {
  it('a sharp re-encode of the same photo, without metadata, at a quality no baseline used', async () => {
    const reencoded = await sharp(originals.jpeg).jpeg({ quality: 82 }).toBuffer();
    const report = jpeg.check({ body: reencoded });
    expect(report.leaked, describeHits(report)).toBe(false);
    const asBase64 = jpeg.check({ body: Buffer.from(`{"c":"data:image/jpeg;base64,${b64(reencoded)}"}`) });
    expect(asBase64.leaked, describeHits(asBase64)).toBe(false);
  });

  it("Veil's own sanitised output of each format, not downscaled, raw and base64 (the hardest case)", { timeout: 240_000 }, async () => {
    for (const name of ['jpeg', 'png', 'webp', 'gif', 'heic'] as const) {
      const bytes = originals[name];
      if (!bytes) continue;
      const detector = name === 'jpeg' ? jpeg : await LeakDetector.forOriginal(bytes);
      const result = await sanitiseImage(bytes, { faces: null });
      if (result.outcome !== 'sanitised') throw new Error(`${name} was not sanitised`);
      const body = Buffer.concat([result.bytes, Buffer.from(b64(result.bytes)), gzipSync(result.bytes)]);
      const report = detector.check({ body, url: '/wp-json/wp/v2/media', headers: ['Content-Type', 'image/jpeg', 'Content-Disposition', 'attachment; filename="photo.jpg"'] });
      expect(report.leaked, `${name}: ${describeHits(report)}`).toBe(false);
      expect(report.exhausted).toBe(false);
    }
  });

  it('ordinary form fields, JSON and HTML', () => {
    const report = jpeg.check({
      body: Buffer.from('{"title":"Sports day","content":"<p>Year 6 had a great day &amp; everyone ran.</p>","status":"draft"}'),
      url: '/wp-admin/admin-ajax.php?action=heartbeat&_nonce=abc',
      headers: ['Cookie', 'wordpress_logged_in=abc%7C123', 'User-Agent', 'Mozilla/5.0'],
    });
    expect(report.leaked).toBe(false);
  });
});
