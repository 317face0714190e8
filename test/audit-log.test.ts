import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, toCsv, uploadAuditRecord, type AuditRecord } from '../src/audit/audit-log.js';
import { sanitiseImage } from '../src/pipeline/sanitise.js';
import { uploadKeys, type UploadJobData } from '../src/queue/jobs.js';
import { LocalObjectStore, S3ObjectStore, type ObjectInfo, type ObjectStore } from '../src/storage/index.js';
import { SAMPLE1 } from './helpers/review-fixtures.js';
import { startS3Server, type S3TestServer } from './helpers/s3rver.js';

/** A real folder store that also notes which prefixes were listed (a spy, not a stand-in). */
class ListingSpy extends LocalObjectStore {
  listed: string[] = [];
  override list(prefix: string): AsyncIterable<ObjectInfo> {
    this.listed.push(prefix);
    return super.list(prefix);
  }
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'veil-audit-'));
  return () => rm(root, { recursive: true, force: true });
});

const review = (itemId: string, at: string, reason?: string) =>
  ({ type: 'review', at, action: 'approve', itemId, actor: 'dsl', role: 'admin', reason }) as const;

describe('audit log', () => {
  it('returns records in time order across days, whatever order they were written in', async () => {
    const log = new AuditLog(new LocalObjectStore(root));
    await log.append(review('20261103-090000-00000003', '2026-11-03T09:00:00.000Z'));
    await log.append(review('20261101-235959-00000001', '2026-11-01T23:59:59.999Z'));
    await log.append(review('20261102-000000-00000002', '2026-11-02T00:00:00.000Z'));
    // Same millisecond: the order of writing is kept.
    for (const n of [4, 5, 6]) await log.append(review(`20261103-090000-0000000${n}`, '2026-11-03T09:00:00.000Z'));

    const ids = (await log.collect()).map((r) => (r.type === 'review' ? r.itemId.slice(-1) : ''));
    expect(ids).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('lists only the day prefixes a query needs and honours since, until and types', async () => {
    const store = new ListingSpy(root);
    const log = new AuditLog(store);
    for (const day of ['01', '02', '03', '04', '05']) {
      await log.append(review(`202611${day}-120000-000000${day}`, `2026-11-${day}T12:00:00.000Z`));
      await log.append({ type: 'login', at: `2026-11-${day}T12:30:00.000Z`, outcome: 'success', user: 'dsl' });
    }
    store.listed = [];
    const records = await log.collect({ since: new Date('2026-11-02T12:00:00Z'), until: new Date('2026-11-04T12:00:00Z'), types: ['review'] });

    expect(records.map((r) => r.at)).toEqual(['2026-11-02T12:00:00.000Z', '2026-11-03T12:00:00.000Z']);
    expect(store.listed).toEqual(['audit/2026/11/02/', 'audit/2026/11/03/', 'audit/2026/11/04/']);
  });

  it('never rewrites a record, and two writers at once lose nothing', async () => {
    const store = new LocalObjectStore(root);
    const first = new AuditLog(store);
    const second = new AuditLog(store); // another process on the same store
    const early = await first.append({ type: 'login', outcome: 'failure', user: 'x' });
    const before = await snapshot(store);

    const at = new Date().toISOString();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? first : second).append({ type: 'login', at, outcome: 'success', user: `user${i}` })),
    );
    const after = await snapshot(store);
    for (const [key, hash] of before) expect(after.get(key)).toBe(hash);
    expect(after.size).toBe(41);
    const users = (await first.collect()).map((r) => (r.type === 'login' ? r.user : ''));
    expect(new Set(users).size).toBe(41);
    expect(users[0]).toBe('x');
    expect(early.id).toMatch(/^\d{4}-\d{2}-\d{2}-\d{8}T\d{9}Z-\d{8}-[0-9a-f]{8}$/);
  });

  it('records the kinds of metadata an upload carried, never the values (real pipeline on a GPS photo)', async () => {
    const store = new LocalObjectStore(root);
    const log = new AuditLog(store);
    const bytes = await readFile(SAMPLE1);
    const outcome = await sanitiseImage(bytes, { faces: null, originalName: 'Amy Smith year 3.jpg' });
    expect(outcome.outcome).toBe('sanitised');
    if (outcome.outcome !== 'sanitised') return;
    const details = outcome.report.removed.map((f) => f.detail).filter((d): d is string => Boolean(d && d.length >= 4));
    expect(outcome.report.removed.map((f) => f.kind)).toContain('gps');
    expect(details.length).toBeGreaterThan(0);

    const uploadId = '20261126-104512-3f9a2c1b';
    const job: UploadJobData = {
      uploadId,
      originalKey: uploadKeys(uploadId).original,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
      originalName: 'Amy Smith year 3.jpg',
      origin: { cms: 'wordpress', method: 'POST', path: '/wp-admin/async-upload.php', clientIp: '192.0.2.7', user: 'teacher1', receivedAt: new Date().toISOString() },
    };
    await log.append(
      uploadAuditRecord(job, {
        outcome: 'sanitised',
        uploadId,
        sanitisedKey: 'sanitised/x/y.jpg',
        filename: outcome.filename,
        contentType: outcome.contentType,
        bytes: outcome.bytes.length,
        report: outcome.report,
      }),
    );

    const [record] = await log.collect();
    expect(record).toMatchObject({ type: 'upload', outcome: 'sanitised', uploadId, user: 'teacher1', clientIp: '192.0.2.7' });
    expect(record?.type === 'upload' && record.metadataRemoved).toContain('gps');
    const raw = await rawRecords(store);
    for (const detail of details) expect(raw).not.toContain(detail);
    expect(raw).not.toContain('Amy Smith');
  });

  it('survives a restart of Veil: a new log on the same folder and on the same S3 bucket reads every record', async () => {
    await new AuditLog(new LocalObjectStore(root)).append({ type: 'login', outcome: 'success', user: 'dsl' });
    expect((await new AuditLog(new LocalObjectStore(root)).collect()).map((r) => r.type)).toEqual(['login']);
  });
});

describe('audit log on S3', () => {
  let s3: S3TestServer;
  const stores: S3ObjectStore[] = [];
  const s3Store = () => {
    const store = new S3ObjectStore({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, pageSize: 2 });
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    stores.forEach((s) => s.destroy());
    await s3?.stop();
  });

  it('keeps records in time order across pages and across a restart', async () => {
    const writer = new AuditLog(s3Store());
    for (let i = 0; i < 5; i++) await writer.append(review(`20261126-10000${i}-0000000${i}`, `2026-11-26T10:00:0${i}.000Z`, `reason ${i}`));
    const reader = new AuditLog(s3Store()); // a fresh process
    const records = await reader.collect({ since: new Date('2026-11-26T00:00:00Z'), until: new Date('2026-11-27T00:00:00Z') });
    expect(records.map((r) => (r.type === 'review' ? r.reason : ''))).toEqual(['reason 0', 'reason 1', 'reason 2', 'reason 3', 'reason 4']);
  });
});

describe('CSV export', () => {
  it('escapes hostile reasons, names and paths so a spreadsheet reads each as one plain cell', () => {
    const hostile: AuditRecord[] = [
      { id: 'a', at: '2026-11-26T10:00:00.000Z', type: 'review', action: 'reject', itemId: '20261126-100000-aaaaaaaa', actor: '@evil', role: 'admin', reason: 'Said "no", twice,\r\nthen =HYPERLINK("http://evil","click")' },
      { id: 'b', at: '2026-11-26T10:01:00.000Z', type: 'login', outcome: 'failure', user: '=cmd|\' /C calc\'!A0', clientIp: '198.51.100.4' },
      {
        id: 'c',
        at: '2026-11-26T10:02:00.000Z',
        type: 'upload',
        uploadId: '20261126-100200-bbbbbbbb',
        outcome: 'held',
        facesFound: 3,
        facesRedacted: 0,
        metadataRemoved: ['gps', 'people'],
        heldReasons: ['3 identifiable faces'],
        cms: 'wordpress',
        method: 'POST',
        path: '-2+3 /wp-admin/async-upload.php?x="y"',
        user: '+teacher',
        sha256: 'ab'.repeat(32),
        bytes: 10,
      },
    ];
    const csv = toCsv(hostile);
    const rows = parseCsv(csv);
    expect(rows).toHaveLength(4);
    const header = rows[0]!;
    const cell = (row: number, column: string) => rows[row]![header.indexOf(column)];
    expect(cell(1, 'reason')).toBe('Said "no", twice,\r\nthen =HYPERLINK("http://evil","click")');
    expect(cell(1, 'by')).toBe("'@evil");
    expect(cell(2, 'by')).toBe("'=cmd|' /C calc'!A0");
    expect(cell(3, 'by')).toBe("'+teacher");
    expect(cell(3, 'metadata_removed')).toBe('gps people');
    expect(cell(3, 'faces_found')).toBe('3');
    // Every cell that a spreadsheet would evaluate starts with a quote mark.
    for (const row of rows.slice(1)) for (const value of row) expect(value).not.toMatch(/^[=+\-@]/);
  });
});

async function snapshot(store: ObjectStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const info of store.list('audit/')) {
    const object = await store.get(info.key);
    out.set(info.key, createHash('sha256').update(object!.bytes).digest('hex'));
  }
  return out;
}

async function rawRecords(store: ObjectStore): Promise<string> {
  let text = '';
  for await (const info of store.list('audit/')) text += Buffer.from((await store.get(info.key))!.bytes).toString('utf8');
  return text;
}

/** RFC 4180, written here so the check does not rely on the code under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  return rows;
}
