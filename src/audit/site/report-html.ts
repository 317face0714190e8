import { ageDays, fixText, metadataText, reasonText, summaryLine } from './report-words.js';
import { REASON_WORDS, type AuditedImage, type AuditResult, type Reason } from './types.js';

/**
 * The report a safeguarding lead opens: one self-contained file (inline CSS and script,
 * thumbnails as data: URIs with faces redacted), and a Content-Security-Policy that lets it fetch
 * nothing at all, so opening it never tells a server anything. Every value from a site or a file
 * is escaped: file names and page addresses are whatever someone typed.
 */
export function auditHtml(result: AuditResult, now = new Date()): string {
  const s = result.summary;
  const rows = result.images.map((row, index) => renderRow(row, index, now)).join('\n');
  const reasonOptions = (Object.keys(REASON_WORDS) as Reason[]).map((r) => `<option value="${r}">${esc(REASON_WORDS[r])}</option>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Veil image audit: ${esc(s.target)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Image audit of ${esc(s.target)}</h1>
<p class="summary" id="summary">${esc(summaryLine(s))}</p>
<ul class="counts">
<li><b>${s.images}</b> images</li>${s.kind === 'site' ? `<li><b>${s.pages}</b> pages</li>` : ''}
<li class="${s.gps ? 'bad' : ''}"><b>${s.gps}</b> with GPS</li>
<li class="${s.faces ? 'bad' : ''}"><b>${s.faces}</b> with identifiable faces</li>
<li class="${s.large ? 'bad' : ''}"><b>${s.large}</b> larger than ${s.maxEdge} px</li>
<li class="${s.personNames ? 'bad' : ''}"><b>${s.personNames}</b> named like a pupil</li>
<li class="${s.needsAction ? 'bad' : 'good'}"><b>${s.needsAction}</b> need action</li>${s.fixed ? `<li class="good"><b>${s.fixed}</b> fixed</li>` : ''}
</ul>
<p class="when">Audited ${esc(s.startedAt.slice(0, 16).replace('T', ' '))} UTC by Veil. This report is for the school: it may show names from the pictures' metadata. GPS positions are rounded to about 10 km; faces in the thumbnails are redacted.</p>
${result.notes.length > 0 ? `<details class="notes"><summary>Notes (${result.notes.length})</summary><ul>${result.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></details>` : ''}
<form class="filters" onsubmit="return false">
<label><input type="checkbox" id="only-action"> Needs action only</label>
<label>Reason <select id="reason"><option value="">any</option>${reasonOptions}</select></label>
<label>Search <input type="search" id="search" placeholder="file or page"></label>
<span id="shown" aria-live="polite"></span>
</form>
</header>
<table id="images">
<thead><tr>
<th>Picture</th><th data-type="text">Where</th><th data-type="num">Size (px)</th><th data-type="text">GPS</th><th data-type="text">Taken</th>
<th data-type="text">Camera</th><th data-type="num">Faces</th><th data-type="text">Name</th><th data-type="num">Age (days)</th><th data-type="num">Needs action</th><th data-type="text">Fix</th>
</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function renderRow(row: AuditedImage, index: number, now: Date): string {
  const long = Math.max(row.width ?? 0, row.height ?? 0);
  const age = ageDays(row, now);
  const pages = row.pages.length === 0
    ? '<div class="muted">linked from no page</div>'
    : `<details><summary>${row.pages.length} page${row.pages.length === 1 ? '' : 's'}</summary><ul>${row.pages.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></details>`;
  const thumb = row.thumbnail ? `<img src="${esc(row.thumbnail)}" alt="thumbnail, faces redacted" loading="lazy">` : '<span class="muted">no thumbnail</span>';
  const faces = row.faces ? `${row.faces.identifiable}${row.faces.found > row.faces.identifiable ? ` <span class="muted">(${row.faces.found} found)</span>` : ''}` : '';
  const action = row.reasons.length > 0;
  const before = row.reasonsBefore && row.reasonsBefore.length > 0 ? `<div class="muted">before the fix: ${esc(row.reasonsBefore.map((r) => REASON_WORDS[r]).join('; '))}</div>` : '';
  const meta = metadataText(row);
  return `<tr data-index="${index}" data-action="${action ? 1 : 0}" data-reasons="${esc(row.reasons.join(' '))}" class="${action ? 'action' : 'clean'}">
<td class="thumb">${thumb}</td>
<td data-sort="${esc(row.location)}"><div class="loc">${esc(row.location)}</div>${row.sizeOf ? `<div class="muted">copy of ${esc(row.sizeOf)}</div>` : ''}${pages}${meta ? `<div class="meta">${esc(meta)}</div>` : ''}${row.error ? `<div class="err">${esc(row.error.code)}: ${esc(row.error.message)}</div>` : ''}</td>
<td data-sort="${long}">${row.width ? `${row.width}×${row.height}` : ''}</td>
<td data-sort="${esc(row.metadata?.gps ?? '')}">${row.metadata?.gps ? `<span class="bad">${esc(row.metadata.gps)}</span>` : row.metadata ? 'no' : ''}</td>
<td data-sort="${esc(row.metadata?.taken ?? '')}">${esc(row.metadata?.taken ?? '')}</td>
<td data-sort="${esc(row.metadata?.camera ?? '')}">${esc(row.metadata?.camera ?? '')}</td>
<td data-sort="${row.faces?.identifiable ?? -1}">${faces}</td>
<td data-sort="${esc(row.personName ?? '')}">${row.personName ? `<span class="bad">${esc(row.personName)}</span>` : ''}</td>
<td data-sort="${age ?? -1}">${age ?? ''}</td>
<td data-sort="${row.reasons.length}">${action ? `<span class="bad">${esc(reasonText(row))}</span>` : '<span class="good">no</span>'}${before}</td>
<td data-sort="${esc(row.fix?.status ?? '')}">${esc(fixText(row))}</td>
</tr>`;
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{padding:16px 24px;background:#fff;border-bottom:1px solid #dde1e7}
h1{font-size:20px;margin:0 0 6px}
.summary{font-size:16px;font-weight:600;margin:4px 0 10px}
.counts{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:0 0 8px}
.counts li{background:#eef1f5;border-radius:6px;padding:4px 10px}
.counts li.bad{background:#fde8e8;color:#8a1c1c}.counts li.good{background:#e5f6ea;color:#17612f}
.when,.muted{color:#5b6475;font-size:12px}
.filters{display:flex;flex-wrap:wrap;gap:16px;align-items:center;margin-top:8px}
table{border-collapse:collapse;width:100%;background:#fff}
th{position:sticky;top:0;background:#263248;color:#fff;text-align:left;padding:6px 8px;cursor:pointer;user-select:none;white-space:nowrap}
th[data-type]::after{content:" \\2195";opacity:.5}
th.asc::after{content:" \\2191";opacity:1}th.desc::after{content:" \\2193";opacity:1}
td{border-bottom:1px solid #e5e8ee;padding:6px 8px;vertical-align:top}
tr.action td:first-child{border-left:4px solid #c62828}tr.clean td:first-child{border-left:4px solid #2e7d32}
td.thumb img{max-width:120px;max-height:120px;display:block}
.loc{word-break:break-all;font-family:ui-monospace,monospace;font-size:12px}
.meta{font-size:12px;color:#333;margin-top:4px}
.bad{color:#a31515;font-weight:600}.good{color:#1b6b34}.err{color:#a31515;font-size:12px}
details ul{margin:4px 0;padding-left:18px;font-size:12px;word-break:break-all}
`;

const SCRIPT = `
(function(){
  var table=document.getElementById('images'),body=table.tBodies[0];
  var rows=Array.prototype.slice.call(body.rows);
  var only=document.getElementById('only-action'),reason=document.getElementById('reason'),search=document.getElementById('search'),shown=document.getElementById('shown');
  function apply(){
    var q=search.value.toLowerCase(),r=reason.value,n=0;
    rows.forEach(function(tr){
      var ok=(!only.checked||tr.dataset.action==='1')&&(!r||(' '+tr.dataset.reasons+' ').indexOf(' '+r+' ')>=0)&&(!q||tr.textContent.toLowerCase().indexOf(q)>=0);
      tr.hidden=!ok;if(ok)n++;
    });
    shown.textContent=n+' of '+rows.length+' shown';
  }
  [only,reason].forEach(function(e){e.addEventListener('change',apply)});search.addEventListener('input',apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){
    var type=th.dataset.type;if(!type)return;
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');
      Array.prototype.forEach.call(th.parentNode.cells,function(c){c.classList.remove('asc','desc')});
      th.classList.add(asc?'asc':'desc');
      rows.sort(function(a,b){
        var x=a.cells[col].dataset.sort||'',y=b.cells[col].dataset.sort||'';
        var d=type==='num'?Number(x)-Number(y):x.localeCompare(y);
        return asc?d:-d;
      });
      rows.forEach(function(tr){body.appendChild(tr)});
    });
  });
  apply();
})();
`;
