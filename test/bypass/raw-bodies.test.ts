import { describe } from 'vitest';
import type { AttemptContext } from './harness.js';
import { b64, dataUri, useBypassStack } from './harness.js';

/** A whole picture as the request body, under every declared type, method, path and prefix. */
const stack = useBypassStack();
const { attempt } = stack;

function body(ctx: AttemptContext, method: string, path: string, type: string | undefined, bytes: Buffer, extra: Array<[string, string]> = []) {
  const headers: Array<[string, string]> = [['Host', 'school.example'], ['Content-Length', String(bytes.length)], ...extra];
  if (type !== undefined) headers.push(['Content-Type', type]);
  return ctx.send({ method, path, headers, body: bytes });
}

describe('raw image body with a text-like, missing or lying Content-Type', () => {
  for (const type of ['text/plain', 'application/json', 'application/x-www-form-urlencoded', 'application/octet-stream', undefined, 'text/html; charset=utf-8', 'application/xml', 'image/png', 'image/svg+xml', 'multipart/form-data', 'TEXT/PLAIN', 'application/x-json']) {
    attempt(`POST /upload, JPEG body, Content-Type ${type ?? '(none)'}`, 'jpeg', (ctx) => body(ctx, 'POST', '/upload', type, ctx.photo));
  }
  attempt('PUT /files/photo.jpg, JPEG body, text/plain', 'jpeg', (ctx) => body(ctx, 'PUT', '/files/photo.jpg', 'text/plain', ctx.photo));
  attempt('PATCH /api/photo, JPEG body, application/json', 'jpeg', (ctx) => body(ctx, 'PATCH', '/api/photo', 'application/json', ctx.photo));
  attempt('DELETE with a JPEG body', 'jpeg', (ctx) => body(ctx, 'DELETE', '/api/photo/1', 'application/octet-stream', ctx.photo));
  attempt('custom method PROPPATCH with a JPEG body', 'jpeg', (ctx) => body(ctx, 'PROPPATCH', '/dav/photo.jpg', 'application/xml', ctx.photo));
  attempt('curl --data-binary style: x-www-form-urlencoded PNG body', 'png', (ctx) => body(ctx, 'POST', '/upload.php', 'application/x-www-form-urlencoded', ctx.photo));
  attempt('jQuery processData:false style: text/plain WebP body', 'webp', (ctx) => body(ctx, 'POST', '/ajax/save', 'text/plain;charset=UTF-8', ctx.photo));
  attempt('GIF body as application/json', 'gif', (ctx) => body(ctx, 'POST', '/api', 'application/json', ctx.photo));
  attempt('HEIC body as application/octet-stream', 'heic', (ctx) => body(ctx, 'POST', '/api/upload', 'application/octet-stream', ctx.photo));
  attempt('JPEG body with Content-Disposition: attachment and text/plain', 'jpeg', (ctx) => body(ctx, 'POST', '/media', 'text/plain', ctx.photo, [['Content-Disposition', 'attachment; filename="jane-smith-year6.jpg"']]));
});

describe('WebDAV PUT and Nextcloud paths', () => {
  attempt('Nextcloud PUT /remote.php/dav/files/user/photo.jpg (no type)', 'jpeg', (ctx) => body(ctx, 'PUT', '/remote.php/dav/files/teacher/Photos/jane-smith-year6.jpg', undefined, ctx.photo));
  attempt('Nextcloud PUT /remote.php/webdav/photo.jpg as octet-stream', 'jpeg', (ctx) => body(ctx, 'PUT', '/remote.php/webdav/photo.jpg', 'application/octet-stream', ctx.photo));
  attempt('Nextcloud PUT named .txt holding a JPEG, text/plain', 'jpeg', (ctx) => body(ctx, 'PUT', '/remote.php/dav/files/teacher/notes.txt', 'text/plain', ctx.photo));
  attempt('Nextcloud public share PUT /public.php/webdav/photo.png', 'png', (ctx) => body(ctx, 'PUT', '/public.php/webdav/photo.png', 'image/png', ctx.photo));
  attempt('WebDAV PUT of a HEIC as application/octet-stream', 'heic', (ctx) => body(ctx, 'PUT', '/dav/photo.heic', 'application/octet-stream', ctx.photo));
  attempt('Nextcloud chunking v2 PUT /remote.php/dav/uploads/.../00001 (no type)', 'jpeg', (ctx) => body(ctx, 'PUT', '/remote.php/dav/uploads/teacher/web-file-upload-1/00001', undefined, ctx.photo, [['OC-Total-Length', String(ctx.photo.length)]]));
  attempt('WebDAV MOVE with a JPEG body', 'jpeg', (ctx) => body(ctx, 'MOVE', '/remote.php/dav/files/teacher/a.jpg', 'application/octet-stream', ctx.photo, [['Destination', '/remote.php/dav/files/teacher/b.jpg']]));
});

describe('padding or whitespace before a picture, picture beyond the first 4 KiB', () => {
  for (const [label, pad] of [
    ['a newline', Buffer.from('\r\n')],
    ['16 spaces', Buffer.alloc(16, 0x20)],
    ['a UTF-8 BOM', Buffer.from([0xef, 0xbb, 0xbf])],
    ['512 zero bytes', Buffer.alloc(512)],
    ['5000 spaces', Buffer.alloc(5000, 0x20)],
    ['8 KiB of text', Buffer.from('x'.repeat(8192))],
    ['64 KiB of zeros', Buffer.alloc(65536)],
  ] as const) {
    attempt(`JPEG after ${label}, octet-stream`, 'jpeg', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', Buffer.concat([pad, ctx.photo])));
  }
  attempt('PNG after 4100 bytes of text, text/plain', 'png', (ctx) => body(ctx, 'POST', '/upload', 'text/plain', Buffer.concat([Buffer.from('a'.repeat(4100)), ctx.photo])));
  attempt('JPEG after an HTML prelude, text/html', 'jpeg', (ctx) => body(ctx, 'POST', '/upload', 'text/html', Buffer.concat([Buffer.from('<html><body>photo follows\n'), ctx.photo])));
  attempt('JPEG after a JSON object, application/json', 'jpeg', (ctx) => body(ctx, 'POST', '/upload', 'application/json', Buffer.concat([Buffer.from('{"name":"photo"}\n'), ctx.photo])));
});

describe('body starting inside a picture', () => {
  attempt('JPEG without its SOI (starts at the APP1 marker)', 'jpeg', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(2)));
  attempt('JPEG from its scan data onwards (after SOS)', 'jpeg', (ctx) => {
    const sos = ctx.photo.indexOf(Buffer.from([0xff, 0xda]));
    return body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(sos));
  });
  attempt('the second half of a JPEG (tail of a chunk)', 'jpeg', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(Math.floor(ctx.photo.length / 2))));
  attempt('the gain map appended after EOI, alone', 'jpeg', (ctx) => {
    const eoi = ctx.photo.indexOf(Buffer.from([0xff, 0xd9, 0xff, 0xd8]));
    return body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(eoi + 4));
  });
  attempt('PNG without its 8-byte signature', 'png', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(8)));
  attempt('PNG from its first IDAT chunk onwards', 'png', (ctx) => body(ctx, 'POST', '/upload', 'text/plain', ctx.photo.subarray(ctx.photo.indexOf('IDAT') - 4)));
  attempt('the EXIF APP1 segment alone (GPS without pixels)', 'jpeg', (ctx) => {
    const len = ctx.photo.readUInt16BE(ctx.photo.indexOf(Buffer.from([0xff, 0xe1])) + 2);
    const at = ctx.photo.indexOf(Buffer.from([0xff, 0xe1]));
    return body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(at, at + 2 + len));
  });
  attempt('WebP without its RIFF header', 'webp', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo.subarray(12)));
});

describe('TGA, PCX, PPM, BMP and SVG bodies', () => {
  attempt('TGA body as octet-stream', 'tga', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo));
  attempt('TGA body as image/x-tga', 'tga', (ctx) => body(ctx, 'PUT', '/files/a.tga', 'image/x-tga', ctx.photo));
  attempt('PCX body as octet-stream', 'pcx', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo));
  attempt('PCX body with no type', 'pcx', (ctx) => body(ctx, 'PUT', '/files/a.pcx', undefined, ctx.photo));
  attempt('PPM body as text/plain', 'ppm', (ctx) => body(ctx, 'POST', '/upload', 'text/plain', ctx.photo));
  attempt('PPM body as image/x-portable-pixmap', 'ppm', (ctx) => body(ctx, 'PUT', '/files/a.ppm', 'image/x-portable-pixmap', ctx.photo));
  attempt('BMP body as octet-stream', 'bmp', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo));
  attempt('BMP body as text/plain', 'bmp', (ctx) => body(ctx, 'POST', '/upload', 'text/plain', ctx.photo));
  attempt('SVG with an embedded base64 JPEG, image/svg+xml', 'jpeg', (ctx) =>
    body(ctx, 'POST', '/upload', 'image/svg+xml', Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image xlink:href="${dataUri(ctx.photo)}" width="10" height="10"/></svg>`)),
  );
  attempt('SVG with an embedded JPEG, sent as text/plain', 'jpeg', (ctx) =>
    body(ctx, 'PUT', '/files/logo.svg', 'text/plain', Buffer.from(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/jpeg;base64,${b64(ctx.photo)}"/></svg>`)),
  );
  attempt('SVG with the JPEG in a <style> url(data:)', 'jpeg', (ctx) =>
    body(ctx, 'POST', '/upload', 'image/svg+xml', Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg"><style>rect{fill:url("data:image/jpeg;base64,${b64(ctx.photo)}")}</style><rect/></svg>`)),
  );
});

describe('HEIF with only the avci brand, and other ISO-BMFF spellings', () => {
  attempt('HEIC whose ftyp brands are all avci, octet-stream', 'heicAvci', (ctx) => body(ctx, 'POST', '/upload', 'application/octet-stream', ctx.photo));
  attempt('HEIC whose ftyp brands are all avci, image/heic', 'heicAvci', (ctx) => body(ctx, 'PUT', '/files/a.heic', 'image/heic', ctx.photo));
  attempt('HEIC with brands rewritten to isom (looks like a video)', 'heic', (ctx) => {
    const b = Buffer.from(ctx.photo);
    const size = b.readUInt32BE(0);
    for (let at = 8; at + 4 <= size; at += 4) if (at !== 12) b.write('isom', at, 'latin1');
    return body(ctx, 'POST', '/upload', 'video/mp4', b);
  });
  attempt('HEIC body as text/plain', 'heic', (ctx) => body(ctx, 'POST', '/upload', 'text/plain', ctx.photo));
});
