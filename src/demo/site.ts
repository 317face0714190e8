import { Hono } from 'hono';
import type { QueuedResult } from '../queue/jobs.js';
import type { SanitiseReport } from '../pipeline/sanitise.js';
import { describeBytes, sniffFormat } from '../pipeline/sniff.js';
import { demoPage } from './pages.js';

/**
 * What the demo says about a file that reached it without Veil's report. Veil changes pictures
 * only; any other file (a PDF, a Word document) goes on to the CMS as it was sent, and the demo
 * says so rather than guessing that something went around Veil.
 */
function notProcessed(bytes: Uint8Array): { status: 415 | 400; message: string } {
  if (!isPicture(bytes)) {
    const what = bytes.length === 0 ? 'an empty file' : describeBytes(bytes);
    return {
      status: 415,
      message: `That was not a photo: it is ${what}. Veil changes only photos and pictures, so it passed this file on unchanged, as it would to your CMS. This demo site shows photos only, so it did not keep it: choose a photo to see what Veil does.`,
    };
  }
  return { status: 400, message: 'This photo reached the demo site without going through Veil, so there is nothing to compare. Upload it from this page.' };
}

function isPicture(bytes: Uint8Array): boolean {
  try {
    sniffFormat(bytes);
    return true;
  } catch {
    return false;
  }
}

type DemoContext = { req: { header(name: string): string | undefined }; json(body: unknown, status: 400 | 415): Response; text(body: string, status: 400 | 415): Response };

function answer(c: DemoContext, { status, message }: { status: 400 | 415; message: string }): Response {
  if ((c.req.header('accept') ?? '').includes('application/json')) return c.json({ message }, status);
  return c.text(message, status);
}

/** One upload as the demo site shows it. */
export interface DemoUpload {
  uploadId: string;
  filename: string;
  contentType: string;
  bytes: Uint8Array;
  report: SanitiseReport;
  receivedAt: Date;
}

const KEEP = 30;

/**
 * A stand-in CMS for `veil start` without UPSTREAM_URL, so a newcomer sees what Veil does within
 * a minute: an upload form, and for each upload the original and the published version side by
 * side with the report. It sits *behind* Veil's proxy exactly like a real CMS: it only ever
 * receives sanitised files. It keeps the last few uploads in memory.
 */
export class DemoSite {
  private readonly uploads: DemoUpload[] = [];
  private readonly reports = new Map<string, { uploadId: string; report: SanitiseReport }>();
  private readonly held: { uploadId: string; reasons: string[]; at: Date }[] = [];

  /** Wired to ingest's onResult: lets the demo name the upload behind each sanitised file it receives. */
  /** `report`: the sanitised upload's whole report, which the worker keeps in the store, not in Redis. */
  recordResult(result: QueuedResult, report?: SanitiseReport): void {
    if (result.outcome === 'sanitised' && report) this.reports.set(result.filename, { uploadId: result.uploadId, report });
    if (result.outcome === 'held') this.held.unshift({ uploadId: result.uploadId, reasons: result.reasons, at: new Date() });
    this.held.splice(KEEP);
    if (this.reports.size > KEEP * 4) this.reports.delete(this.reports.keys().next().value!);
  }

  /** The demo CMS itself: the proxy's upstream. */
  readonly app = (() => {
    const app = new Hono();
    app.get('/', (c) => c.html(demoPage.home(this.uploads, this.held)));
    app.post('/upload', async (c) => {
      // Only sanitised files arrive here (Veil's proxy sits in front), so buffering is fine.
      const form = await c.req.formData();
      const received: DemoUpload[] = [];
      for (const value of form.getAll('photo')) {
        if (typeof value === 'string') continue;
        const known = this.reports.get(value.name);
        if (!known) return answer(c, notProcessed(new Uint8Array(await value.arrayBuffer())));
        received.push({
          uploadId: known.uploadId,
          filename: value.name,
          contentType: value.type,
          bytes: new Uint8Array(await value.arrayBuffer()),
          report: known.report,
          receivedAt: new Date(),
        });
      }
      if (received.length === 0) return answer(c, { status: 400, message: 'Choose a photo to upload.' });
      this.uploads.unshift(...received);
      this.uploads.splice(KEEP);
      const target = `/uploads/${encodeURIComponent(received[0]!.filename)}`;
      if ((c.req.header('accept') ?? '').includes('application/json')) return c.json({ ok: true, location: target });
      return c.redirect(target, 303);
    });
    app.get('/uploads/:name', (c) => {
      const upload = this.uploads.find((u) => u.filename === c.req.param('name'));
      return upload ? c.html(demoPage.result(upload)) : c.html(demoPage.notFound(), 404);
    });
    app.get('/media/:name', (c) => {
      const upload = this.uploads.find((u) => u.filename === c.req.param('name'));
      if (!upload) return c.text('Not found', 404);
      return c.body(upload.bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': upload.contentType, 'cache-control': 'no-store' });
    });
    app.notFound((c) => c.html(demoPage.notFound(), 404));
    return app;
  })();

  /** The demo's forwarder: the proxy "sends" requests to the in-process demo CMS. */
  readonly forwarder = (req: Request): Promise<Response> => Promise.resolve(this.app.fetch(req));

  /** True for uploads this demo site received (so only those originals are ever shown). */
  knows(uploadId: string): boolean {
    return this.uploads.some((u) => u.uploadId === uploadId);
  }

  describe(): string {
    return `the built-in demo site (${this.uploads.length} uploads)`;
  }
}
