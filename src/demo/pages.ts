import type { DemoUpload } from './site.js';
import { escapeHtml as h } from './html.js';

const STYLE = `
  :root { font-family: system-ui, sans-serif; color: #1d2327; background: #f6f7f7; }
  body { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; line-height: 1.5; }
  header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
  h1 { margin: .5rem 0; font-size: 1.6rem; }
  .card { background: #fff; border: 1px solid #dcdcde; border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
  .pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
  figure { margin: 0; } figure img { width: 100%; height: auto; border-radius: 6px; background: #ddd; }
  figcaption { font-weight: 600; margin-bottom: .25rem; }
  ul.removed li { margin: .2rem 0; }
  .muted { color: #50575e; }
  .held { border-left: 4px solid #d63638; }
  button, input[type=file] { font-size: 1rem; padding: .6rem 1rem; min-height: 44px; }
  button { background: #2271b1; color: #fff; border: 0; border-radius: 6px; cursor: pointer; }
  #status { min-height: 1.5rem; font-weight: 600; }
  a { color: #2271b1; }
  table { border-collapse: collapse; } td, th { text-align: left; padding: .2rem .6rem .2rem 0; }
`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)} · Veil demo</title><style>${STYLE}</style></head><body>
<header><h1>Veil demo site</h1><span class="muted">a stand-in for your school's CMS, behind Veil</span></header>
${body}</body></html>`;
}

// Progressive enhancement: with JavaScript the page shows Veil's answer (held, refused) in place;
// without it the form still posts and the browser shows the answer.
// The three stages are what the browser can know for certain: bytes still going out (with a
// percentage), all sent and Veil working on it (with the seconds so far: a large HEIC takes a
// while), and Veil's answer.
const UPLOAD_SCRIPT = `
document.getElementById('upload').addEventListener('submit', (event) => {
  event.preventDefault();
  const status = document.getElementById('status');
  const button = event.target.querySelector('button');
  const show = (stage, text) => { status.dataset.stage = stage; status.textContent = text; };
  let ticking;
  const stopTicking = () => { clearInterval(ticking); button.disabled = false; };
  button.disabled = true;
  show('uploading', 'Uploading to Veil: 0%');
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/upload');
  xhr.setRequestHeader('accept', 'application/json');
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) show('uploading', 'Uploading to Veil: ' + Math.floor((e.loaded / e.total) * 100) + '%');
  };
  xhr.upload.onload = () => {
    const started = Date.now();
    const processing = () => {
      const seconds = Math.round((Date.now() - started) / 1000);
      show('processing', 'Uploaded. Veil is processing the photo: reading it, finding faces, removing hidden details and making it smaller' + (seconds >= 2 ? ' (' + seconds + ' s so far)' : '') + '...');
    };
    processing();
    ticking = setInterval(processing, 1000);
  };
  xhr.onload = () => {
    stopTicking();
    let answer; try { answer = JSON.parse(xhr.responseText); } catch { answer = { message: xhr.responseText }; }
    if (xhr.status < 300 && answer.location) { show('done', 'Done: showing what the site received...'); location.href = answer.location; return; }
    show('answered', (answer.error && answer.error.message) || answer.message || xhr.responseText);
  };
  xhr.onerror = () => { stopTicking(); show('failed', 'The upload did not reach Veil: check the connection and try again.'); };
  xhr.send(new FormData(event.target));
});`;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const demoPage = {
  home(uploads: DemoUpload[], held: { uploadId: string; reasons: string[]; at: Date }[]): string {
    const recent = uploads.map((u) => `<li><a href="/uploads/${encodeURIComponent(u.filename)}">${h(u.filename)}</a>
      <span class="muted">${plural(u.report.removed.length, 'kind')} of hidden detail removed${u.report.faces ? `, ${plural(u.report.faces.redacted, 'face')} redacted` : ''}</span></li>`);
    const waiting = held.map((item) => `<li><strong>${h(item.uploadId)}</strong>: ${h(item.reasons.join('; '))}</li>`);
    return layout('Upload', `
<section class="card"><h2>Upload a photo</h2>
<p>Pick a photo, ideally one straight from a phone (with location on) and with people in it. Veil
removes the location and every other hidden detail, shrinks it, and blurs faces before this
"CMS" ever receives it.</p>
<form id="upload" action="/upload" method="post" enctype="multipart/form-data">
<label for="photo">Photo</label> <input id="photo" name="photo" type="file" accept="image/*" required>
<button type="submit">Upload</button></form><p id="status" role="status" aria-live="polite"></p></section>
${recent.length ? `<section class="card"><h2>Published here</h2><ul>${recent.join('')}</ul></section>` : ''}
${waiting.length ? `<section class="card held"><h2>Held for review</h2><p>These never reached the site. A safeguarding lead decides at <a href="/_veil/review">/_veil/review</a>.</p><ul>${waiting.join('')}</ul></section>` : ''}
<script>${UPLOAD_SCRIPT}</script>`);
  },

  result(upload: DemoUpload): string {
    const r = upload.report;
    const removed = r.removed.length
      ? `<ul class="removed">${r.removed.map((f) => `<li><strong>${h(f.label)}</strong>${f.detail ? `: ${h(f.detail)}` : ''}</li>`).join('')}</ul>`
      : '<p>No metadata was found.</p>';
    const faces = r.faces
      ? `<p>${plural(r.faces.identifiable, 'identifiable face')} found, ${r.faces.redacted} redacted (${h(r.faces.redaction)});
         faces smaller than ${r.faces.minFacePx} px in the published photo are left, as nobody can recognise them.</p>`
      : '<p>Faces were not checked.</p>';
    return layout(upload.filename, `
<p><a href="/">← Upload another</a></p>
<section class="card"><div class="pair">
<figure><figcaption>What was uploaded (${r.input.width}×${r.input.height}, ${h(r.input.format.toUpperCase())}, ${kb(r.input.bytes)})</figcaption>
<img src="/_veil/demo/original/${encodeURIComponent(upload.uploadId)}" alt="The photo as uploaded"></figure>
<figure><figcaption>What the site received (${r.output?.width}×${r.output?.height}, ${h(r.output?.format.toUpperCase() ?? '')}, ${kb(r.output?.bytes ?? 0)})</figcaption>
<img src="/media/${encodeURIComponent(upload.filename)}" alt="The photo as published, with faces redacted"></figure>
</div></section>
<section class="card"><h2>Removed</h2>${removed}</section>
<section class="card"><h2>Faces</h2>${faces}</section>
<section class="card"><h2>Also changed</h2><ul>${r.changes.map((c) => `<li>${h(c)}</li>`).join('')}</ul>
<p class="muted">Published as <code>${h(upload.filename)}</code>; the name it was uploaded with (<code>${h(r.input.filename ?? 'unknown')}</code>) stays in Veil's private report. Upload ${h(upload.uploadId)}, processed in ${Math.round(r.timings.totalMs)} ms.</p></section>`);
  },

  notFound(): string {
    return layout('Not found', '<p>Nothing here. <a href="/">Upload a photo</a>.</p>');
  },
};

function kb(bytes: number): string {
  return bytes > 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}
