import {
  NO_STORE,
  basicAuthUser,
  decodedPath,
  escapeHtml,
  isMultipartForm,
  jsonResponse,
  problemMessage,
  problemStatus,
} from './answers.js';
import type { CmsAdapter, ProblemDetails, UploadMatch, UploadProblem } from './types.js';
import { phpQueryStrings } from '../php-query.js';
import { adminAjaxMatch, ajaxAction, ajaxError } from './wordpress-ajax.js';
import { picturesInXmlRpc, xmlRpcFault } from './xmlrpc.js';

/*
 * WordPress upload routes (paths matched as suffixes, so a site in a sub-folder works too):
 * - /wp-admin/async-upload.php: the media modal and the block editor's "Upload" button
 *   (multipart field `async-upload`, with `action=upload-attachment`), and the multi-file uploader
 *   on Media > Add New (same field, no action, `short=1`);
 * - /wp-admin/admin-ajax.php?action=upload-attachment: the same handler under another door; any
 *   other admin-ajax.php body (heartbeat autosave, page builders saving JSON, the image editor)
 *   is scanned for pictures pasted as text (wordpress-ajax.ts);
 * - /wp-admin/media-new.php: the "browser uploader" fallback form (`html-upload`);
 * - REST: POST /wp-json/wp/v2/media or /?rest_route=/wp/v2/media, either the raw file with
 *   `Content-Disposition: attachment; filename=...` or multipart field `file` (block editor, apps);
 * - XML-RPC: /xmlrpc.php, read as WordPress's XML parser reads it (xmlrpc.ts): `wp.uploadFile` and
 *   `metaWeblog.newMediaObject` media and pictures in posts are sanitised in place.
 * Query strings are read as PHP reads them (php-query.ts): `?rest.route=...`, a repeated
 * `rest_route` (the last one counts) or `%2E` reach the same door as the plain spelling.
 */

type Door = 'async-upload' | 'admin-ajax' | 'media-new' | 'rest' | 'xmlrpc';

export const wordpressAdapter: CmsAdapter = {
  name: 'wordpress',
  match(req, url) {
    const door = wordpressDoor(url);
    // The REST API takes `?_method=POST` or X-HTTP-Method-Override on any method; the PHP
    // scripts read $_POST and $_FILES, which PHP fills for POST only.
    if (!door || (door !== 'rest' && req.method !== 'POST')) return undefined;
    if (door === 'xmlrpc') {
      return { body: 'embedded', embedded: picturesInXmlRpc, user: wordpressUser(req.headers), respond: xmlRpcFault };
    }
    if (door === 'admin-ajax' && !isMultipartForm(req)) return adminAjaxMatch(req, url, wordpressUser(req.headers));
    const match: UploadMatch = {
      body: isMultipartForm(req) ? 'multipart' : 'raw',
      user: wordpressUser(req.headers),
      respond: (problem, details) => answer(door, problem, details),
    };
    return match;
  },
};

function wordpressDoor(url: URL): Door | undefined {
  const path = decodedPath(url);
  if (runsScript(path, '/wp-admin/async-upload.php')) return 'async-upload';
  if (runsScript(path, '/wp-admin/admin-ajax.php')) return 'admin-ajax';
  if (runsScript(path, '/wp-admin/media-new.php')) return 'media-new';
  if (runsScript(path, '/xmlrpc.php')) return 'xmlrpc';
  // A `rest_route` in the query overrides the pretty path; either one may be the media route.
  const routes = [...phpQueryStrings(url, 'rest_route'), restRouteFromPath(path)];
  // WordPress matches REST routes case-insensitively after untrailingslashit() (any "/" and "\\").
  if (routes.some((route) => route !== undefined && /^\/wp\/v2\/media[/\\]*$/i.test(route))) return 'rest';
  return undefined;
}

/** The web server runs `script` for this path, also with PATH_INFO after it (`/xmlrpc.php/x`). */
function runsScript(path: string, script: string): boolean {
  return path.endsWith(script) || path.includes(`${script}/`);
}

function restRouteFromPath(path: string): string | undefined {
  const at = path.indexOf('/wp-json/');
  return at === -1 ? undefined : path.slice(at + '/wp-json'.length);
}

/**
 * The logged-in user as WordPress's own cookie names it (`wordpress_logged_in_<hash>` holds
 * `user|expiry|token|hmac`), or an application-password Basic auth user. Not verified: a hint.
 */
export function wordpressUser(headers: Headers): string | undefined {
  for (const pair of (headers.get('cookie') ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || !pair.slice(0, eq).trim().startsWith('wordpress_logged_in_')) continue;
    const value = pair.slice(eq + 1).trim();
    let decoded = value;
    try {
      decoded = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // keep the raw value
    }
    const user = decoded.split('|', 1)[0];
    if (user) return user;
  }
  return basicAuthUser(headers);
}

function answer(door: Door, problem: UploadProblem, details: ProblemDetails): Response {
  switch (door) {
    case 'rest':
      return restError(problem);
    case 'admin-ajax':
      return ajaxError(problem, details);
    case 'async-upload':
      return isAjaxUpload(details) ? ajaxError(problem, details) : uploaderErrorDiv(problem, details);
    case 'media-new':
      return wpDiePage(problem);
    case 'xmlrpc':
      return xmlRpcFault(problem);
  }
}

function isAjaxUpload(details: ProblemDetails): boolean {
  return ajaxAction(details) === 'upload-attachment';
}

/** As async-upload.php answers the Media > Add New uploader: its handlers.js shows any `error-div`. */
function uploaderErrorDiv(problem: UploadProblem, details: ProblemDetails): Response {
  const html =
    '<div class="error-div error"><button type="button" class="dismiss button-link" ' +
    'onclick="jQuery(this).parents(\'div.media-item\').slideUp(200, function(){jQuery(this).remove();});">Dismiss</button> ' +
    `<strong>&#8220;${escapeHtml(details.filename ?? '')}&#8221; has failed to upload.</strong><br />${escapeHtml(problemMessage(problem))}</div>`;
  return new Response(html, { status: 200, headers: { 'content-type': 'text/plain; charset=UTF-8', ...NO_STORE } });
}

/** As the REST API reports any error: code, message, data.status. */
function restError(problem: UploadProblem): Response {
  const status = problemStatus(problem);
  const code = problem.kind === 'held' ? 'veil_upload_held' : `veil_${problem.error.code.toLowerCase()}`;
  const data: Record<string, unknown> = { status };
  if (problem.uploadId) data.upload_id = problem.uploadId;
  if (problem.kind === 'held') data.reference = problem.reference;
  return jsonResponse({ code, message: problemMessage(problem), data }, status, 'application/json; charset=UTF-8');
}

/** As wp_die() shows an error page (media-new.php calls it when media_handle_upload() fails). */
function wpDiePage(problem: UploadProblem): Response {
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
	<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
	<meta name="viewport" content="width=device-width">
	<meta name="robots" content="noindex, follow" />
	<title>WordPress &rsaquo; Error</title>
	<style type="text/css">
		html { background: #f1f1f1; }
		body { background: #fff; border: 1px solid #ccd0d4; color: #444; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Oxygen-Sans, Ubuntu, Cantarell, "Helvetica Neue", sans-serif; margin: 2em auto; padding: 1em 2em; max-width: 700px; box-shadow: 0 1px 1px rgba(0, 0, 0, .04); }
		#error-page { margin-top: 50px; }
		#error-page p, #error-page .wp-die-message { font-size: 14px; line-height: 1.5; margin: 25px 0 20px; }
	</style>
</head>
<body id="error-page">
	<div class="wp-die-message"><p>${escapeHtml(problemMessage(problem))}</p></div>
	<p><a href="javascript:history.back()">&laquo; Back</a></p>
</body>
</html>
`;
  return new Response(html, { status: problemStatus(problem), headers: { 'content-type': 'text/html; charset=utf-8', ...NO_STORE } });
}
