import { mediawikiStashChunks, type MediaWikiAnswers } from '../chunks/mediawiki-stash.js';
import { NO_STORE, basicAuthUser, decodedPath, escapeHtml, isMultipartForm, problemCode, problemMessage, problemStatus } from './answers.js';
import type { CmsAdapter, ProblemDetails, UploadProblem } from './types.js';

/*
 * MediaWiki upload doors (paths matched as suffixes, so /w/api.php and a wiki in a sub-folder work):
 * - api.php `action=upload`, multipart: a whole file in `file` (mw.Api, bots, pywikibot), or stash
 *   chunks in `chunk` with `offset`, `filesize` and, after the first, `filekey` (UploadWizard,
 *   mw.Upload, VisualEditor). The chunks are put together by Veil (src/proxy/chunks/
 *   mediawiki-stash.ts); the client's final `action=upload&filekey=...` carries no file and
 *   passes on. Parameters may be in the query string or the form, as PHP merges them.
 * - index.php Special:Upload (`wpUploadFile`), also as /wiki/Special:Upload with short URLs and
 *   under the page's local names (any `title` with a namespace).
 * Other api.php bodies (JSON, form-encoded edits) are left to the generic text adapter.
 */

type Door = 'api' | 'special-upload';

const answers: MediaWikiAnswers = { apiError, apiResult };
const stash = mediawikiStashChunks(answers);

export const mediawikiAdapter: CmsAdapter = {
  name: 'mediawiki',
  match(req, url) {
    if (req.method !== 'POST' || !isMultipartForm(req)) return undefined;
    const door = mediawikiDoor(url);
    if (!door) return undefined;
    const user = mediawikiUser(req.headers);
    if (door === 'api') return { body: 'multipart', chunked: stash, user, respond: apiProblem };
    return { body: 'multipart', user, respond: specialUploadPage };
  },
};

function mediawikiDoor(url: URL): Door | undefined {
  const path = decodedPath(url);
  if (path.endsWith('/api.php')) return 'api';
  // A special page's title has a namespace (`Special:Upload`, `Spezial:Hochladen`): other PHP
  // applications' index.php forms (Joomla 3, Drupal) do not send one, and keep the generic answer.
  if (path.endsWith('/index.php') && (url.searchParams.get('title') ?? '').includes(':')) return 'special-upload';
  if (/\/index\.php\/[^/]+:[^/]+$/.test(path) || /\/Special:Upload$/i.test(path)) return 'special-upload';
  return undefined;
}

/** MediaWiki's `<wiki>UserName` cookie, else a Basic auth user. Not verified: a hint. */
function mediawikiUser(headers: Headers): string | undefined {
  for (const pair of (headers.get('cookie') ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || !pair.slice(0, eq).trim().endsWith('UserName')) continue;
    try {
      const user = decodeURIComponent(pair.slice(eq + 1).trim().replace(/\+/g, ' '));
      if (user) return user;
    } catch {
      // not a name
    }
  }
  return basicAuthUser(headers);
}

/** The parameters that choose the API's answer format, from the form or the query string. */
function apiParams(details: ProblemDetails): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of ['format', 'formatversion', 'errorformat']) {
    const value = details.fields[name] ?? details.url.searchParams.get(name);
    if (value !== null && value !== undefined) params[name] = value;
  }
  return params;
}

function apiProblem(problem: UploadProblem, details: ProblemDetails): Response {
  const code = problem.kind === 'held' ? 'veil-held' : `veil-${problemCode(problem).toLowerCase().replace(/_/g, '-')}`;
  const extra: Record<string, unknown> = {};
  if (problem.uploadId) extra.uploadid = problem.uploadId;
  if (problem.kind === 'held') extra.reference = problem.reference;
  return apiError(apiParams(details), code, problemMessage(problem), extra);
}

const DOCREF = 'Veil checked this upload before it reached the wiki: see the message.';

/**
 * As ApiMain reports an error: HTTP 200, the `MediaWiki-API-Error` header, and the body in the
 * error format asked for: `{"error":{"code","info"}}` by default ("bc", which mw.Api and bots
 * read), or `{"errors":[{"code","text"|"html"}]}` with errorformat=plaintext/wikitext/html
 * (UploadWizard). Extra data goes where ApiMain puts it: into `error`, or into each `data`.
 */
function apiError(params: Record<string, string>, code: string, info: string, extra: Record<string, unknown> = {}): Response {
  const version2 = params.formatversion === '2' || params.formatversion === 'latest';
  const format = (params.errorformat ?? 'bc').toLowerCase();
  let body: Record<string, unknown>;
  if (format === 'bc') {
    body = { error: { code, info, ...extra, ...(version2 ? { docref: DOCREF } : { '*': DOCREF }) } };
  } else {
    const textKey = format === 'html' ? 'html' : version2 ? 'text' : '*';
    const entry: Record<string, unknown> = { code, [textKey]: format === 'html' ? escapeHtml(info) : info, module: 'upload' };
    if (format === 'raw') Object.assign(entry, { key: code, params: [], text: info });
    if (Object.keys(extra).length > 0) entry.data = extra;
    body = { errors: [entry], docref: DOCREF };
  }
  return apiJson(body, { 'mediawiki-api-error': code });
}

function apiResult(value: unknown): Response {
  return apiJson(value);
}

function apiJson(value: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', ...NO_STORE, ...extra } });
}

/**
 * Special:Upload's error, as a wiki page: the skin's own styles from the wiki's load.php (so it
 * looks like the wiki where that loads), a plain fallback style, and a way back to the form.
 */
function specialUploadPage(problem: UploadProblem, details: ProblemDetails): Response {
  const base = details.url.pathname.replace(/\/index\.php(?:\/.*)?$/i, '').replace(/\/(?:wiki\/)?Special:Upload$/i, '');
  const index = `${base}/index.php`;
  const back = `${index}?title=Special:Upload`;
  const styles = `${base}/load.php?lang=en&modules=skins.vector.styles.legacy&only=styles&skin=vector`;
  const file = details.filename ? `<p>The file: <strong>${escapeHtml(details.filename)}</strong></p>\n` : '';
  const html = `<!DOCTYPE html>
<html class="client-nojs" lang="en" dir="ltr">
<head>
<meta charset="UTF-8">
<title>Upload error</title>
<meta name="robots" content="noindex,nofollow">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(styles)}">
<style>body{font-family:sans-serif;background:#f6f6f6;margin:0}#content{background:#fff;border:1px solid #a7d7f9;margin:2em auto;max-width:50em;padding:1.25em 1.5em}.errorbox{background:#fee7e6;border:1px solid #d33;padding:.5em 1em;margin:1em 0}</style>
</head>
<body class="mediawiki ltr skin-vector action-submit">
<div id="content" class="mw-body" role="main">
<h1 id="firstHeading" class="firstHeading">Upload error</h1>
<div id="mw-content-text" class="mw-body-content">
<div class="errorbox mw-message-box-error"><p>${escapeHtml(problemMessage(problem))}</p></div>
${file}<p><a href="${escapeHtml(back)}">Return to the upload form</a> · <a href="${escapeHtml(index)}">Main page</a></p>
</div>
</div>
</body>
</html>
`;
  return new Response(html, { status: problemStatus(problem), headers: { 'content-type': 'text/html; charset=utf-8', ...NO_STORE } });
}
