import type { FaceAction } from '../../pipeline/policy.js';
import { REASON_WORDS, type ReviewItem } from '../item.js';
import { formatBytes, formatTime, html, safeHttpUrl, type Html } from './html.js';
import { layout, type PageContext } from './layout.js';
import { facesSummary, previewAlt, statusBadge } from './queue.js';

const FACE_WORDS: Record<FaceAction, string> = {
  held: 'Identifiable: held for your decision',
  uncertain: 'Possibly a face (the detector was unsure)',
  redacted: 'Would be blurred',
  allowed: 'Allowed',
  'too-small': 'Too small to identify once published',
};

export interface DetailOptions {
  now: Date;
  publishes: boolean;
  publisherName: string;
}

export function detailPage(ctx: PageContext, item: ReviewItem, options: DetailOptions, messages: { flash?: Html | string; error?: string } = {}): Html {
  const { base } = ctx;
  const id = encodeURIComponent(item.id);
  const report = item.report;
  const body = html`<h1>Held photo ${item.id}</h1>
<p>${statusBadge(item.status)}</p>
<div class="detail">
  <section class="preview" aria-labelledby="h-preview">
    <h2 id="h-preview">Preview</h2>
    ${item.previewDeletedAt
      ? html`<p>The preview was deleted ${formatTime(item.previewDeletedAt)}.</p>`
      : html`<img src="${base}/review/${id}/preview.jpg" alt="${previewAlt(item)}">
    <p class="hint">Metadata already removed; at most 1024 pixels. Each box is numbered as in the list of faces.</p>`}
    <h2 id="h-faces">Faces (${facesSummary(item)})</h2>
    ${item.faces.length === 0
      ? html`<p>No faces were found.</p>`
      : html`<div class="table-wrap"><table aria-labelledby="h-faces">
      <thead><tr><th scope="col">Box</th><th scope="col">Height when published</th><th scope="col">Detector confidence</th><th scope="col">What Veil would do</th></tr></thead>
      <tbody>${item.faces.map((face, i) => html`<tr><td>${i + 1}</td><td>${face.heightPx} px</td><td>${Math.round(face.score * 100)}%</td><td>${FACE_WORDS[face.action]}</td></tr>`)}</tbody>
    </table></div>`}
  </section>
  <section aria-labelledby="h-decide">
    <h2 id="h-decide">Decision</h2>
    ${decisionPanel(ctx, item, options)}
    <h2>Why it was held</h2>
    <ul class="reasons">${item.reasons.map((r) => html`<li>${r}</li>`)}</ul>
    <p class="hint">${item.reasonKinds.map((k) => REASON_WORDS[k]).join(' · ')}</p>
    <h2>Uploaded</h2>
    <dl class="facts">
      <dt>When</dt><dd>${formatTime(item.uploader.receivedAt)}</dd>
      <dt>By</dt><dd>${item.uploader.user ?? 'not known (the CMS request did not say)'}</dd>
      <dt>From address</dt><dd>${item.uploader.clientIp ?? 'not known'}</dd>
      <dt>Site</dt><dd>${item.uploader.cms}: ${item.uploader.method} ${item.uploader.path}</dd>
      <dt>File name</dt><dd>${item.upload.originalName ?? 'none given'} <span class="hint">(never published)</span></dd>
      <dt>File</dt><dd>${report.input.format.toUpperCase()}, ${report.input.width} × ${report.input.height} pixels, ${formatBytes(item.upload.bytes)}</dd>
      <dt>SHA-256</dt><dd class="mono">${item.upload.sha256}</dd>
      ${item.status === 'pending' ? html`<dt>Waits until</dt><dd>${formatTime(item.expiresAt)}, then it is rejected automatically</dd>` : ''}
    </dl>
    <h2>What Veil removes in every case</h2>
    ${report.removed.length === 0
      ? html`<p>The file carried no metadata.</p>`
      : html`<ul>${report.removed.map((f) => html`<li>${f.label}</li>`)}</ul>`}
    ${report.changes.length > 0 ? html`<ul>${report.changes.map((c) => html`<li>${c}</li>`)}</ul>` : ''}
  </section>
</div>
<h2 id="h-history">History</h2>
${item.history.length === 0
  ? html`<p>No decisions yet.</p>`
  : html`<div class="table-wrap"><table aria-labelledby="h-history">
  <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Reason</th><th scope="col">Notes</th></tr></thead>
  <tbody>${item.history.map((h) => html`<tr><td>${formatTime(h.at)}</td><td>${h.action}</td><td>${h.actor} (${h.role})</td><td>${h.reason ?? ''}</td><td>${h.note ?? ''}${h.bulkId ? html` <span class="hint">(bulk ${h.bulkId})</span>` : ''}</td></tr>`)}</tbody>
</table></div>`}
<p><a href="${base}/review">Back to the review queue</a></p>`;
  return layout({ ...ctx, current: 'review' }, `Photo ${item.id}`, body, { flash: messages.flash, error: messages.error });
}

function decisionPanel(ctx: PageContext, item: ReviewItem, options: DetailOptions): Html {
  const { base } = ctx;
  const id = encodeURIComponent(item.id);
  const action = `${base}/review/${id}/decide`;
  const csrf = html`<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">`;
  if (item.status === 'pending') {
    return html`<form method="post" action="${action}">
  ${csrf}
  <label for="reason">Reason <span class="hint">(optional, recorded in the audit log)</span></label>
  <textarea id="reason" name="reason" maxlength="500"></textarea>
  <p class="hint">${options.publishes ? `An approved photo is published to ${options.publisherName}.` : 'An approved photo can be downloaded here; Veil does not publish it to the CMS itself.'} Metadata is removed and the photo downscaled whatever you choose.</p>
  <div class="actions">
    <button class="approve" name="action" value="approve-redacted">Approve, blur faces</button>
    <button name="action" value="approve">Approve as it is (faces visible)</button>
    <button class="reject" name="action" value="reject">Reject and delete</button>
  </div>
</form>`;
  }
  const decision = item.decision;
  const canUndo = decision?.undoUntil && new Date(decision.undoUntil) > options.now && decision.action !== 'expire' && !item.originalDeletedAt;
  const mediaUrl = safeHttpUrl(item.delivery?.url);
  return html`<dl class="facts">
  <dt>Decided</dt><dd>${decision ? html`${formatTime(decision.at)} by ${decision.actor} (${decision.role})` : ''}</dd>
  ${decision?.reason ? html`<dt>Reason</dt><dd>${decision.reason}</dd>` : ''}
  ${item.approved ? html`<dt>Approved file</dt><dd><a href="${base}/review/${id}/approved">Download ${item.approved.filename}</a> (${formatBytes(item.approved.bytes)}, ${item.approved.facesRedacted} faces blurred)</dd>` : ''}
  ${item.delivery?.mediaId ? html`<dt>Published</dt><dd>Media ${item.delivery.mediaId}${mediaUrl ? html` at <a href="${mediaUrl}">${mediaUrl}</a>` : ''}</dd>` : ''}
  ${item.delivery?.error ? html`<dt>Publishing failed</dt><dd>${item.delivery.error}</dd>` : ''}
  ${item.purgeAt ? html`<dt>Original deleted at</dt><dd>${formatTime(item.purgeAt)} (unless undone)</dd>` : ''}
  ${item.originalDeletedAt ? html`<dt>Original deleted</dt><dd>${formatTime(item.originalDeletedAt)}</dd>` : ''}
</dl>
<form method="post" action="${action}">
  ${csrf}
  <div class="actions">
    ${canUndo ? html`<button name="action" value="undo">Undo this decision</button>` : ''}
    ${item.status === 'rejected' && !item.originalDeletedAt ? html`<button class="reject" name="action" value="delete-now">Delete the original now</button>` : ''}
    ${item.approved && item.delivery?.error ? html`<button class="primary" name="action" value="publish">Try publishing again</button>` : ''}
  </div>
  ${canUndo ? html`<p class="hint">Undo is possible until ${formatTime(decision!.undoUntil)}.</p>` : ''}
</form>`;
}
