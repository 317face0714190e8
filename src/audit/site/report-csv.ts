import { ageDays, fixText, metadataText, reasonText } from './report-words.js';
import type { AuditResult } from './types.js';

const COLUMNS = ['needs_action', 'reasons', 'location', 'pages', 'copy_of', 'width', 'height', 'format', 'bytes', 'gps_coarse', 'date_taken', 'camera', 'identifiable_faces', 'faces_found', 'name_looks_like_person', 'modified', 'age_days', 'metadata', 'fix', 'error'] as const;

/** One row per picture, for governors' spreadsheets. Coordinates are coarse, as in the HTML. */
export function auditCsv(result: AuditResult, now = new Date()): string {
  const rows = result.images.map((i) => [
    i.reasons.length > 0 ? 'yes' : 'no',
    reasonText(i),
    i.location,
    i.pages.join(' '),
    i.sizeOf ?? '',
    i.width ?? '',
    i.height ?? '',
    i.format ?? '',
    i.bytes,
    i.metadata?.gps ?? '',
    i.metadata?.taken ?? '',
    i.metadata?.camera ?? '',
    i.faces?.identifiable ?? '',
    i.faces?.found ?? '',
    i.personName ?? '',
    i.modified ?? '',
    ageDays(i, now) ?? '',
    metadataText(i),
    fixText(i),
    i.error ? `${i.error.code}: ${i.error.message}` : '',
  ]);
  return [COLUMNS as readonly unknown[], ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** RFC 4180 quoting, and a leading quote for =, +, -, @ so a spreadsheet never runs a formula from a file name. */
function cell(value: unknown): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
