import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { findEmbeddedImages, replaceEmbeddedImages } from '../src/proxy/inspect/embedded-images.js';

const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const b64 = PHOTO.toString('base64');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const textOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

describe('pictures carried as text in a request body', () => {
  it('a data: URI in HTML is found, and replaced in place with the new bytes and type', async () => {
    const html = `<p>Sports day</p><img alt="x" src="data:image/jpeg;base64,${b64}"><p>Well done, Year 6!</p>`;
    const found = findEmbeddedImages(bytesOf(html));
    expect(found).toHaveLength(1);
    expect(Buffer.from(found[0]!.bytes).equals(PHOTO)).toBe(true);
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#888' } }).png().toBuffer();
    const out = textOf(replaceEmbeddedImages(bytesOf(html), found, [{ bytes: png, contentType: 'image/png' }]));
    expect(out).toBe(`<p>Sports day</p><img alt="x" src="data:image/png;base64,${png.toString('base64')}"><p>Well done, Year 6!</p>`);
  });

  it('PHP-style JSON (every "/" escaped) keeps its spelling, and still parses to the new URI', () => {
    const json = JSON.stringify({ title: 'Trip', content: `<img src="data:image/jpeg;base64,${b64}">` }).replace(/\//g, '\\/');
    const found = findEmbeddedImages(bytesOf(json));
    expect(found.map((f) => f.spelling)).toEqual(['json']);
    expect(Buffer.from(found[0]!.bytes).equals(PHOTO)).toBe(true);
    const replacement = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xfe, 0xff, 0x3f]);
    const out = textOf(replaceEmbeddedImages(bytesOf(json), found, [{ bytes: replacement, contentType: 'image/jpeg' }]));
    expect(out).not.toMatch(/[^\\]\//);
    expect(JSON.parse(out)).toEqual({ title: 'Trip', content: `<img src="data:image/jpeg;base64,${replacement.toString('base64')}">` });
  });

  it('a form post (percent-encoded) is rewritten in place; every other field stays byte for byte', () => {
    const form = new URLSearchParams({ 'jform[title]': 'Sports day – année 2026', 'jform[articletext]': `<p>Hi</p><img src="data:image/jpeg;base64,${b64}">`, task: 'article.apply' }).toString();
    const found = findEmbeddedImages(bytesOf(form));
    expect(found.map((f) => f.spelling)).toEqual(['percent']);
    expect(Buffer.from(found[0]!.bytes).equals(PHOTO)).toBe(true);
    const replacement = Buffer.from('/9j/+/+/==AA'.repeat(8), 'base64');
    const out = textOf(replaceEmbeddedImages(bytesOf(form), found, [{ bytes: replacement, contentType: 'image/jpeg' }]));
    const parsed = new URLSearchParams(out);
    expect(parsed.get('jform[articletext]')).toBe(`<p>Hi</p><img src="data:image/jpeg;base64,${replacement.toString('base64')}">`);
    expect(out.startsWith(form.slice(0, form.indexOf('data%3A')))).toBe(true);
    expect(out.endsWith('&task=article.apply')).toBe(true);
  });

  it('a bare base64 JSON string that decodes to a picture is found; the declared type never decides', () => {
    const body = JSON.stringify({ fileName: 'a.txt', fileData: b64, other: 'data:text/plain;base64,' + b64, pdf: `data:application/pdf;base64,${Buffer.from('%PDF-1.4\n'.repeat(20)).toString('base64')}` });
    const found = findEmbeddedImages(bytesOf(body));
    // The bare string and the "text/plain" URI carry the photo; the PDF is left alone.
    expect(found.map((f) => [f.dataUri, Buffer.from(f.bytes).equals(PHOTO)])).toEqual([[false, true], [true, true]]);
  });

  it('leaves alone what is not a picture: short runs, base64 of text, ordinary prose', () => {
    const body = JSON.stringify({ token: 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=', essay: Buffer.from('Once upon a time '.repeat(20)).toString('base64'), note: 'data:image/png;base64,iVBORw0KGgo=' });
    expect(findEmbeddedImages(bytesOf(body))).toEqual([]);
  });

  it('a data: URI broken over lines is still caught (its first line is a picture\'s start), so it cannot slip through', () => {
    const wrapped = `<img src="data:image/jpeg;base64,${b64.replace(/.{76}/g, '$&\r\n')}">`;
    const found = findEmbeddedImages(bytesOf(wrapped));
    expect(found.length).toBeGreaterThanOrEqual(1);
    // Only the first line is taken: the sanitiser refuses it as incomplete, and the save with it.
    expect(found[0]!.bytes.length).toBeLessThan(PHOTO.length);
  });

  // Catastrophic backtracking would take minutes here, and trip the test's timeout.
  it('a hostile body (a huge run with no end) is scanned without backtracking', () => {
    const body = bytesOf(`{"a":"data:image/jpeg;base64,${'A'.repeat(4_000_000)}!", "b": "${'A/'.repeat(2_000_000)}`);
    expect(findEmbeddedImages(body)).toEqual([]);
  });
});
