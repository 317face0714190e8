/**
 * The proxy alone in its own process, so a test can watch its memory (RSS) while huge uploads
 * pass through. Started with `node --import tsx test/helpers/proxy-child.ts`; reads UPSTREAM_URL
 * and SPOOL_DIR, prints one JSON line `{"port":N}` when listening, exits when stdin closes.
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { SanitiseUpload } from '../../src/proxy/types.js';
import { startProxy } from './http.js';

/** Stand-in for the queue-backed ingest: re-encodes with sharp, which drops all metadata. */
const sanitise: SanitiseUpload = async (file) => ({
  kind: 'sanitised',
  uploadId: randomUUID(),
  bytes: await sharp(file.bytes).rotate().jpeg().toBuffer(),
  filename: `photo-${randomUUID().slice(0, 6)}.jpg`,
  contentType: 'image/jpeg',
});

const proxy = await startProxy({
  upstream: process.env.UPSTREAM_URL!,
  sanitise,
  spoolDir: process.env.SPOOL_DIR!,
  limits: { maxBodyBytes: 4 * 1024 * 1024 * 1024 },
});
process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void proxy.close().then(() => process.exit(0));
});
