import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { picturesInXmlRpc } from '../src/proxy/cms/xmlrpc.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { FixtureDir, richFixture } from './helpers/fixtures.js';
import { send } from './helpers/http.js';
import { HAS_IXR, ixrRead, type IxrValue } from './helpers/ixr-read.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/** XML-RPC through the whole of Veil (queue, workers, store) in front of a recording stub CMS. */
const fx = new FixtureDir();
let cms: StubUpstream;
let veil: TestVeil;
let photo: Buffer;

beforeAll(async () => {
  photo = readFileSync(await richFixture(fx, 'jpeg', 640));
  cms = await startStubUpstream();
  veil = await startTestVeil({ UPSTREAM_URL: cms.url.toString() });
});
afterAll(async () => {
  await veil?.close();
  await cms?.close();
  fx.remove();
  await closeExiftool();
});

const member = (name: string, value: string) => `<member><name>${name}</name><value>${value}</value></member>`;

async function xmlrpc(body: string) {
  cms.requests.length = 0;
  const res = await send(veil.port, { method: 'POST', path: '/xmlrpc.php', headers: [['Host', 'school.example'], ['Content-Type', 'text/xml'], ['Content-Length', String(Buffer.byteLength(body))]], body });
  return { res, forwarded: [...cms.requests] };
}

async function gpsTags(bytes: Uint8Array): Promise<string[]> {
  const tags = await readAllTags(fx.write(`stack-${Date.now()}-${Math.random()}.jpg`, bytes));
  return Object.keys(tags).filter((k) => k.startsWith('GPS:'));
}

describe('XML-RPC through the whole stack', () => {
  it('wp.uploadFile: WordPress receives a sanitised file, under Veil\'s name, with no GPS', async () => {
    expect(await gpsTags(photo)).not.toEqual([]);
    const struct = `<struct>${member('name', '<string>jane-smith-year6.jpg</string>')}${member('type', '<string>image/jpeg</string>')}${member('bits', `<base64>${photo.toString('base64')}</base64>`)}</struct>`;
    const body = `<?xml version="1.0"?><methodCall><methodName>wp.uploadFile</methodName><params><param><value><int>1</int></value></param><param><value><string>admin</string></value></param><param><value><string>pw</string></value></param><param><value>${struct}</value></param></params></methodCall>`;
    const { res, forwarded } = await xmlrpc(body);
    expect(res.status).toBe(200);
    expect(forwarded).toHaveLength(1);
    const [file] = picturesInXmlRpc(forwarded[0]!.body).images;
    expect(file!.filename).not.toContain('jane');
    expect(await gpsTags(file!.bytes)).toEqual([]);
    if (HAS_IXR) {
      const reading = ixrRead(forwarded[0]!.body);
      expect(reading.ok).toBe(true);
      const bits = ((reading as { params: IxrValue[] }).params[3] as Record<string, Buffer>).bits!;
      expect(Buffer.from(file!.bytes).equals(bits)).toBe(true);
    }
  });

  it('wp.newPost with a pasted data: picture: the content WordPress receives holds no GPS', async () => {
    const html = `<p>Sports day</p><img src="data:image/jpeg;base64,${photo.toString('base64')}">`.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const body = `<?xml version="1.0"?><methodCall><methodName>wp.newPost</methodName><params><param><value><int>1</int></value></param><param><value><string>admin</string></value></param><param><value><string>pw</string></value></param><param><value><struct>${member('post_content', `<string>${html}</string>`)}</struct></value></param></params></methodCall>`;
    const { forwarded } = await xmlrpc(body);
    expect(forwarded).toHaveLength(1);
    const [picture] = picturesInXmlRpc(forwarded[0]!.body).images;
    expect(picture).toBeDefined();
    expect(await gpsTags(picture!.bytes)).toEqual([]);
    expect(forwarded[0]!.body.toString()).not.toContain(photo.toString('base64').slice(100, 200));
  });
});
