import { REASON_KINDS, REASON_WORDS, REVIEW_STATUSES, STATUS_WORDS, type ReasonKind, type ReviewItem, type ReviewStatus } from '../item.js';
import { html, plural, timeHtml, type Html } from './html.js';
import { cmsName, itemTitle } from './words.js';
import { layout, type PageContext } from './layout.js';

export interface QueueFilters {
  status: ReviewStatus | 'all';
  reason?: ReasonKind | undefined;
  cms?: string | undefined;
  since?: string | undefined;
}

export function statusBadge(status: ReviewStatus): Html {
  // Shapes as well as colours and words; characters every system font has.
  const mark = status === 'pending' ? '○' : status.startsWith('approved') ? '✓' : '✗';
  return html`<span class="status status-${status}"><span aria-hidden="true">${mark}</span> ${STATUS_WORDS[status]}</span>`;
}

export function facesSummary(item: ReviewItem): string {
  if (item.report.faces === null) return 'Faces not checked';
  const held = item.faces.filter((f) => f.action === 'held').length;
  const unsure = item.faces.filter((f) => f.action === 'uncertain').length;
  const parts = [];
  if (held > 0) parts.push(plural(held, 'identifiable face'));
  if (unsure > 0) parts.push(plural(unsure, 'possible face'));
  const small = item.faces.length - held - unsure;
  if (small > 0) parts.push(`${small} too small to identify`);
  return parts.length > 0 ? parts.join(', ') : 'No faces found';
}

export function previewAlt(item: ReviewItem): string {
  return `${itemTitle(item)}: ${facesSummary(item)}${item.faces.length > 0 ? ', each boxed and numbered' : ''}`;
}

export function queuePage(ctx: PageContext, items: ReviewItem[], filters: QueueFilters, cmsNames: string[], flash?: Html | string): Html {
  const { base } = ctx;
  const pending = filters.status === 'pending';
  const heading = pending ? `Review queue: ${plural(items.length, 'photo')} waiting` : `Held photos: ${plural(items.length, 'photo')}`;
  const body = html`<h1>${heading}</h1>
<form class="filters" method="get" action="${base}/review" aria-label="Filter the queue">
  <div><label for="f-status">Status</label>
    <select id="f-status" name="status">
      ${[...REVIEW_STATUSES, 'all' as const].map((s) => html`<option value="${s}"${filters.status === s ? html` selected` : ''}>${s === 'all' ? 'Any status' : STATUS_WORDS[s]}</option>`)}
    </select></div>
  <div><label for="f-reason">Held because</label>
    <select id="f-reason" name="reason">
      <option value="">Any reason</option>
      ${REASON_KINDS.map((r) => html`<option value="${r}"${filters.reason === r ? html` selected` : ''}>${REASON_WORDS[r]}</option>`)}
    </select></div>
  <div><label for="f-cms">Site</label>
    <select id="f-cms" name="cms">
      <option value="">Any site</option>
      ${cmsNames.map((name) => html`<option value="${name}"${filters.cms === name ? html` selected` : ''}>${name}</option>`)}
    </select></div>
  <div><label for="f-since">Uploaded since</label>
    <input id="f-since" name="since" type="date" value="${filters.since ?? ''}"></div>
  <button type="submit">Apply filters</button>
</form>
${items.length === 0
  ? html`<p>${pending ? 'Nothing is waiting for a decision.' : 'No held photos match these filters.'}</p>`
  : html`<form method="post" action="${base}/review/bulk" aria-label="Decide on photos">
  <input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">
  ${pending ? html`<p data-select-all hidden><label class="select"><input type="checkbox"> Select all ${items.length} photos</label></p>` : ''}
  <ul class="queue">
    ${items.map((item) => card(base, item, pending))}
  </ul>
  ${pending ? bulkBar() : ''}
</form>`}`;
  return layout({ ...ctx, current: 'review' }, 'Review queue', body, { flash });
}

function card(base: string, item: ReviewItem, selectable: boolean): Html {
  const id = encodeURIComponent(item.id);
  const who = item.uploader.user ? `by ${item.uploader.user}` : 'uploader not recorded';
  const title = itemTitle(item);
  return html`<li class="card" id="item-${item.id}">
  <h2><a href="${base}/review/${id}">${title}</a></h2>
  ${item.previewDeletedAt
    ? html`<p class="hint">Preview deleted ${timeHtml(item.previewDeletedAt)}.</p>`
    : html`<img src="${base}/review/${id}/preview.jpg" alt="${previewAlt(item)}" width="320" loading="lazy">`}
  <p>${statusBadge(item.status)}</p>
  <p><strong>${facesSummary(item)}</strong></p>
  <ul class="reasons">${item.reasons.map((r) => html`<li>${r}</li>`)}</ul>
  <p class="hint">${who} · ${cmsName(item.uploader.cms)} (${item.uploader.path}) · reference ${item.id}${item.status === 'pending' ? html`<br>Expires ${timeHtml(item.expiresAt)}` : ''}</p>
  ${selectable
    ? html`<label class="select"><input type="checkbox" name="ids" value="${item.id}"> Select this photo<span class="visually-hidden"> (${item.id})</span></label>
  <div class="actions">
    <button class="approve" name="action" value="approve-redacted" formaction="${base}/review/${id}/decide">Approve with faces hidden<span class="visually-hidden"> for photo ${item.id}</span></button>
    <a class="button" href="${base}/review/${id}">Open and check<span class="visually-hidden"> photo ${item.id}</span></a>
  </div>`
    : ''}
</li>`;
}

function bulkBar(): Html {
  return html`<div class="bulk">
  <div class="reason"><label for="bulk-reason">Reason <span class="hint">(optional, recorded in the audit log)</span></label>
    <input id="bulk-reason" name="reason" maxlength="500"></div>
  <div class="actions">
    <button class="approve" name="action" value="approve-redacted">Approve selected with faces hidden</button>
    <button name="action" value="approve">Approve selected as they are</button>
    <button class="reject" name="action" value="reject">Reject selected</button>
  </div>
</div>`;
}
