import { AUDIT_TYPES, type AuditRecord, type AuditType } from '../../audit/records.js';
import { HISTORY_WORDS, type HistoryAction } from '../item.js';
import { html, timeHtml, type Html } from './html.js';
import { boxes, cmsName, errorWords, faces } from './words.js';
import { layout, type PageContext } from './layout.js';

export interface AuditFilters {
  since: string;
  until?: string | undefined;
  type?: AuditType | undefined;
}

const TYPE_WORDS: Record<AuditType, string> = {
  upload: 'Uploads',
  review: 'Review decisions',
  deletion: 'Deletions',
  login: 'Sign-ins',
};

export function auditPage(ctx: PageContext, records: AuditRecord[], filters: AuditFilters, options: { canExport: boolean; truncated: boolean }): Html {
  const { base } = ctx;
  const query = new URLSearchParams({ since: filters.since, ...(filters.until ? { until: filters.until } : {}), ...(filters.type ? { type: filters.type } : {}) });
  const body = html`<h1>Audit log</h1>
<form class="filters" method="get" action="${base}/audit" aria-label="Filter the audit log">
  <div><label for="a-since">From</label><input id="a-since" name="since" type="date" value="${filters.since}"></div>
  <div><label for="a-until">Up to (not including)</label><input id="a-until" name="until" type="date" value="${filters.until ?? ''}"></div>
  <div><label for="a-type">Events</label>
    <select id="a-type" name="type"><option value="">All events</option>
      ${AUDIT_TYPES.map((t) => html`<option value="${t}"${filters.type === t ? html` selected` : ''}>${TYPE_WORDS[t]}</option>`)}
    </select></div>
  <button type="submit">Show</button>
</form>
${options.canExport
  ? html`<p><a class="button" href="${base}/audit.csv?${query.toString()}" download>Download as CSV (for a governors' report)</a></p>`
  : html`<p class="hint">Only admins can export the audit log.</p>`}
${options.truncated ? html`<p role="status">Showing the first ${records.length} events; narrow the dates or download the CSV for all of them.</p>` : ''}
${records.length === 0
  ? html`<p>No events in this period.</p>`
  : html`<div class="table-wrap"><table>
  <caption class="visually-hidden">Audit events, oldest first</caption>
  <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Reference</th><th scope="col">Who</th><th scope="col">Details</th></tr></thead>
  <tbody>${records.map(row)}</tbody>
</table></div>`}`;
  return layout({ ...ctx, current: 'audit' }, 'Audit log', body);
}

const UPLOAD_WORDS = { sanitised: 'Photo cleaned and passed on', held: 'Photo held for review', refused: 'Upload refused' } as const;

function row(record: AuditRecord): Html {
  const cells = describe(record);
  return html`<tr><td>${timeHtml(record.at)}</td><td>${cells.event}</td><td class="mono">${cells.reference ?? ''}</td><td>${cells.who ?? ''}</td><td>${cells.details}</td></tr>`;
}

function describe(record: AuditRecord): { event: string; reference?: string | undefined; who?: string | undefined; details: string } {
  switch (record.type) {
    case 'upload':
      return {
        event: UPLOAD_WORDS[record.outcome],
        reference: record.uploadId,
        who: [record.user, record.clientIp].filter(Boolean).join(' from ') || undefined,
        details: [
          `${cmsName(record.cms)} (${record.path})`,
          `${faces(record.facesFound)} found, ${record.facesRedacted} hidden`,
          record.metadataRemoved.length > 0 ? `removed: ${record.metadataRemoved.join(', ')}` : 'no metadata',
          record.errorCode ? `why: ${errorWords(record.errorCode)}` : '',
          record.heldReasons?.join('; ') ?? '',
        ].filter(Boolean).join(' · '),
      };
    case 'review':
      return {
        event: `${HISTORY_WORDS[record.action as HistoryAction] ?? record.action}${record.undid ? ` (was: ${(HISTORY_WORDS[record.undid as HistoryAction] ?? record.undid).toLowerCase()})` : ''}`,
        reference: record.itemId,
        who: `${record.actor} (${record.role})`,
        details: [
          record.reason ? `reason: ${record.reason}` : '',
          record.boxes && record.action === 'edit-boxes'
            ? [record.boxes.added > 0 ? `added ${boxes(record.boxes.added)} (${record.boxes.addedSizes.join(', ')} px)` : '', record.boxes.removed > 0 ? `removed ${boxes(record.boxes.removed)} (${record.boxes.removedSizes.join(', ')} px)` : '', `${boxes(record.boxes.total)} now`].filter(Boolean).join(', ')
            : record.boxes
              ? `${boxes(record.boxes.total)} hidden`
              : '',
          record.redaction ? `redaction: ${record.redaction}` : '',
          record.delivery?.mediaId ? `published as media ${record.delivery.mediaId}` : '',
          record.delivery?.error ? `not published: ${record.delivery.error}` : '',
          record.bulkId ? 'one of several decided together' : '',
        ].filter(Boolean).join(' · '),
      };
    case 'deletion':
      return { event: `Deleted ${record.kind}`, reference: record.itemId, who: record.by, details: `${record.why}: ${record.key}` };
    case 'login':
      return { event: `Sign-in: ${record.outcome}`, who: record.user, details: record.clientIp ?? '' };
  }
}
