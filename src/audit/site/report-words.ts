import { REASON_WORDS, type AuditedImage, type AuditSummary } from './types.js';

/** "412 images on 96 pages: 57 with GPS, 130 with identifiable faces, 18 larger than 1600 px, 9 named like a pupil". */
export function summaryLine(s: AuditSummary): string {
  const where = s.kind === 'site' ? ` on ${s.pages} ${s.pages === 1 ? 'page' : 'pages'}` : ` in ${s.target}`;
  const parts = [
    `${s.gps} with GPS`,
    `${s.faces} with identifiable faces`,
    `${s.large} larger than ${s.maxEdge} px`,
    `${s.personNames} named like a pupil`,
  ];
  if (s.unchecked > 0) parts.push(`${s.unchecked} could not be checked`);
  const head = `${s.images} ${s.images === 1 ? 'image' : 'images'}${where}: ${parts.join(', ')}.`;
  const fixed = s.fixed > 0 ? ` ${s.fixed} fixed in place.` : '';
  return `${head}${fixed} ${s.needsAction === 0 ? 'Nothing needs action.' : `${s.needsAction} need${s.needsAction === 1 ? 's' : ''} action.`}`;
}

export function reasonText(row: AuditedImage): string {
  return row.reasons.map((r) => REASON_WORDS[r]).join('; ');
}

export function fixText(row: AuditedImage): string {
  if (!row.fix) return '';
  if (row.fix.status === 'not-fixed') return `not fixed: ${row.fix.why}`;
  return `${row.fix.status === 'fixed' ? 'fixed' : 'would fix'}: ${row.fix.changes.join(' ')}`;
}

export function metadataText(row: AuditedImage): string {
  const m = row.metadata;
  if (!m) return '';
  const parts: string[] = [];
  if (m.people) parts.push(`people: ${m.people}`);
  if (m.author) parts.push(`names: ${m.author}`);
  if (m.place) parts.push(`place: ${m.place}`);
  if (m.serialNumber) parts.push('serial number');
  if (m.other.length > 0) parts.push(`also: ${m.other.join('; ')}`);
  return parts.join(' · ');
}

export function ageDays(row: AuditedImage, now: Date): number | null {
  const t = Date.parse(row.modified ?? '');
  return Number.isFinite(t) ? Math.max(0, Math.floor((now.getTime() - t) / 86_400_000)) : null;
}
