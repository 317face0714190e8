import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeExiftool } from '../helpers/exiftool.js';
import { demoGroundTruth, PROJECT_ROOT } from '../helpers/faces.js';
import { DEMO_PHOTO } from '../helpers/fixtures.js';
import type { Received } from '../helpers/http.js';
import { startTestVeil, type TestVeil } from '../helpers/veil-stack.js';
import { send } from '../helpers/http.js';
import { veilExtensions } from '../../src/extensions.js';
import { describeReports, inspectStored, type People, type StoredFileReport } from './helpers/inspect-stored.js';
import { deleteRedisPrefix } from '../helpers/redis-server.js';
import { startWordPress, wordpressMissing, type WordPressSite } from './helpers/wordpress.js';
import { WordPressClient, xmlRpcMember } from './helpers/wp-client.js';
import { FixtureDir } from '../helpers/fixtures.js';

/**
 * Debian's WordPress (php -S, MariaDB, Imagick) with the whole of Veil in front: the files
 * WordPress stores, the original and every size it generates, are what the public gets. The same
 * uploads made straight to WordPress show what Veil prevents: Debian's WordPress keeps the upload
 * byte for byte and, with Imagick, copies its EXIF (GPS included) into every generated size.
 */
const missing = wordpressMissing();
if (missing) console.warn(`[e2e] WordPress suite skipped: ${missing}`);

const photo = readFileSync(DEMO_PHOTO);
/** The upload's name as a teacher's camera roll might have it: a pupil's name. */
const PUPIL_FILENAME = 'jane-smith-year6.jpg';
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const GENERATED_NAME = /^photo-\d{8}-[0-9a-f]{6}/;
/** Lines for the notes, printed when the suite ends. */
const notes: string[] = [];

/** The answer's JSON; a failure shows what came instead (an HTML page, an error div...). */
function json<T>(answer: Received): T {
  const text = answer.body.toString();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`expected JSON, got HTTP ${answer.status} ${answer.headers['content-type']?.[0] ?? ''}:\n${text.slice(0, 1000)}`);
  }
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, Math.round(performance.now() - started)];
}

/** WordPress's image_meta fields that hold something (it writes '' and '0' for nothing). */
function filledImageMeta(meta: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== '' && v !== '0' && v !== 0 && !(Array.isArray(v) && v.length === 0)));
}

async function stopVeil(veil: TestVeil | undefined): Promise<void> {
  if (!veil) return;
  await veil.close();
  await deleteRedisPrefix(veil.config.redis.url, veil.config.redis.prefix);
}

describe.skipIf(missing !== undefined)('Debian WordPress behind Veil', () => {
  let wp: WordPressSite;
  /** The demo photo's own GPS position, as ExifTool reads it. */
  let photoGps: StoredFileReport['gps'];
  /** Its three people's faces, from the hand-checked ground truth. */
  let people: People;

  beforeAll(async () => {
    const upload = (await inspectStored([{ size: 'upload', path: DEMO_PHOTO }]))[0]!;
    photoGps = upload.gps;
    expect(photoGps, 'the demo photo carries GPS').toBeDefined();
    const truth = demoGroundTruth().find((image) => image.file === path.resolve(PROJECT_ROOT, DEMO_PHOTO))!;
    people = { width: upload.width, height: upload.height, faces: truth.boxes };
    expect(people.faces).toHaveLength(3);
    wp = await startWordPress();
  });
  beforeEach(({ onTestFailed }) => {
    // What WordPress said (its request log, PHP warnings) is usually the quickest explanation.
    onTestFailed(() => console.log(`php -S log, last lines:\n${wp?.serverLog() ?? ''}`));
  });
  afterAll(async () => {
    if (notes.length > 0) console.log(`\n=== WordPress end-to-end: what WordPress stored ===\n${notes.join('\n')}\n`);
    await wp?.stop();
    await closeExiftool();
  });

  /** Every file WordPress keeps for the attachment, read by ExifTool and, unless `withFaces` is false, the detector. */
  async function stored(attachmentId: number, withFaces = true): Promise<StoredFileReport[]> {
    const files = await wp.storedFiles(attachmentId);
    expect(files.map((f) => f.size)).toContain('full');
    return inspectStored(files, withFaces ? people : undefined);
  }

  /** Every size WordPress 6.1 generates for a landscape photo 1600 px or wider. */
  function expectEverySize(reports: StoredFileReport[]): void {
    expect(reports.map((r) => r.size)).toEqual(expect.arrayContaining(['full', 'thumbnail', 'medium', 'medium_large', 'large', '1536x1536']));
  }

  function expectCleanAndRedacted(reports: StoredFileReport[]): void {
    for (const r of reports) {
      expect({ file: r.name, metadata: r.metadata, gps: r.gps, facesOnPeople: r.facesOnPeople }).toEqual({ file: r.name, metadata: [], gps: undefined, facesOnPeople: 0 });
    }
  }

  describe('straight to WordPress, without Veil', () => {
    let client: WordPressClient;
    beforeAll(() => {
      client = new WordPressClient(wp.port);
    });

    it('a REST upload is stored as sent: GPS and faces in the original and in every generated size', async () => {
      const [answer, ms] = await timed(() => client.restUpload(photo, PUPIL_FILENAME, wp.admin));
      expect(answer.status, answer.body.toString()).toBe(201);
      const { id } = json<{ id: number }>(answer);
      const files = await wp.storedFiles(id);
      expect(readFileSync(files.find((f) => f.size === 'full')!.path).equals(photo)).toBe(true);
      const reports = await stored(id);
      const imageMeta = filledImageMeta(await wp.imageMeta(id));
      notes.push(describeReports(`Direct REST upload (no Veil), attachment ${id}, ${ms} ms; image_meta in the database: ${JSON.stringify(imageMeta)}`, reports));
      expectEverySize(reports);
      for (const r of reports) {
        expect(r.gps, `${r.name} keeps GPS`).toEqual(photoGps);
        expect(r.name).toContain('jane-smith-year6');
      }
      // The three people's faces, found by the same detector that checks Veil's output below.
      expect(reports.find((r) => r.size === 'full')!.facesOnPeople).toBe(3);
      expect(reports.find((r) => r.size === 'large')!.facesOnPeople).toBe(3);
      expect(imageMeta.camera).toBeTruthy();
    });

    it('an async-upload.php upload (logged-in cookie, nonce) keeps its GPS in every size too', async () => {
      await client.logIn(wp.admin.login, wp.admin.password);
      const [answer, ms] = await timed(async () => client.asyncUpload(photo, PUPIL_FILENAME, await client.mediaFormNonce()));
      const result = json<{ success: boolean; data: { id: number } }>(answer);
      expect(result).toMatchObject({ success: true });
      // Metadata only: the faces in these same bytes were shown by the REST upload above.
      const reports = await stored(result.data.id, false);
      notes.push(describeReports(`Direct async-upload.php (no Veil), attachment ${result.data.id}, ${ms} ms:`, reports));
      expectEverySize(reports);
      for (const r of reports) expect(r.gps, `${r.name} keeps GPS`).toEqual(photoGps);
    });
  });

  describe('straight to WordPress, without Veil: XML-RPC', () => {
    it('wp.newPost with a picture pasted as data: publishes the original, GPS and all', async () => {
      const client = new WordPressClient(wp.port);
      const content = `<p><img src="data:image/jpeg;base64,${photo.toString('base64')}" alt=""></p>`;
      const answer = await client.xmlRpc('wp.newPost', [1, wp.admin.login, wp.admin.applicationPassword, { post_title: 'Direct', post_content: content, post_status: 'publish' }]);
      const postId = Number(/<string>(\d+)<\/string>/.exec(answer.body.toString())?.[1]);
      expect(postId, answer.body.toString().slice(0, 500)).toBeGreaterThan(0);
      const page = await send(wp.port, { path: `/?rest_route=/wp/v2/posts/${postId}`, headers: [['Host', `127.0.0.1:${wp.port}`]] });
      const rendered = json<{ content: { rendered: string } }>(page).content.rendered;
      const served = Buffer.from(/data:image\/jpeg;base64,([A-Za-z0-9+/=]+)/.exec(rendered)![1]!, 'base64');
      expect(served.equals(photo)).toBe(true);
    });
  });

  describe('through Veil', () => {
    let veil: TestVeil;
    let client: WordPressClient;
    beforeAll(async () => {
      veil = await startTestVeil({ UPSTREAM_URL: wp.url });
      // WordPress builds its links and cookie names from siteurl: the site's address is now Veil's.
      await wp.setSiteUrl(`http://127.0.0.1:${veil.port}`);
      client = new WordPressClient(veil.port);
    });
    afterAll(() => stopVeil(veil));

    it.each(['wp-json', 'rest_route'] as const)('a REST upload (application password, /%s) is stored clean, downscaled, with no identifiable face, in every size', async (route) => {
      const [answer, ms] = await timed(() => client.restUpload(photo, PUPIL_FILENAME, wp.admin, route));
      expect(answer.status, answer.body.toString()).toBe(201);
      const { id, media_details: details } = json<{ id: number; media_details: { width: number; height: number } }>(answer);
      expect(Math.max(details.width, details.height)).toBe(1600);
      // The two routes differ only in how Veil recognises the upload: the detector's look at every size once (wp-json) is enough.
      const reports = await stored(id, route === 'wp-json');
      const imageMeta = filledImageMeta(await wp.imageMeta(id));
      notes.push(describeReports(`Through Veil, REST /${route}, attachment ${id}, ${ms} ms; image_meta in the database: ${JSON.stringify(imageMeta)}`, reports));
      expectEverySize(reports);
      for (const r of reports) expect(r.name).toMatch(GENERATED_NAME);
      if (route === 'wp-json') expectCleanAndRedacted(reports);
      else for (const r of reports) expect({ file: r.name, metadata: r.metadata, gps: r.gps }).toEqual({ file: r.name, metadata: [], gps: undefined });
      expect(imageMeta).toEqual({});
    });

    it('an async-upload.php upload (logged in through Veil, nonce) is stored clean and redacted in every size', async () => {
      await client.logIn(wp.admin.login, wp.admin.password);
      const nonce = await client.mediaFormNonce();
      const [answer, ms] = await timed(() => client.asyncUpload(photo, PUPIL_FILENAME, nonce));
      expect(answer.status).toBe(200);
      const result = json<{ success: boolean; data: { id: number; filename: string; width: number; height: number } }>(answer);
      expect(result).toMatchObject({ success: true });
      expect(result.data.filename).toMatch(GENERATED_NAME);
      expect(Math.max(result.data.width, result.data.height)).toBe(1600);
      const reports = await stored(result.data.id);
      notes.push(describeReports(`Through Veil, async-upload.php, attachment ${result.data.id}, ${ms} ms:`, reports));
      expectEverySize(reports);
      expectCleanAndRedacted(reports);
      expect(filledImageMeta(await wp.imageMeta(result.data.id))).toEqual({});
    });
  });

  describe('through Veil: XML-RPC and admin-ajax.php', () => {
    let veil: TestVeil;
    let client: WordPressClient;
    const fx = new FixtureDir();
    beforeAll(async () => {
      veil = await startTestVeil({ UPSTREAM_URL: wp.url });
      await wp.setSiteUrl(`http://127.0.0.1:${veil.port}`);
      client = new WordPressClient(veil.port);
    });
    afterAll(async () => {
      await stopVeil(veil);
      fx.remove();
    });

    /** The pictures pasted as data: URIs into some HTML, as files ExifTool and the detector can read. */
    async function pastedPictures(html: string, label: string): Promise<StoredFileReport[]> {
      const found = [...html.matchAll(/data:image\/[\w.+-]+;base64,([A-Za-z0-9+/=]+)/g)].map((m) => Buffer.from(m[1]!, 'base64'));
      expect(found.length, `${label} holds a pasted picture`).toBeGreaterThan(0);
      for (const bytes of found) expect(bytes.equals(photo), `${label} holds the original`).toBe(false);
      return inspectStored(found.map((bytes, i) => ({ size: `pasted-${i}`, path: fx.write(`${label}-${i}.jpg`, bytes) })));
    }

    it.each(['wp.uploadFile', 'metaWeblog.newMediaObject'] as const)('%s (a blogging app, application password) succeeds; WordPress stores it clean, under Veil\'s name, in every size', async (method) => {
      const file = { name: PUPIL_FILENAME, type: 'image/jpeg', bits: photo, overwrite: false };
      const [answer, ms] = await timed(() => client.xmlRpc(method, [method === 'wp.uploadFile' ? 1 : '1', wp.admin.login, wp.admin.applicationPassword, file]));
      const text = answer.body.toString();
      expect(answer.status).toBe(200);
      expect(text, text.slice(0, 1000)).not.toContain('<fault>');
      const id = Number(xmlRpcMember(text, 'id'));
      expect(id).toBeGreaterThan(0);
      expect(xmlRpcMember(text, 'type')).toBe('image/jpeg');
      const reports = await stored(id, method === 'wp.uploadFile');
      notes.push(describeReports(`Through Veil, XML-RPC ${method}, attachment ${id}, ${ms} ms:`, reports));
      expectEverySize(reports);
      for (const r of reports) expect(r.name).toMatch(GENERATED_NAME);
      if (method === 'wp.uploadFile') expectCleanAndRedacted(reports);
      else for (const r of reports) expect({ file: r.name, metadata: r.metadata, gps: r.gps }).toEqual({ file: r.name, metadata: [], gps: undefined });
      expect(filledImageMeta(await wp.imageMeta(id))).toEqual({});
    });

    it('wp.newPost with a picture pasted as data: into the content: the public post does not serve the original', async () => {
      const content = `<p>Sports day</p><p><img src="data:image/jpeg;base64,${photo.toString('base64')}" alt="Sports day"></p>`;
      const answer = await client.xmlRpc('wp.newPost', [1, wp.admin.login, wp.admin.applicationPassword, { post_title: 'Sports day', post_content: content, post_status: 'publish' }]);
      const text = answer.body.toString();
      expect(text, text.slice(0, 1000)).not.toContain('<fault>');
      const postId = Number(/<string>(\d+)<\/string>/.exec(text)?.[1]);
      expect(postId).toBeGreaterThan(0);
      // The published post as WordPress serves it to anyone (php -S has no rewrites for the pretty permalink).
      const page = await send(veil.port, { path: `/?rest_route=/wp/v2/posts/${postId}`, headers: [['Host', `127.0.0.1:${veil.port}`]] });
      expect(page.status, page.body.toString().slice(0, 500)).toBe(200);
      const published = json<{ status: string; content: { rendered: string } }>(page);
      expect(published.status).toBe('publish');
      const reports = await pastedPictures(published.content.rendered, 'public-post');
      notes.push(describeReports(`Through Veil, XML-RPC wp.newPost with a pasted picture, post ${postId}, as WordPress serves it publicly:`, reports));
      for (const r of reports) expect({ metadata: r.metadata, gps: r.gps, facesOnPeople: r.facesOnPeople }).toEqual({ metadata: [], gps: undefined, facesOnPeople: undefined });
    });

    it('heartbeat autosave (admin-ajax.php) of a post with a pasted picture: the stored post holds no original', async () => {
      await client.logIn(wp.admin.login, wp.admin.password);
      const postId = await wp.php<number>("return wp_insert_post(array('post_title' => 'Sports day draft', 'post_status' => 'draft', 'post_author' => 1, 'post_content' => ''));");
      const nonces = await client.editorNonces(postId);
      const content = `<!-- wp:paragraph --><p>Sports day</p><!-- /wp:paragraph --><!-- wp:image --><figure class="wp-block-image"><img src="data:image/jpeg;base64,${photo.toString('base64')}" alt=""/></figure><!-- /wp:image -->`;
      const answer = await client.heartbeatAutosave(postId, 'Sports day draft', content, nonces);
      expect(answer.status).toBe(200);
      expect(json<{ wp_autosave?: { success: boolean; message: string } }>(answer).wp_autosave).toMatchObject({ success: true });
      const storedContent = await wp.php<string>('return get_post((int) $args)->post_content;', postId);
      const reports = await pastedPictures(storedContent, 'autosave');
      notes.push(describeReports(`Through Veil, heartbeat autosave with a pasted picture, post ${postId}, as stored:`, reports));
      for (const r of reports) expect({ metadata: r.metadata, gps: r.gps }).toEqual({ metadata: [], gps: undefined });
    });
  });

  describe('through Veil with FACE_POLICY=hold', () => {
    let veil: TestVeil;
    let client: WordPressClient;
    let nonce: string;
    beforeAll(async () => {
      // The review queue publishes approved photos to WordPress itself, with an application password.
      veil = await startTestVeil(
        {
          UPSTREAM_URL: wp.url,
          FACE_POLICY: 'hold',
          VEIL_ADMIN_TOKEN: ADMIN_TOKEN,
          VEIL_SESSION_SECRET: 'e2e-session-secret-of-at-least-32-chars',
          WORDPRESS_URL: wp.url,
          WORDPRESS_USER: wp.admin.login,
          WORDPRESS_APP_PASSWORD: wp.admin.applicationPassword,
        },
        'all',
        veilExtensions,
      );
      await wp.setSiteUrl(`http://127.0.0.1:${veil.port}`);
      client = new WordPressClient(veil.port);
      await client.logIn(wp.admin.login, wp.admin.password);
      nonce = await client.mediaFormNonce();
    });
    afterAll(() => stopVeil(veil));

    /** Runs an upload that must be held, and checks WordPress stored nothing for it. */
    async function heldUpload(upload: () => Promise<Received>): Promise<Received> {
      const attachmentsBefore = await wp.attachmentCount();
      const filesBefore = wp.uploadedFiles();
      const answer = await upload();
      expect(await wp.attachmentCount()).toBe(attachmentsBefore);
      expect(wp.uploadedFiles()).toEqual(filesBefore);
      return answer;
    }

    it("the media modal's upload gets WordPress's own error JSON, saying the photo waits for review", async () => {
      const answer = await heldUpload(() => client.asyncUpload(photo, PUPIL_FILENAME, nonce));
      // As wp_ajax_upload_attachment() answers a failure, so the media modal shows the message.
      expect(answer.status).toBe(200);
      expect(json(answer)).toEqual({ success: false, data: { message: expect.stringMatching(/review/i), filename: PUPIL_FILENAME } });
      notes.push(`Held (FACE_POLICY=hold), async-upload.php (media modal) answered HTTP ${answer.status}: ${answer.body.toString()}`);
    });

    it("Media > Add New's uploader gets the error div its handlers.js shows", async () => {
      const answer = await heldUpload(() => client.asyncUpload(photo, PUPIL_FILENAME, nonce, { post_id: '0', short: '1' }));
      expect(answer.status).toBe(200);
      const text = answer.body.toString();
      expect(text).toMatch(/^<div class="error-div error">/);
      expect(text).toContain(PUPIL_FILENAME);
      expect(text).toMatch(/review/i);
    });

    it('a REST upload gets a REST error (code, message, data.status) and WordPress stores nothing', async () => {
      const answer = await heldUpload(() => client.restUpload(photo, PUPIL_FILENAME, wp.admin));
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(json(answer)).toMatchObject({ code: expect.any(String), message: expect.stringMatching(/review/i), data: { status: answer.status } });
      notes.push(`Held (FACE_POLICY=hold), REST answered HTTP ${answer.status}: ${answer.body.toString()}`);
    });

    it('a safeguarding lead approves it with faces blurred, and Veil publishes it to WordPress: clean in every size', async () => {
      const held = json<{ message: string }>(await heldUpload(() => client.restUpload(photo, PUPIL_FILENAME, wp.admin)));
      const itemId = /Reference: (\S+)\./.exec(held.message)![1]!;
      const body = JSON.stringify({ reason: 'parents consented; faces blurred for the website' });
      const decided = await send(veil.port, {
        method: 'POST',
        path: `/_veil/api/review/${itemId}/approve-redacted`,
        headers: [['Authorization', `Bearer ${ADMIN_TOKEN}`], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]],
        body,
      });
      expect(decided.status, decided.body.toString()).toBe(200);
      const item = json<{ delivery?: { mediaId?: string; url?: string; error?: string } }>(
        await send(veil.port, { path: `/_veil/api/review/${itemId}`, headers: [['Authorization', `Bearer ${ADMIN_TOKEN}`]] }),
      );
      expect(item.delivery?.error).toBeUndefined();
      const mediaId = Number(item.delivery?.mediaId);
      expect(mediaId).toBeGreaterThan(0);
      const reports = await stored(mediaId);
      notes.push(describeReports(`Held, approved with faces blurred, published by Veil as attachment ${mediaId} (${item.delivery?.url}):`, reports));
      expectEverySize(reports);
      for (const r of reports) expect(r.name).toMatch(GENERATED_NAME);
      expectCleanAndRedacted(reports);
    });
  });
});
