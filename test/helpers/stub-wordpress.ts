import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A media upload the stand-in WordPress received. */
export interface ReceivedMedia {
  id: number;
  filename: string | null;
  contentType: string | null;
  authorization: string | null;
  body: Buffer;
  /** The URL the request used (pretty /wp-json/ or ?rest_route=). */
  url: string;
}

export interface StubWordPress {
  url: string;
  media: ReceivedMedia[];
  deleted: string[];
  /** Every request, for checks on method and path. */
  requests: Array<{ method: string; url: string }>;
  /** Resolves when the next media upload has arrived. */
  nextMedia(): Promise<ReceivedMedia>;
  close(): Promise<void>;
}

export interface StubWordPressOptions {
  user: string;
  appPassword: string;
  /** false: /wp-json/ answers a plain 404 page, as a site without pretty permalinks does. */
  prettyPermalinks?: boolean;
}

/**
 * A real HTTP server speaking the part of the WordPress REST API Veil uses: POST
 * /wp/v2/media (Basic auth with an application password, raw body, Content-Disposition) and
 * DELETE /wp/v2/media/<id>?force=true. It answers the way WordPress does, JSON errors included.
 */
export async function startStubWordPress(options: StubWordPressOptions): Promise<StubWordPress> {
  const media: ReceivedMedia[] = [];
  const deleted: string[] = [];
  const requests: StubWordPress['requests'] = [];
  const waiters: Array<(m: ReceivedMedia) => void> = [];
  const expected = `Basic ${Buffer.from(`${options.user}:${options.appPassword}`).toString('base64')}`;
  let nextId = 41;
  let base = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify(body));
      };
      let route: string | null = null;
      if (url.pathname.startsWith('/wp-json/')) {
        if (options.prettyPermalinks === false) {
          res.writeHead(404, { 'content-type': 'text/html' });
          res.end('<html><body>Not Found</body></html>');
          return;
        }
        route = url.pathname.slice('/wp-json'.length);
      } else if (url.pathname === '/index.php' || url.pathname === '/') {
        route = url.searchParams.get('rest_route');
      }
      if (!route) {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('not found');
        return;
      }
      if (req.headers.authorization !== expected) {
        json(401, { code: 'rest_cannot_create', message: 'Sorry, you are not allowed to create posts as this user.', data: { status: 401 } });
        return;
      }
      if (route === '/wp/v2/media' && req.method === 'POST') {
        const disposition = req.headers['content-disposition'] ?? '';
        const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? null;
        if (!filename) {
          json(400, { code: 'rest_upload_no_content_disposition', message: 'No Content-Disposition supplied.' });
          return;
        }
        const item: ReceivedMedia = {
          id: nextId++,
          filename,
          contentType: req.headers['content-type'] ?? null,
          authorization: req.headers.authorization ?? null,
          body: Buffer.concat(chunks),
          url: req.url ?? '',
        };
        media.push(item);
        waiters.splice(0).forEach((w) => w(item));
        json(201, { id: item.id, source_url: `${base}/wp-content/uploads/2026/11/${filename}`, media_type: 'image' });
        return;
      }
      const del = /^\/wp\/v2\/media\/(\d+)$/.exec(route);
      if (del && req.method === 'DELETE') {
        if (url.searchParams.get('force') !== 'true') {
          json(501, { code: 'rest_trash_not_supported', message: 'Attachments do not support trashing. Set "force=true" to delete.' });
          return;
        }
        deleted.push(del[1]!);
        json(200, { deleted: true, previous: { id: Number(del[1]) } });
        return;
      }
      json(404, { code: 'rest_no_route', message: 'No route was found matching the URL and request method.' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    media,
    deleted,
    requests,
    nextMedia: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
