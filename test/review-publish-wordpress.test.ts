import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWordPressPublisher } from '../src/review/publish-wordpress.js';
import type { ReviewItem } from '../src/review/item.js';
import { startStubWordPress, type StubWordPress } from './helpers/stub-wordpress.js';

const WP = { user: 'veil', appPassword: 'abcd efgh ijkl mnop qrst uvwx' };
const PHOTO = { bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]), filename: 'veil-20261126-104512-a1b2c3.jpg', contentType: 'image/jpeg' };
const ITEM = {} as ReviewItem; // the WordPress publisher does not read the item

describe('publishing approved photos to WordPress', () => {
  let pretty: StubWordPress;
  let plain: StubWordPress;
  beforeAll(async () => {
    pretty = await startStubWordPress(WP);
    plain = await startStubWordPress({ ...WP, prettyPermalinks: false });
  });
  afterAll(async () => {
    await pretty?.close();
    await plain?.close();
  });

  it('uploads the file with Basic auth and a Content-Disposition name, and returns the media id and URL', async () => {
    const publisher = createWordPressPublisher({ url: pretty.url, ...WP });
    const media = await publisher.publish(PHOTO, ITEM);
    const received = pretty.media.at(-1)!;
    expect(received.url).toBe('/wp-json/wp/v2/media');
    expect(received.authorization).toBe(`Basic ${Buffer.from(`${WP.user}:${WP.appPassword}`).toString('base64')}`);
    expect(received.filename).toBe(PHOTO.filename);
    expect(received.contentType).toBe('image/jpeg');
    expect([...received.body]).toEqual([...PHOTO.bytes]);
    expect(media).toEqual({ mediaId: String(received.id), url: `${pretty.url.replace(/\/$/, '')}/wp-content/uploads/2026/11/${PHOTO.filename}` });

    await publisher.withdraw(media!.mediaId);
    expect(pretty.deleted).toEqual([media!.mediaId]);
    expect(pretty.requests.at(-1)).toEqual({ method: 'DELETE', url: `/wp-json/wp/v2/media/${media!.mediaId}?force=true` });
  });

  it('falls back to ?rest_route= on a site without pretty permalinks', async () => {
    const publisher = createWordPressPublisher({ url: plain.url, ...WP });
    const media = await publisher.publish(PHOTO, ITEM);
    expect(media?.mediaId).toBe(String(plain.media.at(-1)!.id));
    expect(plain.media.at(-1)!.url).toBe('/index.php?rest_route=%2Fwp%2Fv2%2Fmedia');
  });

  it('makes header-safe file names out of hostile ones', async () => {
    const publisher = createWordPressPublisher({ url: pretty.url, ...WP });
    await publisher.publish({ ...PHOTO, filename: 'a"b\r\nX-Evil: 1;.jpg' }, ITEM);
    expect(pretty.media.at(-1)!.filename).toBe('a-b-X-Evil-1-.jpg');
  });

  it('explains a wrong application password, a site that is down and a site that is not WordPress', async () => {
    await expect(createWordPressPublisher({ url: pretty.url, user: WP.user, appPassword: 'nope' }).publish(PHOTO, ITEM)).rejects.toMatchObject({
      code: 'PUBLISH_FAILED',
      message: expect.stringMatching(/HTTP 401.*not allowed.*WORDPRESS_USER and WORDPRESS_APP_PASSWORD/s),
    });

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(createWordPressPublisher({ url: `http://127.0.0.1:${port}/`, ...WP }).publish(PHOTO, ITEM)).rejects.toMatchObject({
      code: 'PUBLISH_FAILED',
      message: expect.stringMatching(/did not answer \(connection refused\)/),
    });

    const notWordPress = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('nothing here');
    });
    await new Promise<void>((resolve) => notWordPress.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(notWordPress.address() as AddressInfo).port}/`;
      await expect(createWordPressPublisher({ url, ...WP }).publish(PHOTO, ITEM)).rejects.toMatchObject({ message: expect.stringMatching(/no WordPress REST API/) });
    } finally {
      await new Promise((resolve) => notWordPress.close(resolve));
    }
  });
});
