/*
 * The admin pages' only stylesheet and script, served from /_veil/assets/ (no build step). The
 * pages work without the script; it adds "select all" and stops a double submit.
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
.preview img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
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
