import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VeilError } from '../src/pipeline/errors.js';
import { picturesInXmlRpc } from '../src/proxy/cms/xmlrpc.js';
import type { SanitiseUpload } from '../src/proxy/types.js';
import { parseXml } from '../src/proxy/xml/xml-document.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { FixtureDir, richFixture } from './helpers/fixtures.js';
import { send, startProxy, type RunningProxy } from './helpers/http.js';
import { HAS_IXR, ixrRead, type IxrValue } from './helpers/ixr-read.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';

const fx = new FixtureDir();
const HOST: [string, string] = ['Host', 'school.example'];
let photo: Buffer;
let produced: Buffer[] = [];

/** Stand-in for the sanitising step: sharp re-encodes, which drops every tag. */
const reencode: SanitiseUpload = async (file) => {
  if (!(await sharp(file.bytes).metadata().then(() => true, () => false))) {
    return { kind: 'refused', uploadId: randomUUID(), error: new VeilError('CORRUPT_IMAGE', 'That picture is damaged.') };
  }
  const bytes = await sharp(file.bytes).rotate().jpeg({ quality: 80 }).toBuffer();
  produced.push(bytes);
  return { kind: 'sanitised', uploadId: randomUUID(), bytes, filename: `photo-20261203-${randomUUID().slice(0, 6)}.jpg`, contentType: 'image/jpeg' };
};

let stub: StubUpstream;
let proxy: RunningProxy;
let spoolDir: string;

beforeAll(async () => {
  // A PNG with GPS, so the type and name visibly change to Veil's JPEG.
  photo = readFileSync(await richFixture(fx, 'png', 320));
  stub = await startStubUpstream();
  spoolDir = mkdtempSync(join(tmpdir(), 'veil-xmlrpc-spool-'));
  proxy = await startProxy({ upstream: stub.url, sanitise: (file) => reencode(file, undefined as never, undefined as never), spoolDir, limits: { maxUploadBytes: 5 * 1024 * 1024, maxBodyBytes: 20 * 1024 * 1024, uploadTimeoutMs: 10_000 } });
});
afterAll(async () => {
  await proxy?.close();
  await stub?.close();
  rmSync(spoolDir, { recursive: true, force: true });
  fx.remove();
  await closeExiftool();
});
beforeEach(() => {
  produced = [];
  stub.requests.length = 0;
});

const DECL = '<?xml version="1.0"?>\n';
const member = (name: string, value: string) => `<member><name>${name}</name><value>${value}</value></member>`;
const uploadStruct = (bits: string, nameTag = 'name') =>
  `<struct>${member(nameTag, '<string>sports-day.png</string>')}${member('type', '<string>image/png</string>')}${member('bits', bits)}${member('overwrite', '<boolean>0</boolean>')}</struct>`;
const call = (method: string, params: string[]) => `${DECL}<methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${p}</value></param>`).join('')}</params></methodCall>`;
const credentials = ['<int>1</int>', '<string>admin</string>', '<string>secret</string>'];
const b64 = () => photo.toString('base64');

async function post(body: Buffer | string, contentType = 'text/xml') {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const res = await send(proxy.port, { method: 'POST', path: '/xmlrpc.php', headers: [HOST, ['Content-Type', contentType], ['Content-Length', String(bytes.length)]], body: bytes });
  return { res, forwarded: [...stub.requests] };
}

/** The upload struct WordPress's own reader finds in the forwarded body. */
function ixrUpload(body: Buffer): Record<string, Buffer> {
  const reading = ixrRead(body);
  expect(reading.ok).toBe(true);
  const params = (reading as { params: IxrValue[] }).params;
  return params[3] as Record<string, Buffer>;
}

async function expectNoGps(bytes: Buffer): Promise<void> {
  const tags = await readAllTags(fx.write(`forwarded-${randomUUID()}.bin`, bytes));
  expect(Object.keys(tags).filter((k) => k.startsWith('GPS:'))).toEqual([]);
  expect(JSON.stringify(tags)).not.toMatch(/Tom Pupil|Jane Teacher/);
}

/** Spellings WordPress's XML parser reads as the same upload. */
const UPLOAD_SPELLINGS: Array<[string, () => Buffer]> = [
  ['plain wp.uploadFile', () => Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]))],
  ['metaWeblog.newMediaObject', () => Buffer.from(call('metaWeblog.newMediaObject', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]))],
  ['wp&#46;uploadFile', () => Buffer.from(call('wp&#46;uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]))],
  ['method name in CDATA', () => Buffer.from(call('<![CDATA[wp.uploadFile]]>', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]))],
  ['a comment inside the name', () => Buffer.from(call('wp.<!-- x -->uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]))],
  ['base64 in CDATA with line breaks', () => Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64><![CDATA[${b64().replace(/.{76}/g, '$&\r\n')}]]></base64>`)]))],
  ['base64 with entities, a comment and a PI inside', () => {
    const text = b64();
    const spelled = `${text.slice(0, 40).replace(/\//g, '&#47;').replace(/A/g, '&#x41;')}<!-- c -->${text.slice(40, 90)}<?pi x?>${text.slice(90)}`;
    return Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${spelled}</base64>`)]));
  }],
  ['"=" inside base64 (PHP skips it)', () => Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64().slice(0, 8)}==${b64().slice(8)}</base64>`)]))],
  ['member name "bits" spelled with an entity', () => Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`).replace('<name>bits</name>', '<name>b&#105;ts</name>')]))],
  ['inside system.multicall', () => {
    const inner = `<struct>${member('methodName', '<string>wp.uploadFile</string>')}${member('params', `<array><data>${[...credentials, uploadStruct(`<base64>${b64()}</base64>`)].map((v) => `<value>${v}</value>`).join('')}</data></array>`)}</struct>`;
    return Buffer.from(call('system.multicall', [`<array><data><value>${inner}</value></data></array>`]));
  }],
  ['UTF-16LE with a BOM', () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]).replace('?>', ' encoding="UTF-16"?>'), 'utf16le')])],
  ['UTF-16BE without a BOM', () => Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]).replace(DECL, ''), 'utf16le').swap16()],
  ['ISO-8859-1 declared', () => Buffer.from(call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]).replace('?>', ' encoding="ISO-8859-1"?>'), 'latin1')],
];

describe('XML-RPC media uploads are sanitised in place', () => {
  it.each(UPLOAD_SPELLINGS)('%s: the forwarded file is Veil\'s, with its name and type', async (_label, build) => {
    const body = build();
    const { res, forwarded } = await post(body);
    expect(res.status).toBe(200);
    expect(forwarded).toHaveLength(1);
    expect(produced).toHaveLength(1);
    const sent = forwarded[0]!.body;
    expect(sent.includes(photo.subarray(100, 124))).toBe(false);
    expect(sent.toString('latin1')).not.toContain(b64().slice(200, 264));
    // Veil's own reading of what it forwarded...
    const found = picturesInXmlRpc(sent).images;
    expect(found.map((f) => Buffer.from(f.bytes).equals(produced[0]!))).toEqual([true]);
    expect(found[0]!.declaredType).toBe('image/jpeg');
    expect(found[0]!.filename).toMatch(/^photo-20261203-.*\.jpg$/);
    await expectNoGps(Buffer.from(found[0]!.bytes));
    // ...and WordPress's, where its reader takes the body at all (it refuses UTF-16 and 8-bit bodies).
    if (HAS_IXR && !/UTF-16|ISO-8859-1/.test(_label)) {
      const reading = ixrRead(sent);
      expect(reading.ok).toBe(true);
      const struct = (_label.includes('multicall') ? ((reading as { params: IxrValue[] }).params[0] as Array<Record<string, IxrValue>>)[0]!.params as IxrValue[] : (reading as { params: IxrValue[] }).params)[3] as Record<string, Buffer>;
      expect(struct.bits!.equals(produced[0]!)).toBe(true);
      expect(struct.name!.toString()).toMatch(/^photo-20261203-.*\.jpg$/);
      expect(struct.type!.toString()).toBe('image/jpeg');
    }
  });

  it.skipIf(!HAS_IXR)('WordPress reads each spelling it accepts as the same upload Veil saw', () => {
    for (const [label, build] of UPLOAD_SPELLINGS) {
      const body = build();
      const reading = ixrRead(body);
      const seen = picturesInXmlRpc(body).images.map((i) => Buffer.from(i.bytes));
      if (!reading.ok) continue;
      const params = label.includes('multicall') ? (((reading.params[0] as Array<Record<string, IxrValue>>)[0]!.params) as IxrValue[]) : reading.params;
      expect((params[3] as Record<string, Buffer>).bits!.equals(photo), label).toBe(true);
      expect(seen.map((b) => b.equals(photo)), label).toEqual([true]);
    }
  });

  it('a document that is not a picture (a PDF) goes on byte for byte', async () => {
    const pdf = Buffer.from('%PDF-1.4\n% not a picture\n'.repeat(20));
    const body = call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${pdf.toString('base64')}</base64>`)]);
    const { forwarded } = await post(body);
    expect(forwarded[0]!.body.toString()).toBe(body);
    expect(produced).toEqual([]);
  });

  it('calls without pictures pass unchanged', async () => {
    const body = call('wp.getPosts', [...credentials, '<struct></struct>']);
    const { forwarded } = await post(body);
    expect(forwarded[0]!.body.toString()).toBe(body);
  });
});

describe('pictures in posts sent over XML-RPC', () => {
  const html = () => `<p>Sports day</p><img src="data:image/png;base64,${b64()}" alt="">`;
  const escaped = () => html().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const newPost = (content: string) => call('wp.newPost', [...credentials, `<struct>${member('post_title', '<string>Sports day</string>')}${member('post_content', content)}${member('post_status', '<string>publish</string>')}</struct>`]);

  it.each([
    ['escaped HTML in <string>', () => newPost(`<string>${escaped()}</string>`)],
    ['HTML in CDATA', () => newPost(`<string><![CDATA[${html()}]]></string>`)],
    ['a value with no type', () => newPost(escaped())],
    ['metaWeblog.newPost description', () => call('metaWeblog.newPost', ['<string>1</string>', '<string>admin</string>', '<string>secret</string>', `<struct>${member('title', '<string>Sports day</string>')}${member('description', `<string>${escaped()}</string>`)}</struct>`, '<boolean>1</boolean>'])],
  ])('%s: the post WordPress gets holds Veil\'s picture, not the original', async (_label, build) => {
    const { forwarded } = await post(build());
    expect(forwarded).toHaveLength(1);
    expect(produced).toHaveLength(1);
    const sent = forwarded[0]!.body;
    expect(sent.toString()).not.toContain(b64().slice(200, 264));
    const doc = parseXml(sent);
    const content = doc.elements.map((e) => e.text).find((t) => t.includes('data:image/'))!;
    expect(content).toContain(`<p>Sports day</p><img src="data:image/jpeg;base64,${produced[0]!.toString('base64')}" alt="">`);
    if (HAS_IXR) expect(JSON.stringify(ixrRead(sent))).not.toContain(photo.subarray(0, 600).toString('base64').slice(0, 400));
  });
});

describe('what cannot be read with confidence is refused with a fault', () => {
  const upload = () => call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${b64()}</base64>`)]);
  it.each([
    ['a DOCTYPE with entities (billion laughs)', () => `${DECL}<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><methodCall><methodName>&lol2;</methodName></methodCall>`],
    ['an external entity', () => `${DECL}<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>&x;</methodName></methodCall>`],
    ['an undefined entity', () => upload().replace('wp.uploadFile', 'wp&dot;uploadFile')],
    ['a tag closed by another', () => upload().replace('</base64>', '</string>')],
    ['an encoding Veil does not read', () => upload().replace('?>', ' encoding="Shift_JIS"?>')],
    ['a picture next to another element in one value', () => upload().replace('<base64>', '<base64><i4>1</i4>')],
    ['text after the root element', () => `${upload()}<methodCall/>`],
  ])('%s', async (_label, build) => {
    const { res, forwarded } = await post(build());
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toEqual(['text/xml; charset=UTF-8']);
    const text = res.body.toString();
    expect(text).toMatch(/<fault>[\s\S]*<name>faultCode<\/name>\s*<value><int>400<\/int>[\s\S]*<name>faultString<\/name>\s*<value><string>Veil could not read this XML-RPC request/);
    if (HAS_IXR) {
      const fault = ixrRead(Buffer.from(text.replace('<methodResponse>', '<methodResponse>')));
      expect(fault.ok).toBe(true);
    }
  });

  it('a refused picture is answered with a fault WordPress clients show', async () => {
    const broken = Buffer.concat([photo.subarray(0, 64), Buffer.alloc(64)]);
    const body = call('wp.uploadFile', [...credentials, uploadStruct(`<base64>${broken.toString('base64')}</base64>`)]);
    const { res, forwarded } = await post(body);
    expect(forwarded).toEqual([]);
    expect(res.body.toString()).toMatch(/<int>422<\/int>[\s\S]*That picture is damaged\./);
  });
});
