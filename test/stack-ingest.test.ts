import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestClient } from '../src/edge/ingest-client.js';
import { veilExtensions } from '../src/extensions.js';
import { DEMO_PHOTO } from './helpers/fixtures.js';
import { startTestVeil, type TestVeil } from './helpers/veil-stack.js';

/**
 * The Node service as the Cloudflare edge sees it: with INGEST_SECRET set, `veil start` serves
 * POST /_veil/ingest, and the edge's own client gets sanitised bytes back through the queue.
 */
const SECRET = 'an-ingest-secret-of-at-least-32-characters';
let veil: TestVeil;

beforeAll(async () => {
  veil = await startTestVeil({ UPSTREAM_URL: 'http://127.0.0.1:9/', INGEST_SECRET: SECRET }, 'all', veilExtensions);
});
afterAll(async () => {
  await veil?.close();
});

const ctx = { cms: 'wordpress', method: 'POST', path: '/wp-json/wp/v2/media' };

describe('the ingest endpoint of a running Veil', () => {
  it('sanitises a photo sent by the edge client', async () => {
    const client = createIngestClient({ url: new URL(`${veil.url}/_veil/ingest`), secret: SECRET });
    const outcome = await client({ bytes: readFileSync(DEMO_PHOTO), filename: 'class.jpg', declaredType: 'image/jpeg' }, ctx, new AbortController().signal);
    expect(outcome.kind).toBe('sanitised');
    if (outcome.kind !== 'sanitised') return;
    expect(outcome.filename).toMatch(/^photo-\d{8}-[0-9a-f]{6}\.jpg$/);
    expect(Buffer.from(outcome.bytes).includes(Buffer.from('ILCE-7M2'))).toBe(false);
  });

  it('refuses a client with the wrong secret, so nothing is processed for it', async () => {
    const client = createIngestClient({ url: new URL(`${veil.url}/_veil/ingest`), secret: 'x'.repeat(40) });
    const outcome = await client({ bytes: readFileSync(DEMO_PHOTO), filename: 'class.jpg' }, ctx, new AbortController().signal);
    expect(outcome.kind).toBe('refused');
  });
});
