/*
 * The admin pages' only stylesheet and script, served from /_veil/assets/ (no build step). The
 * pages work without the script; it adds "select all", drawing face boxes with a finger or the
 * mouse (pointer events), local times, and stops a double submit.
 */

export const ADMIN_CSS = `
:root { --ink: #1b1b1f; --muted: #55565e; --line: #c9cad1; --bg: #f6f6f8; --card: #fff; --accent: #0b5cad;
  --ok: #1d6b35; --warn: #8a4b00; --bad: #a4161a; font-size: 17px; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline: 3px solid #ffbf47; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
.top { background: #1b1b1f; color: #fff; padding: .5rem 1rem; display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; }
.top a { color: #fff; }
.brand { margin: 0; font-weight: 700; font-size: 1.2rem; }
.brand span { font-weight: 400; opacity: .8; font-size: .9rem; }
.nav { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; align-items: center; }
.nav a { display: inline-block; padding: .6rem .25rem; min-height: 44px; }
.nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.who { opacity: .85; font-size: .9rem; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.flash, .error { padding: .75rem 1rem; border-radius: 6px; margin: 0 0 1rem; border: 2px solid; }
.flash { background: #e8f4ec; border-color: var(--ok); }
.error { background: #fbeaea; border-color: var(--bad); }
button, .button { font: inherit; min-height: 44px; min-width: 44px; padding: .5rem 1rem; border-radius: 6px; border: 2px solid var(--ink);
  background: #fff; color: var(--ink); cursor: pointer; text-decoration: none; display: inline-flex; align-items: center; gap: .4rem; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
button.reject { background: #fff; border-color: var(--bad); color: var(--bad); }
button[disabled] { opacity: .6; cursor: wait; }
input, select, textarea { font: inherit; min-height: 44px; padding: .4rem .5rem; border: 2px solid var(--muted); border-radius: 6px; background: #fff; max-width: 100%; }
textarea { width: 100%; min-height: 4rem; }
label { font-weight: 600; display: block; margin-bottom: .25rem; }
.hint { color: var(--muted); font-size: .9rem; font-weight: 400; }
.filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; background: var(--card); padding: .75rem; border: 1px solid var(--line); border-radius: 8px; }
.filters div { display: flex; flex-direction: column; }
.queue { list-style: none; padding: 0; margin: 1rem 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; display: flex; flex-direction: column; gap: .5rem; }
.card img { width: 100%; height: auto; border-radius: 4px; background: #ddd; }
.card h2 { font-size: 1.05rem; margin: 0; word-break: break-all; }
.select { display: flex; align-items: center; gap: .5rem; font-weight: 600; min-height: 44px; }
.select input { width: 1.6rem; height: 1.6rem; min-height: 0; }
.status { display: inline-block; font-weight: 700; padding: .15rem .5rem; border-radius: 4px; border: 2px solid; }
.status-pending { color: var(--warn); border-color: var(--warn); }
.status-approved, .status-approved-redacted { color: var(--ok); border-color: var(--ok); }
.status-rejected, .status-expired { color: var(--bad); border-color: var(--bad); }
.reasons { margin: 0; padding-left: 1.2rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.bulk { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; }
.bulk .reason { flex: 1 1 16rem; }
.detail { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 2fr); gap: 1.5rem; }
@media (max-width: 800px) { .detail { grid-template-columns: 1fr; } }
.preview { margin-bottom: 1.5rem; }
.caveat { border-left: 5px solid var(--warn); background: #fff7e6; padding: .5rem .75rem; border-radius: 4px; }
/* The photo fills the page's width (a tablet's, in either orientation); a tall photo stops at
   90% of the screen's height so there is always some page left to scroll with. */
.editor { position: relative; display: inline-block; max-width: 100%; line-height: 0; }
.editor img { display: block; width: auto; height: auto; max-width: 100%; max-height: 90vh; }
.editor svg.boxes { position: absolute; inset: 0; width: 100%; height: 100%; overflow: visible; }
.editor svg.drawable { cursor: crosshair; touch-action: pinch-zoom; }
.boxes .box rect { fill: none; stroke: #fff; stroke-width: 3; }
.boxes .box text { fill: #fff; stroke: #000; stroke-width: 4px; paint-order: stroke; font-weight: 700; font-family: system-ui, sans-serif; }
.boxes .removed rect, .boxes .removed line { stroke: #fff; stroke-width: 2; stroke-dasharray: 6 4; }
.boxes .draft { fill: rgba(255, 191, 71, .3); stroke: #ffbf47; stroke-width: 3; stroke-dasharray: 8 4; }
.box-list { padding-left: 0; list-style: none; display: flex; flex-direction: column; gap: .4rem; }
.box-list li { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .6rem; }
.box-list form { margin: 0; }
.add-box { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; }
.add-box h3 { margin-top: 0; }
.box-fields { display: grid; grid-template-columns: repeat(auto-fit, minmax(8rem, 1fr)); gap: .5rem; margin-bottom: .75rem; }
.box-fields input { width: 100%; }
fieldset.modes { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 1rem; padding: .5rem .75rem; }
fieldset.modes legend { font-weight: 600; }
.select input[type="radio"] { width: 1.4rem; height: 1.4rem; min-height: 0; }
.hint-inline { font-weight: 400; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; word-break: break-word; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.table-wrap { overflow-x: auto; }
.mono { font-family: ui-monospace, monospace; font-size: .85rem; word-break: break-all; }
.login { max-width: 24rem; margin: 2rem auto; background: var(--card); padding: 1.5rem; border-radius: 8px; border: 1px solid var(--line); }
.login div { margin-bottom: 1rem; }
.login input { width: 100%; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const ADMIN_JS = `
(function () {
  'use strict';
  // "Select all" for bulk decisions: a convenience; each checkbox works without it.
  document.querySelectorAll('[data-select-all]').forEach(function (box) {
    box.hidden = false;
    var input = box.querySelector('input');
    input.addEventListener('change', function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (item) { item.checked = input.checked; });
    });
  });
  // Box drawing: a drag over the photo (finger, pen or mouse) fills the typed-coordinates form,
  // which stays the one way boxes reach Veil. Coordinates are in the original photo's pixels.
  document.querySelectorAll('[data-box-editor]').forEach(function (editor) {
    var svg = editor.querySelector('svg');
    var form = document.querySelector('form.add-box');
    if (!svg || !form) return;
    var draft = svg.querySelector('.draft');
    var W = Number(editor.getAttribute('data-width'));
    var H = Number(editor.getAttribute('data-height'));
    var MIN = Number(editor.getAttribute('data-min')) || 4;
    var names = ['x', 'y', 'w', 'h'];
    var fields = names.map(function (n) { return form.querySelector('[name="' + n + '"]'); });
    var hint = form.querySelector('[data-drag-hint]');
    if (hint) hint.hidden = false;
    svg.classList.add('drawable');
    var start = null;
    function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
    function point(e) {
      var r = svg.getBoundingClientRect();
      return { x: clamp(((e.clientX - r.left) / r.width) * W, 0, W), y: clamp(((e.clientY - r.top) / r.height) * H, 0, H) };
    }
    function draw(box) {
      ['x', 'y', 'width', 'height'].forEach(function (a, i) { draft.setAttribute(a, String(box[i])); });
      draft.setAttribute('visibility', box[2] > 0 && box[3] > 0 ? 'visible' : 'hidden');
    }
    function boxOf(a, b) {
      var x = Math.floor(Math.min(a.x, b.x)), y = Math.floor(Math.min(a.y, b.y));
      return [x, y, Math.min(W - x, Math.ceil(Math.abs(b.x - a.x))), Math.min(H - y, Math.ceil(Math.abs(b.y - a.y)))];
    }
    svg.addEventListener('pointerdown', function (e) {
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      start = point(e);
      svg.setPointerCapture(e.pointerId);
      e.preventDefault();
      draw(boxOf(start, start));
    });
    svg.addEventListener('pointermove', function (e) { if (start) draw(boxOf(start, point(e))); });
    svg.addEventListener('pointerup', function (e) {
      if (!start) return;
      var box = boxOf(start, point(e));
      start = null;
      if (box[2] < MIN || box[3] < MIN) { draft.setAttribute('visibility', 'hidden'); return; }
      draw(box);
      fields.forEach(function (f, i) { if (f) f.value = String(box[i]); });
      var add = form.querySelector('button[type="submit"]');
      if (add) add.focus();
    });
    svg.addEventListener('pointercancel', function () { start = null; draft.setAttribute('visibility', 'hidden'); });
    // Typed numbers show where the box will be, too.
    form.addEventListener('input', function () {
      var box = fields.map(function (f) { return f ? Number(f.value) : NaN; });
      if (box.every(function (v) { return isFinite(v); })) draw(box);
    });
  });
  // Times in the reader's own time zone; the server's words stay as the tooltip.
  document.querySelectorAll('time[datetime]').forEach(function (t) {
    var d = new Date(t.getAttribute('datetime'));
    if (isNaN(d.getTime())) return;
    t.title = t.textContent;
    t.textContent = d.toLocaleString(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
  });
  // A second tap while a decision is being saved would only meet "already decided".
  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      var button = event.submitter;
      if (!button) return;
      setTimeout(function () { form.querySelectorAll('button').forEach(function (b) { b.disabled = true; }); }, 0);
    });
  });
})();
`;
