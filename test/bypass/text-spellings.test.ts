import { describe } from 'vitest';
import { formBody } from '../helpers/http.js';
import type { AttemptContext } from './harness.js';
import { b64, dataUri, mime76, useBypassStack } from './harness.js';

/** Pictures written inside text: multipart fields, data: URI spellings, wide encodings of JSON. */
const stack = useBypassStack();
const { attempt } = stack;

function req(ctx: AttemptContext, path: string, type: string | undefined, bytes: Buffer | string, method = 'POST') {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  const headers: Array<[string, string]> = [['Host', 'school.example'], ['Content-Length', String(b.length)]];
  if (type !== undefined) headers.push(['Content-Type', type]);
  return ctx.send({ method, path, headers, body: b });
}

const BOUNDARY = '----veilBypassBoundaryQ2x9';
function multipart(ctx: AttemptContext, parts: Parameters<typeof formBody>[0], path = '/node/add/article') {
  return req(ctx, path, `multipart/form-data; boundary=${BOUNDARY}`, formBody(parts, BOUNDARY));
}

describe('multipart text fields and non-image parts', () => {
  attempt('a text field holding a data: URI', 'jpeg', (ctx) => multipart(ctx, [{ name: 'title', data: 'x' }, { name: 'body', data: `<img src="${dataUri(ctx.photo)}">` }]));
  attempt('a cropper field holding bare base64', 'jpeg', (ctx) => multipart(ctx, [{ name: 'cropped_image', data: b64(ctx.photo) }, { name: 'x', data: '10' }]));
  attempt('a cropper field holding a data: URI (canvas.toDataURL)', 'png', (ctx) => multipart(ctx, [{ name: 'avatar', data: dataUri(ctx.photo, 'image/png') }], '/user/avatar'));
  attempt('an .html file part holding a data: image', 'jpeg', (ctx) =>
    multipart(ctx, [{ name: 'file', filename: 'page.html', contentType: 'text/html', data: `<html><body><img src="${dataUri(ctx.photo)}"></body></html>` }]),
  );
  attempt('a JSON file part holding base64', 'jpeg', (ctx) =>
    multipart(ctx, [{ name: 'payload', filename: 'blob', contentType: 'application/json', data: JSON.stringify({ image: b64(ctx.photo) }) }]),
  );
  attempt('raw JPEG bytes in a text field (no filename) next to a real image', 'jpeg', (ctx) =>
    multipart(ctx, [{ name: 'photo', filename: 'ok.png', contentType: 'image/png', data: ctx.originals.png }, { name: 'notes', data: ctx.photo }]),
  );
  attempt('raw JPEG bytes in a text field alone', 'jpeg', (ctx) => multipart(ctx, [{ name: 'notes', data: ctx.photo }]));
  attempt('raw JPEG in a part declared text/plain with a .txt name', 'jpeg', (ctx) => multipart(ctx, [{ name: 'file', filename: 'notes.txt', contentType: 'text/plain', data: ctx.photo }]));
  attempt('two parts of one form holding halves of a picture', 'jpeg', (ctx) => {
    const half = Math.floor(ctx.photo.length / 2);
    return multipart(ctx, [{ name: 'part1', filename: 'a.bin', contentType: 'application/octet-stream', data: ctx.photo.subarray(0, half) }, { name: 'part2', filename: 'b.bin', contentType: 'application/octet-stream', data: ctx.photo.subarray(half) }]);
  });
  attempt('two text fields holding halves of a base64 picture', 'jpeg', (ctx) => {
    const s = b64(ctx.photo);
    const half = Math.floor(s.length / 8) * 4;
    return multipart(ctx, [{ name: 'img_a', data: s.slice(0, half) }, { name: 'img_b', data: s.slice(half) }]);
  });
  attempt('a part with Content-Transfer-Encoding: base64', 'jpeg', (ctx) =>
    multipart(ctx, [{ name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', extraHeaders: ['Content-Transfer-Encoding: base64'], data: mime76(b64(ctx.photo)) }]),
  );
  attempt('a part with Content-Transfer-Encoding: quoted-printable', 'jpeg', (ctx) => {
    const qp = [...ctx.photo].map((x) => (x >= 33 && x <= 126 && x !== 61 ? String.fromCharCode(x) : `=${x.toString(16).toUpperCase().padStart(2, '0')}`)).join('').replace(/.{72}/g, '$&=\r\n');
    return multipart(ctx, [{ name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', extraHeaders: ['Content-Transfer-Encoding: quoted-printable'], data: qp }]);
  });
  attempt('multipart/related with the JPEG as the second part', 'jpeg', (ctx) =>
    req(ctx, '/upload', `multipart/related; boundary=${BOUNDARY}; type="application/json"`, formBody([{ name: 'meta', contentType: 'application/json', data: '{"name":"a"}' }, { name: 'media', contentType: 'text/plain', data: ctx.photo }], BOUNDARY)),
  );
  attempt('multipart/mixed with a base64 JPEG part', 'jpeg', (ctx) =>
    req(ctx, '/upload', `multipart/mixed; boundary=${BOUNDARY}`, formBody([{ name: 'm', contentType: 'text/plain', data: dataUri(ctx.photo) }], BOUNDARY)),
  );
  attempt('a file part whose filename* is RFC 5987 encoded and type text/plain', 'jpeg', (ctx) =>
    req(ctx, '/upload', `multipart/form-data; boundary=${BOUNDARY}`, Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename*=UTF-8''jane%20smith.jpg\r\nContent-Type: text/plain\r\n\r\n`), ctx.photo, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)])),
  );
  attempt('a quoted boundary with odd characters', 'jpeg', (ctx) =>
    req(ctx, '/upload', 'multipart/form-data; boundary="a:b=c?d"', formBody([{ name: 'notes', data: `<img src="${dataUri(ctx.photo)}">` }], 'a:b=c?d')),
  );
  attempt('a boundary declared twice, the second one used in the body', 'jpeg', (ctx) =>
    req(ctx, '/upload', `multipart/form-data; boundary=decoy; boundary=${BOUNDARY}`, formBody([{ name: 'file', filename: 'a.txt', contentType: 'text/plain', data: ctx.photo }], BOUNDARY)),
  );
});

describe('data: URI spellings', () => {
  const body = (ctx: AttemptContext, uri: string) => req(ctx, '/api/posts', 'application/json', JSON.stringify({ content: `<p><img src="${uri}"></p>` }));
  const s = (ctx: AttemptContext) => b64(ctx.photo);
  attempt('plain data:image/jpeg;base64, (the control)', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;base64,${s(ctx)}`));
  attempt('DATA:IMAGE/JPEG;BASE64, (upper case)', 'jpeg', (ctx) => body(ctx, `DATA:IMAGE/JPEG;BASE64,${s(ctx)}`));
  attempt('data:;base64, (no type)', 'jpeg', (ctx) => body(ctx, `data:;base64,${s(ctx)}`));
  attempt('data:application/octet-stream;base64,', 'jpeg', (ctx) => body(ctx, `data:application/octet-stream;base64,${s(ctx)}`));
  attempt('data:text/plain;base64, (lying type)', 'jpeg', (ctx) => body(ctx, `data:text/plain;base64,${s(ctx)}`));
  attempt('percent-encoded, non-base64 data: URI', 'jpeg', (ctx) => body(ctx, `data:image/jpeg,${[...ctx.photo].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')}`));
  attempt('space after the comma', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;base64, ${s(ctx)}`));
  attempt('extra parameters ;name=a.jpg', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;name=a.jpg;base64,${s(ctx)}`));
  attempt('charset parameter before base64', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;charset=utf-8;base64,${s(ctx)}`));
  attempt('\\u002F escapes in the media type', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', `{"content":"<img src=\\"data:image\\u002Fjpeg;base64,${s(ctx)}\\">"}`));
  attempt('\\/ escapes throughout the base64', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', `{"content":"data:image\\/jpeg;base64,${s(ctx).replace(/\//g, '\\/')}"}`));
  attempt('every character \\u-escaped', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', `{"content":"${[...`data:image/jpeg;base64,${s(ctx).slice(0, 20000)}`].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`));
  attempt('base64 with 76-column MIME line breaks (\\r\\n in JSON)', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;base64,${mime76(s(ctx))}`));
  attempt('base64 with literal line breaks in an HTML body', 'jpeg', (ctx) => req(ctx, '/page', 'text/html', `<img src="data:image/jpeg;base64,${mime76(s(ctx))}">`));
  attempt('base64url alphabet', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;base64,${ctx.photo.toString('base64url')}`));
  attempt('hex instead of base64', 'jpeg', (ctx) => body(ctx, `data:image/jpeg;hex,${ctx.photo.toString('hex')}`));
  attempt('bare hex string in a JSON field', 'jpeg', (ctx) => req(ctx, '/api/photo', 'application/json', JSON.stringify({ hex: ctx.photo.toString('hex').toUpperCase() })));
  attempt('HTML entities &#x2F; in the data: URI', 'jpeg', (ctx) => req(ctx, '/page', 'text/html', `<img src="data:image&#x2F;jpeg;base64,${s(ctx).replace(/\//g, '&#x2F;')}">`));
  attempt('named entities &sol; &plus; in the data: URI', 'jpeg', (ctx) => req(ctx, '/page', 'text/html', `<img src="data&colon;image&sol;jpeg;base64,${s(ctx).replace(/\//g, '&sol;').replace(/\+/g, '&plus;')}">`));
  attempt('data: URI in a CSS url() in a style attribute', 'jpeg', (ctx) => req(ctx, '/page', 'text/html', `<div style="background:url('data:image/jpeg;base64,${s(ctx)}')"></div>`));
  attempt('data: URI in a form-encoded field, + left unencoded', 'jpeg', (ctx) => req(ctx, '/save', 'application/x-www-form-urlencoded', `content=data:image/jpeg;base64,${s(ctx).replace(/\//g, '%2F')}`));
  attempt('data: URI double percent-encoded in a form field', 'jpeg', (ctx) => req(ctx, '/save', 'application/x-www-form-urlencoded', `content=${encodeURIComponent(encodeURIComponent(`data:image/jpeg;base64,${s(ctx)}`))}`));
  attempt('data: URI split by a JSON string concatenation (two fields)', 'jpeg', (ctx) => {
    const all = s(ctx);
    return req(ctx, '/api/posts', 'application/json', JSON.stringify({ a: `data:image/jpeg;base64,${all.slice(0, 40000)}`, b: all.slice(40000) }));
  });
  attempt('base64 of a gzip of the JPEG', 'jpeg', async (ctx) => {
    const { gzipSync } = await import('node:zlib');
    return req(ctx, '/api/photo', 'application/json', JSON.stringify({ gz: b64(gzipSync(ctx.photo)) }));
  });
  attempt('base64 of the base64 of the JPEG (encoded twice)', 'jpeg', (ctx) => req(ctx, '/api/photo', 'application/json', JSON.stringify({ twice: b64(Buffer.from(b64(ctx.photo))) })));
  attempt('base64 of a JSON document holding a data: URI', 'jpeg', (ctx) => req(ctx, '/api/photo', 'application/json', JSON.stringify({ doc: b64(Buffer.from(JSON.stringify({ img: `data:image/jpeg;base64,${s(ctx)}` }))) })));
  attempt('quoted-printable raw bytes in a text body', 'jpeg', (ctx) => req(ctx, '/api/notes', 'text/plain', [...ctx.photo].map((x) => (x >= 33 && x <= 126 && x !== 61 ? String.fromCharCode(x) : `=${x.toString(16).toUpperCase().padStart(2, '0')}`)).join('').replace(/(.{72})/g, '$1=\r\n')));
  attempt('base64 in a JSON array of strings', 'jpeg', (ctx) => req(ctx, '/api/photo', 'application/json', JSON.stringify({ chunks: s(ctx).match(/.{1,1000}/g) })));
  attempt('PNG as a data: URI in XML', 'png', (ctx) => req(ctx, '/feed', 'application/xml', `<entry><content type="html">&lt;img src="${dataUri(ctx.photo, 'image/png')}"&gt;</content></entry>`));
  attempt('WebP as data:image/webp in JSON', 'webp', (ctx) => body(ctx, dataUri(ctx.photo, 'image/webp')));
  attempt('HEIC as data:image/heic in JSON', 'heic', (ctx) => body(ctx, dataUri(ctx.photo, 'image/heic')));
  attempt('GIF as data: URI in a text/plain body', 'gif', (ctx) => req(ctx, '/notes', 'text/plain', `see ${dataUri(ctx.photo, 'image/gif')}`));
});

describe('JSON in UTF-16 and UTF-32, and under other content types', () => {
  const json = (ctx: AttemptContext) => JSON.stringify({ content: `<img src="${dataUri(ctx.photo)}">` });
  const utf32 = (text: string, le: boolean) => {
    const out = Buffer.alloc(text.length * 4);
    for (let i = 0; i < text.length; i++) (le ? out.writeUInt32LE(text.charCodeAt(i), i * 4) : out.writeUInt32BE(text.charCodeAt(i), i * 4));
    return out;
  };
  attempt('UTF-16LE with BOM', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json(ctx), 'utf16le')])));
  attempt('UTF-16LE without BOM', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', Buffer.from(json(ctx), 'utf16le')));
  attempt('UTF-16BE with BOM', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(json(ctx), 'utf16le').swap16()])));
  attempt('UTF-16BE without BOM, charset=utf-16be', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json; charset=utf-16be', Buffer.from(json(ctx), 'utf16le').swap16()));
  attempt('UTF-32LE with BOM', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32(json(ctx), true)])));
  attempt('UTF-32BE without BOM', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', utf32(json(ctx), false)));
  attempt('UTF-16LE form-encoded body', 'jpeg', (ctx) => req(ctx, '/save', 'application/x-www-form-urlencoded; charset=utf-16', Buffer.from(`content=${encodeURIComponent(dataUri(ctx.photo))}`, 'utf16le')));
  attempt('UTF-16 text/plain with a bare base64', 'jpeg', (ctx) => req(ctx, '/notes', 'text/plain; charset=utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(b64(ctx.photo), 'utf16le')])));
  attempt('JSON sent as application/x-json', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/x-json', json(ctx)));
  attempt('JSON sent as application/octet-stream', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/octet-stream', json(ctx)));
  attempt('JSON sent with no Content-Type', 'jpeg', (ctx) => req(ctx, '/api/posts', undefined, json(ctx)));
  attempt('JSON sent as text/plain', 'jpeg', (ctx) => req(ctx, '/api/posts', 'text/plain', json(ctx)));
  attempt('JSON sent as application/vnd.api+json', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/vnd.api+json', json(ctx)));
  attempt('JSON sent as application/merge-patch+json via PATCH', 'jpeg', (ctx) => req(ctx, '/api/posts/1', 'application/merge-patch+json', json(ctx), 'PATCH'));
  attempt('JSON sent as image/jpeg (lying the other way)', 'jpeg', (ctx) => req(ctx, '/api/posts', 'image/jpeg', json(ctx)));
  attempt('NDJSON with the picture on the second line', 'jpeg', (ctx) => req(ctx, '/api/bulk', 'application/x-ndjson', `{"a":1}\n${json(ctx)}\n`));
  attempt('JSON with a leading UTF-8 BOM and whitespace', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`\n\n  ${json(ctx)}`)])));
  attempt('JSON with the picture as a binary string of \\u00XX', 'jpeg', (ctx) =>
    req(ctx, '/api/posts', 'application/json', JSON.stringify({ bytes: ctx.photo.toString('latin1') }).replace(/[\u007f-\u00ff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)),
  );
  attempt('JSON with the picture as an array of byte numbers', 'jpeg', (ctx) => req(ctx, '/api/posts', 'application/json', JSON.stringify({ bytes: [...ctx.photo.subarray(0, 30000)] })));
});
