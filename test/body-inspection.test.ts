import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { bodyNature } from '../src/proxy/inspect/body-nature.js';
import { scanContainer } from '../src/proxy/inspect/containers.js';
import { findHiddenPicture } from '../src/proxy/inspect/hidden-pictures.js';
import { findPictureSignature, startsInsidePicture } from '../src/proxy/inspect/picture-signatures.js';
import { textPass } from '../src/proxy/inspect/text-pass.js';
import { decodeText, encodeText } from '../src/proxy/inspect/text-encoding.js';
import { docx, mp4Boxes, pdfDocument, zipArchive } from './helpers/containers.js';

/** A real phone photo (GPS EXIF) from an npm package, and small generated ones of each format. */
const PHOTO = readFileSync('node_modules/@vladmandic/face-api/demo/sample1.jpg');
let small: Record<'jpeg' | 'png' | 'webp' | 'gif', Buffer>;

beforeAll(async () => {
  const base = sharp({ create: { width: 40, height: 30, channels: 3, background: '#7a5' } });
  small = {
    jpeg: await base.clone().jpeg().toBuffer(),
    png: await base.clone().png().toBuffer(),
    webp: await base.clone().webp().toBuffer(),
    gif: await base.clone().gif().toBuffer(),
  };
});

const LIMITS = { maxInMemoryBytes: 64 * 1024 * 1024 };
const asBody = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const inMemory = (bytes: Buffer) => ({ size: bytes.length, read: async (start: number, end: number) => new Uint8Array(bytes.subarray(start, end)) });

describe('picture signatures anywhere', () => {
  it('finds each format after padding, deep inside a binary body', () => {
    for (const [kind, bytes] of Object.entries(small)) {
      const body = Buffer.concat([randomBytes(100_000), bytes, randomBytes(1000)]);
      expect(findPictureSignature(body), kind).toMatchObject({ offset: 100_000 });
    }
  });

  it('does not fire on random binary data, or on text that talks about pictures', () => {
    let falseAlarms = 0;
    for (let i = 0; i < 20; i++) if (findPictureSignature(randomBytes(1024 * 1024))) falseAlarms++;
    expect(falseAlarms).toBe(0);
    expect(findPictureSignature(Buffer.from('Our GIF89a animations and RIFF files are described in the IIRS guide. PNG is better.'))).toBeUndefined();
  });

  it('knows a body that starts inside a JPEG: a cut-off SOI, a bare segment, an EXIF block', () => {
    expect(startsInsidePicture(PHOTO.subarray(0, 2), true)).toBe(true);
    expect(startsInsidePicture(PHOTO.subarray(2), false)).toBe(true);
    expect(startsInsidePicture(Buffer.from('Exif\0\0MM\0*'), true)).toBe(true);
    expect(startsInsidePicture(Buffer.from('{"title":"hello"}'), true)).toBe(false);
  });
});

describe('what a body is, from its bytes', () => {
  it('a photo is a picture whatever it claims to be; padding or a missing SOI hide one', () => {
    expect(bodyNature(PHOTO.subarray(0, 4096), false)).toEqual({ kind: 'picture', format: 'jpeg' });
    expect(bodyNature(Buffer.concat([Buffer.from('    \r\n'), small.png]), true).kind).toBe('hidden-picture');
    expect(bodyNature(PHOTO.subarray(2, 4098), false).kind).toBe('hidden-picture');
  });

  it('documents, archives and videos are containers; JSON in UTF-16 is text', () => {
    expect(bodyNature(pdfDocument().subarray(0, 4096), true)).toEqual({ kind: 'container', format: 'pdf' });
    expect(bodyNature(docx().subarray(0, 4096), false)).toEqual({ kind: 'container', format: 'zip' });
    expect(bodyNature(mp4Boxes().subarray(0, 4096), false)).toEqual({ kind: 'container', format: 'iso-bmff' });
    expect(bodyNature(Buffer.from('{"a":"b"}', 'utf16le'), true)).toEqual({ kind: 'text', encoding: 'utf-16le' });
    expect(bodyNature(randomBytes(4096), false).kind).toBe('binary');
  });
});

describe('text encodings', () => {
  it('UTF-16 and UTF-32, with and without a BOM, decode and encode back byte for byte', () => {
    const text = '{"title":"Sports day – Year 6 ✓ 🏃"}';
    const bodies = [
      Buffer.from(text, 'utf16le'),
      Buffer.from(`\ufeff${text}`, 'utf16le'),
      Buffer.from(`\ufeff${text}`, 'utf16le').swap16(),
      Buffer.from(text, 'utf16le').swap16(),
      Buffer.from(encodeText({ encoding: 'utf-32le', bom: true }, text)),
      Buffer.from(encodeText({ encoding: 'utf-32be', bom: false }, text)),
    ];
    for (const body of bodies) {
      const decoded = decodeText(body)!;
      expect(decoded.text).toBe(text);
      expect(Buffer.from(encodeText(decoded, decoded.text)).equals(body)).toBe(true);
    }
  });
});

describe('pictures hidden in text, in every spelling a server might decode', () => {
  const b64 = () => small.jpeg.toString('base64');
  const spellings: [string, () => string][] = [
    ['raw bytes in a field', () => `title=x&body=${small.jpeg.toString('latin1')}`],
    ['hex', () => `{"img":"${small.jpeg.toString('hex')}"}`],
    ['HEX upper case with spaces', () => `<img>${small.jpeg.toString('hex').toUpperCase().replace(/(..)/g, '$1 ')}</img>`],
    ['base64url', () => `{"img":"${small.jpeg.toString('base64url')}"}`],
    ['base64 in 76-column lines', () => `photo=${b64().replace(/(.{76})/g, '$1\r\n')}`],
    ['base64 behind 3 junk characters', () => `{"img":"abc${b64()}"}`],
    ['base64 with junk PHP skips', () => `{"img":"${b64().slice(0, 40)}!!!${b64().slice(40)}"}`],
    ['JSON \\u escapes', () => `{"img":"${b64().replace(/([A-Z])/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`).replace(/\//g, '\\u002F')}"}`],
    ['HTML entities', () => `<p><img src="data&#58;image/jpeg;base64&#44;${b64().replace(/\//g, '&#x2F;')}"></p>`],
    ['XML CDATA split', () => `<v><![CDATA[${b64().slice(0, 30)}]]><![CDATA[${b64().slice(30)}]]></v>`],
    ['XML comment inside', () => `<base64>${b64().slice(0, 30)}<!-- x -->${b64().slice(30)}</base64>`],
    ['percent-encoded raw bytes', () => `a=${[...small.jpeg].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`],
    ['double percent-encoding', () => `a=${encodeURIComponent(encodeURIComponent(`data:image/jpeg;base64,${b64()}`))}`],
  ];

  for (const [name, make] of spellings) {
    it(`finds it: ${name}`, () => {
      expect(findHiddenPicture(asBody(make()))).toBeDefined();
    });
  }

  it('finds it in UTF-16 and UTF-32 JSON', async () => {
    const json = `{"content":"data:image/png;base64,${small.png.toString('base64')}"}`;
    expect((await textPass(Buffer.from(json, 'utf16le'), LIMITS)).images).toHaveLength(1);
    expect((await textPass(encodeText({ encoding: 'utf-32be', bom: true }, json), LIMITS)).images).toHaveLength(1);
  });

  it('leaves ordinary posts, forms and documents alone', () => {
    const post = JSON.stringify({ title: 'Sports day', content: '<p>Well done to everyone! GIF89a and PNG files welcome.</p>'.repeat(200), token: randomBytes(32).toString('base64'), id: 'a'.repeat(40) });
    expect(findHiddenPicture(asBody(post))).toBeUndefined();
    expect(findHiddenPicture(asBody(new URLSearchParams({ q: randomBytes(3000).toString('hex'), r: randomBytes(3000).toString('base64') }).toString()))).toBeUndefined();
  });
});

describe('data: URIs the way editors and people write them are sanitised in place', () => {
  const uris = (b64: string) => [
    `DATA:IMAGE/JPEG;BASE64,${b64}`,
    `data:;base64,${b64}`,
    `data:image/jpeg;name=jane-smith.jpg;base64,${b64}`,
    `data:image/jpeg;base64, ${b64}`,
    `data:image/jpeg;charset=utf-8;base64,${b64}`,
  ];
  it('each spelling is found once, and the rest of the body stays byte for byte', async () => {
    for (const uri of uris(small.jpeg.toString('base64'))) {
      const body = asBody(`<p>before</p><img src="${uri}"><p>after</p>`);
      const pass = await textPass(body, LIMITS);
      expect(pass.images, uri.slice(0, 40)).toHaveLength(1);
      const rebuilt = Buffer.from(pass.rebuild([{ bytes: small.png, contentType: 'image/png' }])).toString('latin1');
      expect(rebuilt).toBe(`<p>before</p><img src="data:image/png;base64,${small.png.toString('base64')}"><p>after</p>`);
    }
  });

  it('a UTF-16 body is rewritten in UTF-16, BOM kept', async () => {
    const json = `{"content":"<img src=\\"data:image/jpeg;base64,${small.jpeg.toString('base64')}\\">"}`;
    const body = Buffer.from(`\ufeff${json}`, 'utf16le');
    const pass = await textPass(body, LIMITS);
    const rebuilt = Buffer.from(pass.rebuild([{ bytes: small.png, contentType: 'image/png' }]));
    expect(rebuilt.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(rebuilt.subarray(2).toString('utf16le')).toBe(json.replace(small.jpeg.toString('base64'), small.png.toString('base64')).replace('image/jpeg', 'image/png'));
  });

  it('a picture it cannot rewrite is refused, not passed', async () => {
    await expect(textPass(asBody(`{"img":"${small.jpeg.toString('hex')}"}`), LIMITS)).rejects.toThrow(expect.objectContaining({ code: 'HIDDEN_PICTURE' }));
  });
});

describe('documents, archives and videos', () => {
  const limits = { maxInMemoryBytes: 64 * 1024 * 1024 };
  it('a PDF with a photo is refused; a letter without pictures passes', async () => {
    expect(await scanContainer('pdf', inMemory(pdfDocument({ photo: PHOTO })), limits)).toBe('pictures');
    expect(await scanContainer('pdf', inMemory(pdfDocument({ photo: small.jpeg, escapedNames: true })), limits)).toBe('pictures');
    expect(await scanContainer('pdf', inMemory(pdfDocument({ inlineImage: true, compressContent: true })), limits)).toBe('pictures');
    expect(await scanContainer('pdf', inMemory(pdfDocument()), limits)).toBeUndefined();
    expect(await scanContainer('pdf', inMemory(pdfDocument({ compressContent: true })), limits)).toBeUndefined();
  });

  it('a DOCX with a photo in word/media/ is refused, whatever the entry is called; one without passes', async () => {
    expect(await scanContainer('zip', inMemory(docx(PHOTO)), limits)).toBe('pictures');
    expect(await scanContainer('zip', inMemory(docx(PHOTO, 'word/media/notes.bin')), limits)).toBe('pictures');
    expect(await scanContainer('zip', inMemory(zipArchive([{ name: 'inner.zip', data: docx(small.png) }])), limits)).toBe('pictures');
    expect(await scanContainer('zip', inMemory(zipArchive([{ name: 'a.txt', data: Buffer.from('x'), encrypted: true }])), limits)).toBe('encrypted');
    expect(await scanContainer('zip', inMemory(docx()), limits)).toBeUndefined();
  });

  it('an MP4 with a location or cover art is refused; one without passes', async () => {
    expect(await scanContainer('iso-bmff', inMemory(mp4Boxes({ location: '+51.5072-000.1276/' })), limits)).toBe('location');
    expect(await scanContainer('iso-bmff', inMemory(mp4Boxes({ appleKeys: true })), limits)).toBe('location');
    expect(await scanContainer('iso-bmff', inMemory(mp4Boxes({ coverArt: small.jpeg })), limits)).toBe('pictures');
    expect(await scanContainer('iso-bmff', inMemory(mp4Boxes()), limits)).toBeUndefined();
  });
});
