import type { FaceAction } from '../../pipeline/policy.js';
import { REDACTION_MODES, type Box } from '../../pipeline/reviewer-boxes.js';
import type { RedactionMode } from '../../pipeline/types.js';
import { MIN_BOX_PX, currentBoxes, currentRedaction, detectorBoxes, diffBoxes, originalSize } from '../boxes.js';
import { HISTORY_WORDS, REASON_WORDS, REDACTION_WORDS, type ReviewItem } from '../item.js';
import { formatBytes, html, safeHttpUrl, timeHtml, type Html } from './html.js';
import { layout, type PageContext } from './layout.js';
import { facesSummary, previewAlt, statusBadge } from './queue.js';
import { boxes, cmsName, faces, itemTitle, uploaderWords } from './words.js';

const FACE_WORDS: Record<FaceAction, string> = {
  held: 'Identifiable: held for your decision',
  uncertain: 'Possibly a face (the detector was unsure)',
  redacted: 'Would be blurred',
  allowed: 'Allowed',
  'too-small': 'Too small to identify once published',
};

const MODE_LABELS: Record<RedactionMode, string> = {
  blur: 'Blur (soft, still looks like a photo)',
  pixelate: 'Pixelate (large squares)',
  solid: 'Solid grey (covers the face completely)',
};

const ROLE_WORDS = { admin: 'admin', reviewer: 'reviewer', system: 'Veil' } as const;

export interface DetailOptions {
  now: Date;
  publishes: boolean;
  publisherName: string;
}

export interface DetailMessages {
  flash?: Html | string | undefined;
  error?: string | undefined;
  /** What was typed into the box form, shown again when it was refused. */
  typed?: Partial<Record<'x' | 'y' | 'w' | 'h', string>> | undefined;
}

export function detailPage(ctx: PageContext, item: ReviewItem, options: DetailOptions, messages: DetailMessages = {}): Html {
  const { base } = ctx;
  const title = itemTitle(item);
  const body = html`<h1>${title}</h1>
<p>${statusBadge(item.status)} <span class="hint">Reference ${item.id}</span></p>
${previewSection(ctx, item, messages)}
<div class="detail">
  <section aria-labelledby="h-decide">
    <h2 id="h-decide">Decision</h2>
    ${decisionPanel(ctx, item, options)}
    <h2>Why it was held</h2>
    <ul class="reasons">${item.reasons.map((r) => html`<li>${r}</li>`)}</ul>
    <p class="hint">${item.reasonKinds.map((k) => REASON_WORDS[k]).join(' · ')}</p>
  </section>
  <section aria-labelledby="h-uploaded">
    <h2 id="h-uploaded">Uploaded</h2>
    <dl class="facts">
      <dt>When</dt><dd>${timeHtml(item.uploader.receivedAt)}</dd>
      <dt>By</dt><dd>${uploaderWords(item)}</dd>
      <dt>From address</dt><dd>${item.uploader.clientIp ?? 'not recorded'}</dd>
      <dt>Site</dt><dd>${cmsName(item.uploader.cms)} <span class="hint">(${item.uploader.path})</span></dd>
      <dt>File name</dt><dd>${item.upload.originalName ?? 'none given'} <span class="hint">(never published)</span></dd>
      <dt>File</dt><dd>${item.report.input.format.toUpperCase()}, ${item.report.input.width} × ${item.report.input.height} pixels, ${formatBytes(item.upload.bytes)}</dd>
      <dt>SHA-256</dt><dd class="mono">${item.upload.sha256}</dd>
      ${item.status === 'pending' ? html`<dt>Waits until</dt><dd>${timeHtml(item.expiresAt)}, then it is rejected automatically</dd>` : ''}
    </dl>
    <h2>What Veil removes in every case</h2>
    ${item.report.removed.length === 0
      ? html`<p>The file carried no metadata.</p>`
      : html`<ul>${item.report.removed.map((f) => html`<li>${f.label}</li>`)}</ul>`}
    ${item.report.changes.length > 0 ? html`<ul>${item.report.changes.map((c) => html`<li>${c}</li>`)}</ul>` : ''}
  </section>
</div>
<h2 id="h-history">History</h2>
${item.history.length === 0
  ? html`<p>No decisions yet.</p>`
  : html`<div class="table-wrap"><table aria-labelledby="h-history">
  <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Reason</th><th scope="col">Notes</th></tr></thead>
  <tbody>${item.history.map((h) => html`<tr><td>${timeHtml(h.at)}</td><td>${HISTORY_WORDS[h.action] ?? h.action}</td><td>${h.actor} (${ROLE_WORDS[h.role] ?? h.role})</td><td>${h.reason ?? ''}</td><td>${h.note ?? ''}${h.bulkId ? html` <span class="hint">(one of several decided together)</span>` : ''}</td></tr>`)}</tbody>
</table></div>`}
<p><a href="${base}/review">Back to the review queue</a></p>`;
  return layout({ ...ctx, current: 'review' }, title, body, { flash: messages.flash, error: messages.error });
}

/** What the detector did, in words, and the honest caveat: it misses faces. */
function foundWords(item: ReviewItem, current: Box[]): Html {
  if (item.report.faces === null) {
    return html`<p><strong>Veil did not look for faces in this photo</strong> when it was held. If you approve with faces hidden, the detector runs then, and your boxes are hidden too.</p>`;
  }
  const identifiable = item.faces.filter((f) => f.action !== 'too-small').length;
  const small = item.faces.length - identifiable;
  return html`<p><strong>Veil found ${faces(item.faces.length)}</strong>${small > 0 ? html` (${small} too small to recognise once published)` : ''}. ${current.length === 0 ? 'No box will be hidden' : html`<strong>${boxes(current.length)}</strong> will be hidden`} if you approve with faces hidden.</p>`;
}

function previewSection(ctx: PageContext, item: ReviewItem, messages: DetailMessages): Html {
  const { base } = ctx;
  const id = encodeURIComponent(item.id);
  const current = currentBoxes(item);
  const size = originalSize(item);
  const editable = item.status === 'pending';
  const removedDetector = diffBoxes(detectorBoxes(item), current).removed;
  const label = Math.max(12, Math.round(Math.max(size.width, size.height) / 45));
  const csrf = html`<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">`;
  const boxesAction = `${base}/review/${id}/boxes`;
  return html`<section class="preview" aria-labelledby="h-preview">
  <h2 id="h-preview">Look at the whole photo</h2>
  ${foundWords(item, current)}
  <p class="caveat"><strong>The detector can miss faces</strong>: faces turned away or in profile, covered by caps, hats, hands, hair or other heads, and very small faces at the back. Look at every person before approving, and add a box over any face without one.</p>
  ${item.previewDeletedAt
    ? html`<p>The preview was deleted ${timeHtml(item.previewDeletedAt)}.</p>`
    : html`<div class="editor" data-box-editor data-width="${size.width}" data-height="${size.height}" data-min="${MIN_BOX_PX}">
    <img src="${base}/review/${id}/preview.jpg" alt="${previewAlt(item)}">
    <svg class="boxes" viewBox="0 0 ${size.width} ${size.height}" preserveAspectRatio="none" role="img" aria-label="${current.length === 0 ? 'No boxes' : `${boxes(current.length)} to hide, numbered as in the list below`}">
      ${removedDetector.map((b) => html`<g class="box removed"><rect x="${b[0]}" y="${b[1]}" width="${b[2]}" height="${b[3]}" vector-effect="non-scaling-stroke"></rect><line x1="${b[0]}" y1="${b[1]}" x2="${b[0] + b[2]}" y2="${b[1] + b[3]}" vector-effect="non-scaling-stroke"></line></g>`)}
      ${current.map((b, i) => html`<g class="box" data-box="${i + 1}"><rect x="${b[0]}" y="${b[1]}" width="${b[2]}" height="${b[3]}" vector-effect="non-scaling-stroke"></rect><text x="${b[0]}" y="${Math.max(label, b[1] - 4)}" font-size="${label}">${i + 1}</text></g>`)}
      <rect class="draft" x="0" y="0" width="0" height="0" visibility="hidden" vector-effect="non-scaling-stroke"></rect>
    </svg>
  </div>
  <p class="hint">The picture has no metadata and is at most 1024 pixels across; <a href="${base}/review/${id}/preview.jpg">open it on its own</a> to look closer. Coloured frames in the picture are what the detector found; the numbered white boxes are what will be hidden${removedDetector.length > 0 ? '; crossed-out frames were removed' : ''}.</p>`}
  <h3 id="h-boxes">Boxes to hide (${boxes(current.length)})</h3>
  ${current.length === 0
    ? html`<p>No boxes.</p>`
    : html`<ol class="box-list">${current.map((b, i) => html`<li><span>Box ${i + 1}: ${b[2]} × ${b[3]} pixels at ${b[0]}, ${b[1]}</span>${editable
      ? html`<form method="post" action="${boxesAction}">${csrf}<input type="hidden" name="op" value="remove"><input type="hidden" name="box" value="${i + 1}"><button class="reject" type="submit">Remove box ${i + 1}</button></form>`
      : ''}</li>`)}</ol>`}
  ${editable ? addForm(boxesAction, csrf, size, messages.typed) : ''}
  <h3 id="h-faces">What the detector found (${facesSummary(item)})</h3>
  ${item.faces.length === 0
    ? html`<p>${item.report.faces === null ? 'Faces were not looked for.' : 'No faces were found.'}</p>`
    : html`<div class="table-wrap"><table aria-labelledby="h-faces">
    <thead><tr><th scope="col">Face</th><th scope="col">Height when published</th><th scope="col">Detector confidence</th><th scope="col">What Veil would do</th></tr></thead>
    <tbody>${item.faces.map((face, i) => html`<tr><td>${i + 1}</td><td>${face.heightPx} px</td><td>${Math.round(face.score * 100)}%</td><td>${FACE_WORDS[face.action]}</td></tr>`)}</tbody>
  </table></div>`}
</section>`;
}

function addForm(action: string, csrf: Html, size: { width: number; height: number }, typed: DetailMessages['typed'] = {}): Html {
  const field = (name: 'x' | 'y' | 'w' | 'h', text: string, max: number) =>
    html`<div><label for="box-${name}">${text}</label><input id="box-${name}" name="${name}" type="number" inputmode="numeric" required min="0" max="${max}" step="1" value="${typed[name] ?? ''}"></div>`;
  return html`<form class="add-box" method="post" action="${action}" aria-labelledby="h-add">
  ${csrf}<input type="hidden" name="op" value="add">
  <h3 id="h-add">Add a box over a face Veil missed</h3>
  <p class="hint" data-drag-hint hidden>Drag over the face on the photo with a finger or the mouse; the numbers below fill in. Then press "Add box".</p>
  <p class="hint">In pixels of the original photo, which is ${size.width} × ${size.height}: x and y are the box's top-left corner, counted from the photo's top-left corner.</p>
  <div class="box-fields">
    ${field('x', 'x (from the left)', size.width)}
    ${field('y', 'y (from the top)', size.height)}
    ${field('w', 'Width', size.width)}
    ${field('h', 'Height', size.height)}
  </div>
  <div class="actions"><button class="primary" type="submit">Add box</button></div>
</form>`;
}

function decisionPanel(ctx: PageContext, item: ReviewItem, options: DetailOptions): Html {
  const { base } = ctx;
  const id = encodeURIComponent(item.id);
  const action = `${base}/review/${id}/decide`;
  const csrf = html`<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">`;
  if (item.status === 'pending') {
    const chosen = currentRedaction(item);
    const count = currentBoxes(item).length;
    return html`<form method="post" action="${action}">
  ${csrf}
  <fieldset class="modes">
    <legend>How to hide the boxed faces</legend>
    ${REDACTION_MODES.map((mode) => html`<label class="select" for="mode-${mode}"><input type="radio" id="mode-${mode}" name="redaction" value="${mode}"${mode === chosen ? html` checked` : ''}> ${MODE_LABELS[mode]}</label>`)}
  </fieldset>
  <label for="reason">Reason <span class="hint">(optional, recorded in the audit log)</span></label>
  <textarea id="reason" name="reason" maxlength="500"></textarea>
  <p class="hint">${options.publishes ? `An approved photo is published to ${options.publisherName}.` : 'An approved photo can be downloaded here; Veil does not publish it to the CMS itself.'} Metadata is removed and the photo downscaled whatever you choose.</p>
  <div class="actions">
    <button class="approve" name="action" value="approve-redacted">Approve with faces hidden<span class="hint-inline"> (${boxes(count)})</span></button>
    <button name="action" value="approve">Approve as it is (faces visible)</button>
    <button class="reject" name="action" value="reject">Reject and delete</button>
  </div>
</form>`;
  }
  const decision = item.decision;
  const canUndo = decision?.undoUntil && new Date(decision.undoUntil) > options.now && decision.action !== 'expire' && !item.originalDeletedAt;
  const mediaUrl = safeHttpUrl(item.delivery?.url);
  const hidden = item.approved && item.status === 'approved-redacted' ? `, ${faces(item.approved.facesRedacted)} ${REDACTION_WORDS[item.approved.redaction ?? 'blur']}` : '';
  return html`<dl class="facts">
  <dt>Decided</dt><dd>${decision ? html`${timeHtml(decision.at)} by ${decision.actor} (${ROLE_WORDS[decision.role] ?? decision.role})` : ''}</dd>
  ${decision?.reason ? html`<dt>Reason</dt><dd>${decision.reason}</dd>` : ''}
  ${item.approved ? html`<dt>Approved file</dt><dd><a href="${base}/review/${id}/approved">Download ${item.approved.filename}</a> (${formatBytes(item.approved.bytes)}${hidden})</dd>` : ''}
  ${item.delivery?.mediaId ? html`<dt>Published</dt><dd>Media ${item.delivery.mediaId}${mediaUrl ? html` at <a href="${mediaUrl}">${mediaUrl}</a>` : ''}</dd>` : ''}
  ${item.delivery?.error ? html`<dt>Publishing failed</dt><dd>${item.delivery.error}</dd>` : ''}
  ${item.purgeAt ? html`<dt>Original deleted at</dt><dd>${timeHtml(item.purgeAt)} (unless undone)</dd>` : ''}
  ${item.originalDeletedAt ? html`<dt>Original deleted</dt><dd>${timeHtml(item.originalDeletedAt)}</dd>` : ''}
</dl>
<form method="post" action="${action}">
  ${csrf}
  <div class="actions">
    ${canUndo ? html`<button name="action" value="undo">Undo this decision</button>` : ''}
    ${item.status === 'rejected' && !item.originalDeletedAt ? html`<button class="reject" name="action" value="delete-now">Delete the original now</button>` : ''}
    ${item.approved && item.delivery?.error ? html`<button class="primary" name="action" value="publish">Try publishing again</button>` : ''}
  </div>
  ${canUndo ? html`<p class="hint">Undo is possible until ${timeHtml(decision!.undoUntil)}.</p>` : ''}
</form>`;
}
