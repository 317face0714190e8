import { randomBytes } from 'node:crypto';
import { VeilError } from '../pipeline/errors.js';
import { KEY_PREFIXES, type ObjectStore } from '../storage/object-store.js';
import { AUDIT_TYPES, type AuditRecord, type AuditType, type NewAuditRecord } from './records.js';

export * from './records.js';
export { toCsv } from './csv.js';

export interface AuditQuery {
  /** Inclusive. */
  since?: Date | undefined;
  /** Exclusive. Default: no upper bound. */
  until?: Date | undefined;
  types?: readonly AuditType[] | undefined;
}

/** Longest text kept in any field: a reason is a sentence or two, not a document. */
const MAX_FIELD_CHARS = 2000;
/** Records fetched at once while reading the log (S3 answers each GET separately). */
const READ_AHEAD = 16;
/** Above this many days, a query lists whole months rather than one prefix per day. */
const MAX_DAY_PREFIXES = 92;

/**
 * The append-only audit trail, one object per record under
 * `audit/YYYY/MM/DD/<time>-<sequence>-<random>.json`. S3 cannot append to an object, and
 * rewriting one shared file would lose records when two processes write at once; one object per
 * record never rewrites anything, and key order is time order.
 */
export class AuditLog {
  private sequence = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Writes one record and returns it as stored. Throws STORAGE_UNAVAILABLE if the store is down. */
  async append(record: NewAuditRecord): Promise<AuditRecord> {
    if (!AUDIT_TYPES.includes(record.type)) throw new VeilError('BAD_REQUEST', `Unknown audit record type ${JSON.stringify(record.type)}`);
    const at = record.at === undefined ? this.clock() : new Date(record.at);
    if (Number.isNaN(at.getTime())) throw new VeilError('BAD_REQUEST', `Audit record time ${JSON.stringify(record.at)} is not a date`);
    const key = this.nextKey(at);
    const stored = bounded({ ...record, id: idOfKey(key), at: at.toISOString() }) as AuditRecord;
    await this.store.put(key, Buffer.from(JSON.stringify(stored)), { contentType: 'application/json' });
    return stored;
  }

  /** Records in time order, reading only the days the range covers. */
  async *query(query: AuditQuery = {}): AsyncGenerator<AuditRecord> {
    const { since, until, types } = query;
    if (since && until && since >= until) return;
    for (const prefix of prefixesFor(since, until ?? this.clock())) {
      const keys: string[] = [];
      for await (const info of this.store.list(prefix)) {
        if (RECORD_KEY.test(info.key) && inRange(timeOfKey(info.key), since, until)) keys.push(info.key);
      }
      // Keys are in time order; fetch a few ahead but yield in order.
      for (let start = 0; start < keys.length; start += READ_AHEAD) {
        const batch = await Promise.all(keys.slice(start, start + READ_AHEAD).map((key) => this.read(key)));
        for (const record of batch) {
          if (record && (!types || types.includes(record.type))) yield record;
        }
      }
    }
  }

  /** Every record of a query in an array (the admin pages and exports are bounded by a date range). */
  async collect(query: AuditQuery = {}, limit = Infinity): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    for await (const record of this.query(query)) {
      records.push(record);
      if (records.length >= limit) break;
    }
    return records;
  }

  private async read(key: string): Promise<AuditRecord | null> {
    const object = await this.store.get(key);
    if (!object) return null; // removed by hand between list and get
    try {
      const record = JSON.parse(Buffer.from(object.bytes).toString('utf8')) as AuditRecord;
      return record && typeof record === 'object' && AUDIT_TYPES.includes(record.type) ? record : null;
    } catch {
      return null; // not ours (written by hand or damaged): skip rather than end the report
    }
  }

  /**
   * Time, then a per-process sequence that only ever grows, so records written in the same
   * millisecond keep their order even when records for other times were written in between.
   */
  private nextKey(at: Date): string {
    this.sequence += 1;
    const iso = at.toISOString(); // 2026-11-26T10:45:12.345Z
    const day = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
    const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
    const sequence = String(this.sequence % 100_000_000).padStart(8, '0');
    return `${KEY_PREFIXES.audit}${day}/${stamp}-${sequence}-${randomBytes(4).toString('hex')}.json`;
  }
}

const RECORD_KEY = /^audit\/\d{4}\/\d{2}\/\d{2}\/(\d{8}T\d{9}Z)-\d{4,8}-[0-9a-f]{8}\.json$/;

function idOfKey(key: string): string {
  return key.slice(KEY_PREFIXES.audit.length, -'.json'.length).replace(/\//g, '-');
}

function timeOfKey(key: string): number {
  const stamp = RECORD_KEY.exec(key)![1]!;
  return Date.UTC(
    Number(stamp.slice(0, 4)),
    Number(stamp.slice(4, 6)) - 1,
    Number(stamp.slice(6, 8)),
    Number(stamp.slice(9, 11)),
    Number(stamp.slice(11, 13)),
    Number(stamp.slice(13, 15)),
    Number(stamp.slice(15, 18)),
  );
}

function inRange(ms: number, since: Date | undefined, until: Date | undefined): boolean {
  return (!since || ms >= since.getTime()) && (!until || ms < until.getTime());
}

/** The store prefixes to list for a range: one per day, or per month for long ranges. */
export function prefixesFor(since: Date | undefined, until: Date): string[] {
  if (!since) return [KEY_PREFIXES.audit];
  const prefixes: string[] = [];
  const days = Math.ceil((until.getTime() - since.getTime()) / 86_400_000) + 1;
  const byMonth = days > MAX_DAY_PREFIXES;
  const cursor = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), byMonth ? 1 : since.getUTCDate()));
  while (cursor.getTime() <= until.getTime()) {
    const y = String(cursor.getUTCFullYear()).padStart(4, '0');
    const m = String(cursor.getUTCMonth() + 1).padStart(2, '0');
    const d = String(cursor.getUTCDate()).padStart(2, '0');
    prefixes.push(byMonth ? `${KEY_PREFIXES.audit}${y}/${m}/` : `${KEY_PREFIXES.audit}${y}/${m}/${d}/`);
    if (byMonth) cursor.setUTCMonth(cursor.getUTCMonth() + 1);
    else cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return prefixes;
}

/** Caps every string so one hostile field cannot make a record (or a report) huge. */
function bounded(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_FIELD_CHARS ? `${value.slice(0, MAX_FIELD_CHARS)}…` : value;
  if (Array.isArray(value)) return value.map(bounded);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, bounded(v)]));
  }
  return value;
}
