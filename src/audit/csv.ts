import type { AuditRecord } from './records.js';

/** One row per record, the same columns for every type, so a spreadsheet can filter and sort. */
const COLUMNS = [
  'time',
  'event',
  'reference',
  'outcome',
  'by',
  'role',
  'reason',
  'faces_found',
  'faces_redacted',
  'metadata_removed',
  'cms',
  'path',
  'client_ip',
  'sha256',
  'error_code',
  'deleted',
  'bulk_id',
  'cms_media',
  'record_id',
] as const;

type Column = (typeof COLUMNS)[number];

/**
 * The audit trail as CSV (RFC 4180, CRLF) for a governors' report. Every field is quoted when it
 * needs to be, and a field a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is
 * prefixed with `'`: reasons, user names and paths are typed by people and can be hostile.
 */
export function toCsv(records: Iterable<AuditRecord>): string {
  const lines = [COLUMNS.join(',')];
  for (const record of records) {
    const row = rowOf(record);
    lines.push(COLUMNS.map((column) => csvField(row[column])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function rowOf(record: AuditRecord): Partial<Record<Column, string | number | undefined>> {
  const common = { time: record.at, event: record.type, record_id: record.id };
  switch (record.type) {
    case 'upload':
      return {
        ...common,
        reference: record.uploadId,
        outcome: record.outcome,
        by: record.user,
        reason: record.heldReasons?.join('; '),
        faces_found: record.facesFound,
        faces_redacted: record.facesRedacted,
        metadata_removed: record.metadataRemoved.join(' '),
        cms: record.cms,
        path: `${record.method} ${record.path}`,
        client_ip: record.clientIp,
        sha256: record.sha256,
        error_code: record.errorCode,
      };
    case 'review':
      return {
        ...common,
        reference: record.itemId,
        outcome: [record.undid ? `${record.action} ${record.undid}` : record.action, boxesSummary(record)].filter(Boolean).join(': '),
        faces_redacted: record.action === 'approve-redacted' ? record.boxes?.total : undefined,
        by: record.actor,
        role: record.role,
        reason: record.reason,
        bulk_id: record.bulkId,
        cms_media: record.delivery?.mediaId
          ? `${record.delivery.mediaId} ${record.delivery.url ?? ''}`.trim()
          : record.delivery?.error
            ? `not published: ${record.delivery.error}`
            : undefined,
      };
    case 'deletion':
      return { ...common, reference: record.itemId, outcome: `deleted (${record.why})`, by: record.by, deleted: `${record.kind} ${record.key}` };
    case 'login':
      return { ...common, outcome: record.outcome, by: record.user, client_ip: record.clientIp };
  }
}

/** "added 1 (60×80), removed 1 (40×52), 3 boxes, pixelate": counts and sizes only. */
function boxesSummary(record: Extract<AuditRecord, { type: 'review' }>): string | undefined {
  const b = record.boxes;
  if (!b) return record.redaction;
  const parts = [];
  if (b.added > 0) parts.push(`added ${b.added} (${b.addedSizes.join(' ')})`);
  if (b.removed > 0) parts.push(`removed ${b.removed} (${b.removedSizes.join(' ')})`);
  parts.push(`${b.total} boxes`);
  if (record.redaction) parts.push(record.redaction);
  return parts.join(', ');
}

export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}
