import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VeilError } from '../src/pipeline/errors.js';
import type { SanitiseUpload } from '../src/proxy/types.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { FixtureDir, richFixture } from './helpers/fixtures.js';
import { send, startProxy, type RunningProxy } from './helpers/http.js';
import { startStubUpstream, type StubUpstream } from './helpers/stub-upstream.js';

/**
 * PHP CMS doors as PHP routes them (query strings read as $_GET is) and WordPress's admin-ajax.php
 * bodies, in front of a recording stub CMS. Which adapter claimed a request shows in the shape of
 * a refusal; what the CMS received is read back with PHP's own parse_str where PHP is present.
 */
const HAS_PHP = spawnSync('php', ['-v']).status === 0;
const HOST: [string, string] = ['Host', 'school.example'];
const fx = new FixtureDir();
let photo: Buffer;
let produced: Buffer[] = [];
let refuse = false;

const sanitise: SanitiseUpload = async (file) => {
  if (refuse) return { kind: 'refused', uploadId: randomUUID(), error: new VeilError('UNSUPPORTED_FORMAT', 'Veil refused this picture for the test.') };
  const bytes = await sharp(file.bytes).jpeg({ quality: 80 }).toBuffer();
  produced.push(bytes);
  return { kind: 'sanitised', uploadId: randomUUID(), bytes, filename: `photo-${randomUUID().slice(0, 6)}.jpg`, contentType: 'image/jpeg' };
};

let stub: StubUpstream;
let proxy: RunningProxy;
let spoolDir: string;
beforeAll(async () => {
  photo = readFileSync(await richFixture(fx, 'jpeg', 320));
  stub = await startStubUpstream();
  spoolDir = mkdtempSync(join(tmpdir(), 'veil-wpdoors-spool-'));
  proxy = await startProxy({ upstream: stub.url, sanitise, spoolDir, limits: { maxUploadBytes: 5 * 1024 * 1024, maxBodyBytes: 20 * 1024 * 1024, uploadTimeoutMs: 10_000 } });
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
  refuse = false;
  stub.requests.length = 0;
});

async function post(path: string, body: Buffer | string, contentType: string, extra: Array<[string, string]> = []) {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const res = await send(proxy.port, { method: 'POST', path, headers: [HOST, ['Content-Type', contentType], ['Content-Length', String(bytes.length)], ...extra], body: bytes });
  return { res, forwarded: [...stub.requests], json: () => JSON.parse(res.body.toString()) as Record<string, unknown> };
}

function phpParseStr(body: Buffer): Record<string, unknown> {
  return JSON.parse(execFileSync('php', ['-r', 'parse_str(stream_get_contents(STDIN), $r); echo json_encode($r);'], { input: body, maxBuffer: 64 * 1024 * 1024 }).toString()) as Record<string, unknown>;
}

describe('query strings read as PHP reads them', () => {
  it.each([
    '/?rest_route=/x&rest_route=/wp/v2/media',
    '/?rest.route=/wp/v2/media',
    '/?rest%2Eroute=/wp/v2/media',
    '/?rest+route=/WP/V2/MEDIA',
    '/?rest_route=/wp/v2/media//',
    '/wp-json/wp/v2/posts?rest_route=/wp/v2/media',
    '/index.php/wp-json/wp/v2/media?rest_route=/wp/v2/posts',
  ])('%s reaches WordPress\'s REST media door', async (path) => {
    refuse = true;
    const { res, forwarded, json } = await post(path, photo, 'image/jpeg', [['Content-Disposition', 'attachment; filename=p.jpg']]);
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(415);
    expect(json()).toMatchObject({ code: 'veil_unsupported_format', data: { status: 415 } });
  });

  it('PUT with ?_method=POST reaches the REST media door too', async () => {
    refuse = true;
    const res = await send(proxy.port, { method: 'PUT', path: '/wp-json/wp/v2/media?_method=POST', headers: [HOST, ['Content-Type', 'image/jpeg'], ['Content-Length', String(photo.length)]], body: photo });
    expect(stub.requests).toEqual([]);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'veil_unsupported_format' });
  });

  it('XML-RPC with PATH_INFO after the script (/xmlrpc.php/x) is read as XML-RPC', async () => {
    const body = `<?xml version="1.0"?><methodCall><methodName>wp.uploadFile</methodName><params><param><value><struct><member><name>bits</name><value><base64>${photo.toString('base64')}</base64></value></member></struct></value></param></params></methodCall>`;
    const { forwarded } = await post('/xmlrpc.php/anything', body, 'application/octet-stream');
    expect(produced).toHaveLength(1);
    expect(forwarded[0]!.body.toString()).toContain(produced[0]!.toString('base64'));
  });

  it.each([
    '/administrator/index.php?option=com_content&option=com_media&task=api.files&path=local-images:/',
    '/administrator/index.php?option=com_media&task=api.files%00&path=local-images:/',
    '/administrator/index.php?option=COM_MEDIA&task=x&task=Api.Files&path=local-images:/',
  ])('%s reaches Joomla\'s media manager', async (path) => {
    const body = JSON.stringify({ name: 'p.jpg', content: photo.toString('base64') });
    refuse = true;
    const refused = await post(path, body, 'application/json');
    expect(refused.forwarded).toEqual([]);
    expect(refused.json()).toMatchObject({ success: false, message: 'Veil refused this picture for the test.', messages: null, data: null });
    refuse = false;
    const { forwarded } = await post(path, body, 'application/json');
    const sent = JSON.parse(forwarded[0]!.body.toString()) as { name: string; content: string };
    expect(Buffer.from(sent.content, 'base64').equals(produced[0]!)).toBe(true);
    expect(sent.name).toMatch(/^photo-.*\.jpg$/);
  });
});

describe('WordPress admin-ajax.php', () => {
  const pasted = () => `<p>Sports day</p><img src="data:image/jpeg;base64,${photo.toString('base64')}">`;
  const form = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${encodeURIComponent(k).replace(/%20/g, '+')}=${encodeURIComponent(v).replace(/%20/g, '+')}`).join('&');
  const heartbeat = () =>
    form([
      ['data[wp_autosave][post_id]', '12'],
      ['data[wp_autosave][post_title]', 'Sports day'],
      ['data[wp_autosave][content]', pasted()],
      ['interval', '60'],
      ['_nonce', 'abc'],
      ['action', 'heartbeat'],
      ['screen_id', 'post'],
      ['has_focus', 'false'],
    ]);
  const FORM_TYPE = 'application/x-www-form-urlencoded; charset=UTF-8';

  it('heartbeat autosave: the post content WordPress receives holds Veil\'s picture, not the original', async () => {
    const { forwarded } = await post('/wp-admin/admin-ajax.php', heartbeat(), FORM_TYPE);
    expect(forwarded).toHaveLength(1);
    expect(produced).toHaveLength(1);
    const sent = forwarded[0]!.body;
    expect(sent.toString()).not.toContain(encodeURIComponent(photo.toString('base64').slice(300, 360)));
    const fields = new URLSearchParams(sent.toString());
    expect(fields.get('data[wp_autosave][content]')).toBe(`<p>Sports day</p><img src="data:image/jpeg;base64,${produced[0]!.toString('base64')}">`);
    expect(fields.get('action')).toBe('heartbeat');
    if (HAS_PHP) {
      const php = phpParseStr(sent) as { data: { wp_autosave: { content: string; post_id: string } } };
      expect(php.data.wp_autosave.post_id).toBe('12');
      const base64 = /base64,([^"]+)/.exec(php.data.wp_autosave.content)![1]!;
      const tags = await readAllTags(fx.write(`autosave-${randomUUID()}.jpg`, Buffer.from(base64, 'base64')));
      expect(Object.keys(tags).filter((k) => k.startsWith('GPS:'))).toEqual([]);
    }
  });

  it('a refused autosave is answered as heartbeat_autosave() answers, which the editor shows', async () => {
    refuse = true;
    const { res, forwarded, json } = await post('/wp-admin/admin-ajax.php', heartbeat(), FORM_TYPE);
    expect(forwarded).toEqual([]);
    expect(res.status).toBe(200);
    expect(json()).toMatchObject({ wp_autosave: { success: false, message: 'Veil refused this picture for the test.' }, server_time: expect.any(Number) });
  });

  it('a page builder\'s JSON inside a form field (Elementor\'s actions) is sanitised in place', async () => {
    const actions = JSON.stringify({ save_builder: { action: 'save_builder', data: { elements: [{ settings: { editor: pasted() } }] } } });
    const { forwarded } = await post('/wp-admin/admin-ajax.php', form([['actions', actions], ['editor_post_id', '7'], ['action', 'elementor_ajax']]), FORM_TYPE);
    expect(produced).toHaveLength(1);
    const sent = new URLSearchParams(forwarded[0]!.body.toString());
    const saved = JSON.parse(sent.get('actions')!) as { save_builder: { data: { elements: Array<{ settings: { editor: string } }> } } };
    expect(saved.save_builder.data.elements[0]!.settings.editor).toContain(`data:image/jpeg;base64,${produced[0]!.toString('base64')}`);
    expect(sent.get('action')).toBe('elementor_ajax');
  });

  it('other actions are refused as wp_send_json_error() answers; the image editor as image-edit.js reads it', async () => {
    refuse = true;
    const other = await post('/wp-admin/admin-ajax.php', form([['action', 'elementor_ajax'], ['actions', pasted()]]), FORM_TYPE);
    expect(other.json()).toEqual({ success: false, data: { message: 'Veil refused this picture for the test.' } });
    const editor = await post('/wp-admin/admin-ajax.php?action=image-editor', form([['postid', '5'], ['history', pasted()]]), FORM_TYPE);
    expect(editor.json()).toMatchObject({ success: false, data: { error: 'Veil refused this picture for the test.' } });
    expect(stub.requests).toEqual([]);
  });

  it('a "+" left unencoded inside pasted base64 (a space to PHP) is refused, not half sanitised', async () => {
    const base64 = photo.toString('base64');
    const at = base64.indexOf('+', 200);
    expect(at).toBeGreaterThan(0);
    const body = `action=heartbeat&data%5Bwp_autosave%5D%5Bcontent%5D=data:image/jpeg;base64,${base64}`;
    const { forwarded, json } = await post('/wp-admin/admin-ajax.php', body, FORM_TYPE);
    expect(forwarded).toEqual([]);
    expect(json()).toMatchObject({ wp_autosave: { success: false } });
  });

  it('a field that is itself a picture, percent-encoded, is sanitised whole', async () => {
    const body = `action=my_plugin_save&file=${[...photo].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}&note=x`;
    const { forwarded } = await post('/wp-admin/admin-ajax.php', body, FORM_TYPE);
    expect(produced).toHaveLength(1);
    const sent = forwarded[0]!.body.toString();
    const field = /&file=([^&]*)/.exec(sent)![1]!;
    const decoded: number[] = [];
    for (let i = 0; i < field.length; i++) {
      if (field[i] === '%') {
        decoded.push(parseInt(field.slice(i + 1, i + 3), 16));
        i += 2;
      } else decoded.push(field[i] === '+' ? 0x20 : field.charCodeAt(i));
    }
    const bytes = Buffer.from(decoded);
    expect(bytes.equals(produced[0]!)).toBe(true);
    expect(sent.endsWith('&note=x')).toBe(true);
  });

  it('bodies without pictures pass byte for byte', async () => {
    const body = form([['action', 'heartbeat'], ['data[wp-refresh-post-lock][post_id]', '12'], ['_nonce', 'abc']]);
    const { forwarded } = await post('/wp-admin/admin-ajax.php', body, FORM_TYPE);
    expect(forwarded[0]!.body.toString()).toBe(body);
    expect(produced).toEqual([]);
  });
});
