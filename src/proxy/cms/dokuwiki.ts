import { decodedPath, escapeHtml, isMultipartForm, jsonResponse, NO_STORE, problemMessage, problemStatus } from './answers.js';
import type { CmsAdapter, ProblemDetails, RenamedRequest, UploadProblem } from './types.js';

/*
 * DokuWiki's media uploads, and how DokuWiki itself answers them (inc/Ajax.php callMediaupload,
 * inc/media.php, lib/scripts/fileuploader*.js):
 * - the media manager's uploader, XHR: POST lib/exe/ajax.php?call=mediaupload&ns=..&sectok=..
 *   &qqfile=<name>&ow=..  with the file as the raw body. DokuWiki names the stored file after
 *   `qqfile` (and the X-File-Name header repeats it), so both get the sanitised file's name.
 * - the same uploader without XHR (an iframe form): multipart to ajax.php with the file in
 *   `qqfile` and the name in the `mediaid` field.
 *   Both read `{"error": "...", "ns": "..."}` from an HTTP 200 answer and show `error` in place of
 *   "Failed"; any other status shows only "Failed".
 * - the upload form: multipart POST to doku.php (do=media) or lib/exe/mediamanager.php, the file
 *   in `upload` and the name in `mediaid`. DokuWiki answers with a page: Veil answers with a small
 *   page too, with a way back to the media manager.
 * With KEEP_FILENAMES the sanitised file's name is the cleaned original, so the same code keeps it.
 */

type Door = 'uploader-xhr' | 'uploader-form' | 'media-form';

const AJAX = /\/lib\/exe\/ajax\.php$/i;
const MEDIA_FORM = /\/(?:doku\.php|lib\/exe\/mediamanager\.php)$/i;

export const dokuwikiAdapter: CmsAdapter = {
  name: 'dokuwiki',
  match(req, url) {
    const door = dokuwikiDoor(req, url);
    if (!door) return undefined;
    const named = door === 'uploader-xhr' ? lastParam(url, 'qqfile') : undefined;
    return {
      body: door === 'uploader-xhr' ? 'raw' : 'multipart',
      ...(named ? { filename: named.slice(Math.max(named.lastIndexOf(':'), named.lastIndexOf('/'), named.lastIndexOf(';')) + 1) } : {}),
      respond: door === 'media-form' ? mediaFormAnswer : uploaderAnswer,
      renamed: (sanitised, requestUrl) => renamed(door, sanitised[0]?.filename, requestUrl),
    };
  },
};

function dokuwikiDoor(req: Request, url: URL): Door | undefined {
  if (req.method !== 'POST') return undefined;
  const path = decodedPath(url);
  if (AJAX.test(path) && lastParam(url, 'call') === 'mediaupload') {
    if (isMultipartForm(req)) return 'uploader-form';
    return lastParam(url, 'qqfile') !== undefined ? 'uploader-xhr' : undefined;
  }
  if (MEDIA_FORM.test(path) && isMultipartForm(req)) return 'media-form';
  return undefined;
}

/** PHP keeps the last of repeated query parameters. */
function lastParam(url: URL, name: string): string | undefined {
  const values = url.searchParams.getAll(name);
  return values.length > 0 ? values[values.length - 1] : undefined;
}

function renamed(door: Door, filename: string | undefined, url: URL): RenamedRequest {
  if (!filename) return {};
  if (door === 'uploader-xhr') {
    const name = withNamespaceOf(lastParam(url, 'qqfile') ?? '', filename);
    return { url: replaceQueryParam(url, 'qqfile', name), headers: { 'x-file-name': encodeURIComponent(name) } };
  }
  // `mediaid` is what DokuWiki names the file after; an empty one falls back to the file part's
  // name, which the rebuilt form already carries. Replacing an empty one is harmless.
  return { fields: { mediaid: filename } };
}

/** "class6:jane-smith.jpg" → "class6:photo-….jpg": the folder (namespace) the teacher chose stays. */
function withNamespaceOf(original: string, filename: string): string {
  const cut = Math.max(original.lastIndexOf(':'), original.lastIndexOf('/'), original.lastIndexOf(';'));
  return `${cut >= 0 ? original.slice(0, cut + 1) : ''}${filename}`;
}

/** Replaces every `name=` pair in the raw query and leaves the others byte for byte. */
function replaceQueryParam(url: URL, name: string, value: string): URL {
  const pairs = url.search.replace(/^\?/, '').split('&');
  const out = pairs.map((pair) => {
    const key = pair.split('=', 1)[0]!;
    let decoded = key;
    try {
      decoded = decodeURIComponent(key.replace(/\+/g, ' '));
    } catch {
      // a malformed escape is not our parameter
    }
    return decoded === name ? `${key}=${encodeURIComponent(value)}` : pair;
  });
  const next = new URL(url.href);
  next.search = `?${out.join('&')}`;
  return next;
}

/** DokuWiki's own shape for the uploader, on HTTP 200 so its script reads it and shows the message. */
function uploaderAnswer(problem: UploadProblem, details: ProblemDetails): Response {
  const ns = lastParam(details.url, 'ns') ?? details.fields.ns ?? '';
  // The uploader inserts `error` as text (qq.setText), and an iframe reads the body as HTML: plain JSON is safe for both.
  return jsonResponse({ error: problemMessage(problem), ns }, 200, 'application/json', { 'x-veil-outcome': problem.kind });
}

/** A small page in place of DokuWiki's, saying what happened and linking back to the media manager. */
function mediaFormAnswer(problem: UploadProblem, details: ProblemDetails): Response {
  const ns = details.fields.ns ?? lastParam(details.url, 'ns') ?? '';
  const back = `${dokuBase(details.url)}doku.php?do=media&ns=${encodeURIComponent(ns)}`;
  const title = problem.kind === 'held' ? 'Photo held for review' : 'Upload not accepted';
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>
<h1>${title}</h1><p>${escapeHtml(problemMessage(problem))}</p>
<p><a href="${escapeHtml(back)}">Back to the media manager</a></p></body></html>`;
  return new Response(html, { status: problemStatus(problem), headers: { 'content-type': 'text/html; charset=utf-8', ...NO_STORE } });
}

/** The wiki's base path, from the URL the form was posted to. */
function dokuBase(url: URL): string {
  const path = url.pathname;
  const at = path.search(/(?:doku\.php|lib\/exe\/mediamanager\.php)$/i);
  return at >= 0 ? path.slice(0, at) : '/';
}
