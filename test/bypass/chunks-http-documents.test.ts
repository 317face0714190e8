import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { describe } from 'vitest';
import { formBody, parseForm, type Received } from '../helpers/http.js';
import type { RecordedRequest } from '../helpers/stub-upstream.js';
import { docx, mp4WithGps, odt, pdf, zip } from './containers.js';
import type { AttemptContext } from './harness.js';
import { dataUri, head, useBypassStack } from './harness.js';

/** Split uploads, HTTP framing and header tricks, and documents or videos holding pictures. */
const stack = useBypassStack(async (s, fx) => {
  s.extra.set('mp4', mp4WithGps(fx));
});
const { attempt } = stack;

const BOUNDARY = '----veilChunkBoundaryZ7';
const CHUNK = 64 * 1024;

function req(ctx: AttemptContext, method: string, path: string, type: string | undefined, bytes: Buffer | string, extra: Array<[string, string]> = []) {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  const headers: Array<[string, string]> = [['Host', 'school.example'], ['Content-Length', String(b.length)], ...extra];
  if (type !== undefined) headers.push(['Content-Type', type]);
  return ctx.send({ method, path, headers, body: b });
}
function multipart(ctx: AttemptContext, path: string, parts: Parameters<typeof formBody>[0], extra: Array<[string, string]> = []) {
  return req(ctx, 'POST', path, `multipart/form-data; boundary=${BOUNDARY}`, formBody(parts, BOUNDARY), extra);
}
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
function fields(req: RecordedRequest): Map<string, Buffer> {
  const boundary = /boundary=("?)([^";]+)\1/.exec(req.headers['content-type']?.[0] ?? '')?.[2];
  const out = new Map<string, Buffer>();
  if (!boundary) return out;
  for (const part of parseForm(req.body, boundary)) {
    const name = /name="([^"]*)"/.exec(part.headers['content-disposition'] ?? '')?.[1];
    if (name) out.set(name, part.data);
  }
  return out;
}
/** Chunk boundaries: `first` bytes, then CHUNK-sized pieces. */
function pieces(total: number, first = CHUNK): Array<[number, number]> {
  const out: Array<[number, number]> = [[0, Math.min(first, total)]];
  for (let at = out[0]![1]; at < total; at += CHUNK) out.push([at, Math.min(total, at + CHUNK)]);
  return out;
}
/** Sends every piece in turn, stopping at the first refusal, as a client would. */
async function inTurn(list: Array<[number, number]>, send: (start: number, end: number, index: number) => Promise<Received>): Promise<number> {
  let status = 0;
  for (let i = 0; i < list.length; i++) {
    const answer = await send(list[i]![0], list[i]![1], i);
    status = answer.status;
    if (status >= 400) break;
  }
  return status;
}

describe('chunked and resumable uploads', () => {
  // MediaWiki stashes each chunk and answers with the offset it expects next; the client follows it.
  const mediaWikiStub = (req: RecordedRequest, res: ServerResponse) => {
    const f = fields(req);
    const offset = Number(f.get('offset')?.toString() ?? '0');
    const chunk = f.get('chunk');
    const size = Number(f.get('filesize')?.toString() ?? '0');
    if (!chunk) return json(res, 200, { upload: { result: 'Success', filename: 'A.jpg' } });
    const next = offset + chunk.length;
    json(res, 200, { upload: next >= size ? { result: 'Success', filekey: 'fk1.jpg' } : { result: 'Continue', offset: next, filekey: 'fk1.jpg' } });
  };
  const mediaWiki = (first: number) => async (ctx: AttemptContext) => {
    let offset = 0;
    let status = 0;
    for (let round = 0; round < 30 && offset < ctx.photo.length; round++) {
      const end = Math.min(ctx.photo.length, offset + (round === 0 ? first : CHUNK));
      const parts = [
        { name: 'action', data: 'upload' }, { name: 'format', data: 'json' }, { name: 'stash', data: '1' },
        { name: 'filename', data: 'Jane_Smith_Year6.jpg' }, { name: 'filesize', data: String(ctx.photo.length) }, { name: 'offset', data: String(offset) },
        ...(round > 0 ? [{ name: 'filekey', data: 'fk1.jpg' }] : []), { name: 'token', data: '+\\' },
        { name: 'chunk', filename: 'blob', contentType: 'application/octet-stream', data: ctx.photo.subarray(offset, end) },
      ];
      const answer = await multipart(ctx, '/w/api.php', parts);
      status = answer.status;
      let next: number | undefined;
      try {
        const parsed = JSON.parse(answer.body.toString()) as { upload?: { offset?: number; result?: string }; error?: unknown };
        if (parsed.error || !parsed.upload) break;
        if (parsed.upload.result !== 'Continue') break;
        next = parsed.upload.offset;
      } catch {
        break;
      }
      if (status >= 400 || next === undefined || next <= offset) break;
      offset = next;
    }
    return status;
  };
  attempt('MediaWiki action=upload with offset/filekey/chunk, following the returned offset', 'jpeg', mediaWiki(CHUNK), { stub: mediaWikiStub });
  attempt('MediaWiki chunked upload whose first chunk is two bytes', 'jpeg', mediaWiki(2), { stub: mediaWikiStub });

  const tusStub = (req: RecordedRequest, res: ServerResponse) => {
    if (req.method === 'POST') return json(res, 201, {}, { Location: '/files/abc', 'Tus-Resumable': '1.0.0' });
    const offset = Number(req.headers['upload-offset']?.[0] ?? '0');
    res.writeHead(204, { 'Upload-Offset': String(offset + req.bodyLength), 'Tus-Resumable': '1.0.0' });
    res.end();
  };
  const tus = (first: number) => async (ctx: AttemptContext) => {
    const created = await req(ctx, 'POST', '/files/', undefined, Buffer.alloc(0), [['Tus-Resumable', '1.0.0'], ['Upload-Length', String(ctx.photo.length)], ['Upload-Metadata', `filename ${Buffer.from('jane.jpg').toString('base64')}`]]);
    if (created.status >= 400) return created.status;
    let offset = 0;
    let status = created.status;
    for (let round = 0; round < 30 && offset < ctx.photo.length; round++) {
      const end = Math.min(ctx.photo.length, offset + (round === 0 ? first : CHUNK));
      const answer = await req(ctx, 'PATCH', '/files/abc', 'application/offset+octet-stream', ctx.photo.subarray(offset, end), [['Tus-Resumable', '1.0.0'], ['Upload-Offset', String(offset)]]);
      status = answer.status;
      const next = Number(answer.headers['upload-offset']?.[0]);
      if (status >= 400 || !Number.isFinite(next) || next <= offset) break;
      offset = next;
    }
    return status;
  };
  attempt('tus PATCH with Upload-Offset, following the server offset', 'jpeg', tus(CHUNK), { stub: tusStub });
  attempt('tus with a two-byte first PATCH', 'jpeg', tus(2), { stub: tusStub });

  const formChunks = (path: string, build: (ctx: AttemptContext, bytes: Buffer, start: number, index: number, count: number) => Parameters<typeof formBody>[0], first = CHUNK) => (ctx: AttemptContext) => {
    const list = pieces(ctx.photo.length, first);
    return inTurn(list, (start, end, index) => multipart(ctx, path, build(ctx, ctx.photo.subarray(start, end), start, index, list.length)));
  };
  const plupload = (ctx: AttemptContext, bytes: Buffer, _s: number, i: number, n: number) => [{ name: 'name', data: 'jane.jpg' }, { name: 'chunk', data: String(i) }, { name: 'chunks', data: String(n) }, { name: 'file', filename: 'blob', contentType: 'application/octet-stream', data: bytes }];
  attempt('Plupload chunk/chunks to async-upload.php', 'jpeg', formChunks('/wp-admin/async-upload.php', plupload));
  attempt('Plupload with a two-byte first chunk', 'jpeg', formChunks('/upload.php', plupload, 2));
  attempt('resumable.js chunks', 'jpeg', formChunks('/upload', (ctx, bytes, _s, i, n) => [
    { name: 'resumableChunkNumber', data: String(i + 1) }, { name: 'resumableChunkSize', data: String(CHUNK) }, { name: 'resumableTotalSize', data: String(ctx.photo.length) },
    { name: 'resumableIdentifier', data: 'id-1' }, { name: 'resumableFilename', data: 'jane.jpg' }, { name: 'resumableTotalChunks', data: String(n) },
    { name: 'file', filename: 'jane.jpg', contentType: 'application/octet-stream', data: bytes },
  ]));
  attempt('flow.js chunks', 'jpeg', formChunks('/flow/upload', (ctx, bytes, _s, i, n) => [
    { name: 'flowChunkNumber', data: String(i + 1) }, { name: 'flowTotalChunks', data: String(n) }, { name: 'flowIdentifier', data: 'id-2' }, { name: 'flowTotalSize', data: String(ctx.photo.length) },
    { name: 'file', filename: 'blob', contentType: 'application/octet-stream', data: bytes },
  ]));
  attempt('Dropzone dzchunkindex chunks', 'jpeg', formChunks('/dropzone/upload', (ctx, bytes, s, i, n) => [
    { name: 'dzuuid', data: 'u-1' }, { name: 'dzchunkindex', data: String(i) }, { name: 'dztotalfilesize', data: String(ctx.photo.length) }, { name: 'dzchunksize', data: String(CHUNK) },
    { name: 'dztotalchunkcount', data: String(n) }, { name: 'dzchunkbyteoffset', data: String(s) }, { name: 'file', filename: 'blob', contentType: 'application/octet-stream', data: bytes },
  ]));
  attempt('Fine Uploader qqpartindex chunks', 'jpeg', formChunks('/fine/upload', (ctx, bytes, s, i, n) => [
    { name: 'qquuid', data: 'q-1' }, { name: 'qqpartindex', data: String(i) }, { name: 'qqpartbyteoffset', data: String(s) }, { name: 'qqchunksize', data: String(bytes.length) },
    { name: 'qqtotalparts', data: String(n) }, { name: 'qqtotalfilesize', data: String(ctx.photo.length) }, { name: 'qqfilename', data: 'jane.jpg' }, { name: 'qqfile', filename: 'blob', contentType: 'application/octet-stream', data: bytes },
  ]));
  const contentRange = (first: number, type: string | undefined) => (ctx: AttemptContext) => inTurn(pieces(ctx.photo.length, first), (start, end) =>
    req(ctx, 'PUT', '/upload/session-1', type, ctx.photo.subarray(start, end), [['Content-Range', `bytes ${start}-${end - 1}/${ctx.photo.length}`]]));
  attempt('Content-Range PUT in 64 KiB pieces, octet-stream', 'jpeg', contentRange(CHUNK, 'application/octet-stream'));
  attempt('Content-Range PUT whose first piece is two bytes', 'jpeg', contentRange(2, 'application/octet-stream'));
  attempt('Content-Range PUT with no Content-Type', 'jpeg', contentRange(CHUNK, undefined));
  attempt('blueimp jQuery-File-Upload: multipart with Content-Range', 'jpeg', (ctx) => inTurn(pieces(ctx.photo.length), (start, end) =>
    multipart(ctx, '/server/php/', [{ name: 'files[]', filename: 'jane.jpg', contentType: 'image/jpeg', data: ctx.photo.subarray(start, end) }], [['Content-Range', `bytes ${start}-${end - 1}/${ctx.photo.length}`], ['Content-Disposition', 'attachment; filename="jane.jpg"']])));
  attempt('Nextcloud chunking v2: MKCOL, PUT chunks, MOVE .file', 'jpeg', async (ctx) => {
    await req(ctx, 'MKCOL', '/remote.php/dav/uploads/teacher/web-file-upload-9', undefined, Buffer.alloc(0));
    const status = await inTurn(pieces(ctx.photo.length), (start, end, i) =>
      req(ctx, 'PUT', `/remote.php/dav/uploads/teacher/web-file-upload-9/${String(i + 1).padStart(5, '0')}`, 'application/octet-stream', ctx.photo.subarray(start, end), [['OC-Total-Length', String(ctx.photo.length)]]));
    await req(ctx, 'MOVE', '/remote.php/dav/uploads/teacher/web-file-upload-9/.file', undefined, Buffer.alloc(0), [['Destination', '/remote.php/dav/files/teacher/jane.jpg']]);
    return status;
  });
  attempt('plain sequence: first request two bytes, second the rest, same path', 'jpeg', (ctx) =>
    inTurn([[0, 2], [2, ctx.photo.length]], (start, end) => req(ctx, 'POST', '/upload?part=x', 'application/octet-stream', ctx.photo.subarray(start, end))));
});

describe('HTTP-level tricks', () => {
  const chunkedBody = (bytes: Buffer, sizes: (i: number) => number) => {
    const out: Buffer[] = [];
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = Math.min(sizes(i), bytes.length - at);
      out.push(Buffer.from(`${n.toString(16)}\r\n`), bytes.subarray(at, at + n), Buffer.from('\r\n'));
      at += n;
    }
    out.push(Buffer.from('0\r\n\r\n'));
    return out;
  };
  const tiny = (i: number) => (i < 64 ? 1 : 4096);
  attempt('Transfer-Encoding: chunked with 1-byte chunks first, image/jpeg', 'jpeg', (ctx) => ctx.raw([head('POST', '/upload', [['Content-Type', 'image/jpeg'], ['Transfer-Encoding', 'chunked']]), ...chunkedBody(ctx.photo, tiny)]));
  attempt('Transfer-Encoding: chunked with 1-byte chunks first, text/plain', 'jpeg', (ctx) => ctx.raw([head('POST', '/upload', [['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked']]), ...chunkedBody(ctx.photo, tiny)]));
  attempt('Transfer-Encoding: chunked with chunk extensions and a trailer', 'jpeg', (ctx) => {
    const body = chunkedBody(ctx.photo, () => 8192).map((b) => b);
    body[0] = Buffer.from(`${body[0]!.toString().trim()};name=x\r\n`);
    body[body.length - 1] = Buffer.from('0\r\nX-Trailer: 1\r\n\r\n');
    return ctx.raw([head('POST', '/upload', [['Content-Type', 'application/octet-stream'], ['Transfer-Encoding', 'chunked']]), ...body]);
  });
  attempt('multipart sent with Transfer-Encoding: chunked', 'jpeg', (ctx) =>
    ctx.raw([head('POST', '/wp-admin/async-upload.php', [['Content-Type', `multipart/form-data; boundary=${BOUNDARY}`], ['Transfer-Encoding', 'chunked']]), ...chunkedBody(formBody([{ name: 'async-upload', filename: 'a.txt', contentType: 'text/plain', data: ctx.photo }], BOUNDARY), tiny)]));
  attempt('duplicated Content-Type: image/jpeg then text/plain', 'jpeg', (ctx) => ctx.raw([head('POST', '/upload', [['Content-Type', 'image/jpeg'], ['Content-Type', 'text/plain'], ['Content-Length', String(ctx.photo.length)]]), ctx.photo]));
  attempt('duplicated Content-Type: text/plain then image/jpeg', 'jpeg', (ctx) => ctx.raw([head('POST', '/upload', [['Content-Type', 'text/plain'], ['Content-Type', 'image/jpeg'], ['Content-Length', String(ctx.photo.length)]]), ctx.photo]));
  attempt('duplicated Content-Type: multipart then application/json', 'jpeg', (ctx) => {
    const body = formBody([{ name: 'file', filename: 'a.jpg', contentType: 'image/jpeg', data: ctx.photo }], BOUNDARY);
    return ctx.raw([head('POST', '/upload', [['Content-Type', `multipart/form-data; boundary=${BOUNDARY}`], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]), body]);
  });
  for (const type of ['Image/JPEG', 'image/jpeg ;', ' text/plain', 'text/plain;;;', 'text/plain; boundary=x', 'application/json ; charset="utf-8"', 'text/plain\t', 'text/plain, image/jpeg', 'image/jpeg; charset=utf-8', 'application/x-www-form-urlencoded;charset=ISO-8859-1']) {
    attempt(`Content-Type ${JSON.stringify(type)} on a raw JPEG`, 'jpeg', (ctx) => ctx.raw([head('POST', '/upload', [['Content-Type', type], ['Content-Length', String(ctx.photo.length)]]), ctx.photo]));
  }
  attempt('Content-Type odd case on multipart: Multipart/Form-Data; BOUNDARY=', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/upload', `Multipart/Form-Data; BOUNDARY=${BOUNDARY}`, formBody([{ name: 'f', filename: 'a.jpg', contentType: 'image/jpeg', data: ctx.photo }], BOUNDARY)));
  attempt('Content-Encoding: gzip JPEG, image/jpeg', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'image/jpeg', gzipSync(ctx.photo), [['Content-Encoding', 'gzip']]));
  attempt('Content-Encoding: gzip JPEG, text/plain', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'text/plain', gzipSync(ctx.photo), [['Content-Encoding', 'gzip']]));
  attempt('Content-Encoding: deflate JPEG', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/octet-stream', deflateSync(ctx.photo), [['Content-Encoding', 'deflate']]));
  attempt('Content-Encoding: br JPEG', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/octet-stream', brotliCompressSync(ctx.photo), [['Content-Encoding', 'br']]));
  attempt('Content-Encoding: gzip, identity on JSON with a data: image', 'jpeg', (ctx) => req(ctx, 'POST', '/api/posts', 'application/json', gzipSync(JSON.stringify({ content: `<img src="${dataUri(ctx.photo)}">` })), [['Content-Encoding', 'gzip, identity']]));
  attempt('gzip body with no Content-Encoding at all', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/octet-stream', gzipSync(ctx.photo)));
  attempt('Content-Encoding: GZIP (case) multipart', 'jpeg', (ctx) =>
    req(ctx, 'POST', '/upload', `multipart/form-data; boundary=${BOUNDARY}`, gzipSync(formBody([{ name: 'f', filename: 'a.jpg', contentType: 'image/jpeg', data: ctx.photo }], BOUNDARY)), [['Content-Encoding', 'GZIP']]));

  const smuggled = (photo: Buffer) => Buffer.concat([Buffer.from(`POST /upload HTTP/1.1\r\nHost: school.example\r\nContent-Type: text/plain\r\nContent-Length: ${photo.length}\r\n\r\n`), photo]);
  attempt('request smuggling: CL and TE together, JPEG request after the 0 chunk', 'jpeg', (ctx) => {
    const inner = smuggled(ctx.photo);
    const body = Buffer.concat([Buffer.from('0\r\n\r\n'), inner]);
    return ctx.raw([head('POST', '/', [['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']]), body]);
  });
  attempt('request smuggling: TE "chunked, identity" with a CL', 'jpeg', (ctx) => {
    const body = Buffer.concat([Buffer.from('0\r\n\r\n'), smuggled(ctx.photo)]);
    return ctx.raw([head('POST', '/', [['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked, identity']]), body]);
  });
  attempt('request smuggling: obfuscated "Transfer-Encoding : chunked"', 'jpeg', (ctx) => {
    const body = Buffer.concat([Buffer.from('0\r\n\r\n'), smuggled(ctx.photo)]);
    return ctx.raw([`POST / HTTP/1.1\r\nHost: school.example\r\nContent-Length: ${body.length}\r\nTransfer-Encoding : chunked\r\nConnection: close\r\n\r\n`, body]);
  });
  attempt('two different Content-Length headers', 'jpeg', (ctx) => ctx.raw([head('POST', '/upload', [['Content-Type', 'image/jpeg'], ['Content-Length', '10'], ['Content-Length', String(ctx.photo.length)]]), ctx.photo]));
  attempt('pipelined: a small request, then a text/plain JPEG on the same connection', 'jpeg', (ctx) =>
    ctx.raw([`POST /a HTTP/1.1\r\nHost: school.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi`, head('POST', '/upload', [['Content-Type', 'text/plain'], ['Content-Length', String(ctx.photo.length)]]), ctx.photo]));
  attempt('Expect: 100-continue with a text/plain JPEG', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'text/plain', ctx.photo, [['Expect', '100-continue']]));
  attempt('absolute-form target http://school.example/upload, text/plain JPEG', 'jpeg', (ctx) => ctx.raw([head('POST', 'http://school.example/upload', [['Content-Type', 'text/plain'], ['Content-Length', String(ctx.photo.length)]]), ctx.photo]));
  attempt('absolute-form target to /wp-json/wp/v2/media with JSON base64', 'jpeg', (ctx) => {
    const body = Buffer.from(JSON.stringify({ file: ctx.photo.toString('base64') }));
    return ctx.raw([head('POST', 'http://other.example/wp-json/wp/v2/media', [['Content-Type', 'application/json'], ['Content-Length', String(body.length)]]), body]);
  });
  attempt('X-HTTP-Method-Override: PUT on a GET-like POST', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'text/plain', ctx.photo, [['X-HTTP-Method-Override', 'PUT']]));

  const asyncUpload = (ctx: AttemptContext, path: string) =>
    multipart(ctx, path, [{ name: 'name', data: 'a.jpg' }, { name: 'action', data: 'upload-attachment' }, { name: 'async-upload', filename: 'a.txt', contentType: 'text/plain', data: ctx.photo }]);
  for (const path of ['//wp-admin/./async-upload.php', '/wp-admin/%2e/async-upload.php', '/WP-ADMIN/ASYNC-UPLOAD.PHP', '/wp-admin/async-upload.php.', '/wp-admin/async-upload.php/', '/wp-admin//async-upload.php;x=1', '/wp-admin/x/../async-upload.php', '/wp-admin/async-upload%2ephp', '/wp-admin%2fasync-upload.php']) {
    attempt(`path ${path} with the JPEG in a text/plain part`, 'jpeg', (ctx) => asyncUpload(ctx, path));
  }
  for (const path of ['/wp-json/wp/v2/media/', '/wp-json/wp/v2/media/.', '/WP-JSON/wp/v2/media', '/wp-json/wp/v2/x/../media', '/wp-json/wp/v2/%6dedia']) {
    attempt(`REST path ${path} with a text/plain JPEG`, 'jpeg', (ctx) => req(ctx, 'POST', path, 'text/plain', ctx.photo, [['Content-Disposition', 'attachment; filename="a.jpg"']]));
  }
});

describe('documents and videos that hold pictures or location', () => {
  attempt('PDF with a DCTDecode JPEG stream, application/pdf', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/pdf', pdf(ctx.photo)));
  attempt('PDF with a Flate-compressed JPEG stream', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/pdf', pdf(ctx.photo, true)));
  attempt('PDF in a multipart file part to async-upload.php', 'jpeg', (ctx) => multipart(ctx, '/wp-admin/async-upload.php', [{ name: 'async-upload', filename: 'newsletter.pdf', contentType: 'application/pdf', data: pdf(ctx.photo) }]));
  attempt('PDF sent as application/octet-stream', 'jpeg', (ctx) => req(ctx, 'PUT', '/remote.php/dav/files/t/newsletter.pdf', 'application/octet-stream', pdf(ctx.photo)));
  attempt('DOCX with word/media/image1.jpeg (stored)', 'jpeg', (ctx) => multipart(ctx, '/upload', [{ name: 'file', filename: 'report.docx', contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', data: docx(ctx.photo) }]));
  attempt('DOCX with word/media/image1.jpeg (deflated)', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', docx(ctx.photo, true)));
  attempt('ODT with Pictures/*.jpg', 'jpeg', (ctx) => multipart(ctx, '/upload', [{ name: 'file', filename: 'report.odt', contentType: 'application/vnd.oasis.opendocument.text', data: odt(ctx.photo) }]));
  attempt('ZIP holding photo.jpg, application/zip', 'jpeg', (ctx) => req(ctx, 'POST', '/upload', 'application/zip', zip([{ name: 'jane-smith-year6.jpg', data: ctx.photo }])));
  attempt('ZIP holding a deflated photo, multipart', 'jpeg', (ctx) => multipart(ctx, '/wp-admin/async-upload.php', [{ name: 'async-upload', filename: 'photos.zip', contentType: 'application/zip', data: zip([{ name: 'a.jpg', data: ctx.photo, deflate: true }]) }]));
  attempt('MP4 with GPS (©xyz), video/mp4 raw', 'mp4', (ctx) => req(ctx, 'POST', '/upload', 'video/mp4', ctx.photo));
  attempt('MP4 with GPS in a multipart file part', 'mp4', (ctx) => multipart(ctx, '/wp-admin/async-upload.php', [{ name: 'async-upload', filename: 'sports-day.mp4', contentType: 'video/mp4', data: ctx.photo }]));
  attempt('MP4 with GPS sent as application/octet-stream WebDAV PUT', 'mp4', (ctx) => req(ctx, 'PUT', '/remote.php/dav/files/t/clip.mp4', 'application/octet-stream', ctx.photo));
  attempt('MP4 with GPS as a data:video/mp4 URI in JSON', 'mp4', (ctx) => req(ctx, 'POST', '/api/posts', 'application/json', JSON.stringify({ content: `<video src="${dataUri(ctx.photo, 'video/mp4')}"></video>` })));
});
