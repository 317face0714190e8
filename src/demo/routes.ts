import { Hono } from 'hono';
import { decodeForPublishing } from '../pipeline/decode.js';
import { encodeImage } from '../pipeline/encode.js';
import { DEFAULT_LIMITS, readHeader } from '../pipeline/limits.js';
import { sniffFormat } from '../pipeline/sniff.js';
import { uploadKeys } from '../queue/jobs.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { DemoSite } from './site.js';

const SHOWN_AS_IS: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' };

/**
 * `/_veil/demo/original/:id`: the "before" picture on the demo site. Originals are private, so
 * this exists only in demo mode, only for uploads the demo site itself received, and only for
 * browsers on this machine.
 */
export function createDemoRoutes(store: ObjectStore, demo: DemoSite, isLocalClient: (req: Request, env: unknown) => boolean): Hono {
  const app = new Hono();
  app.get('/original/:id', async (c) => {
    const id = c.req.param('id');
    if (!isLocalClient(c.req.raw, c.env)) return c.text('The demo shows originals only to a browser on the machine running Veil.', 403);
    if (!demo.knows(id)) return c.text('Not found', 404);
    const original = await store.get(uploadKeys(id).original);
    if (!original) return c.text('Not found (originals are deleted after ORIGINALS_RETENTION_DAYS)', 404);
    const format = sniffFormat(original.bytes);
    const type = SHOWN_AS_IS[format];
    if (type) return c.body(original.bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': type, 'cache-control': 'no-store' });
    // Browsers cannot show HEIC or TIFF: render it, full size, only for this page.
    const header = await readHeader(original.bytes, format);
    const image = await decodeForPublishing(original.bytes, header, 4096, DEFAULT_LIMITS);
    const jpeg = await encodeImage(image, 'jpeg');
    return c.body(jpeg as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store' });
  });
  return app;
}
