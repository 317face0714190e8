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
import { VeilError } from '../../pipeline/errors.js';

/*
 * WordPress upload routes (paths matched as suffixes, so a site in a sub-folder works too):
 * - /wp-admin/async-upload.php: the media modal and the block editor's "Upload" button
 *   (multipart field `async-upload`, with `action=upload-attachment`), and the multi-file uploader
 *   on Media > Add New (same field, no action, `short=1`);
 * - /wp-admin/admin-ajax.php?action=upload-attachment: the same handler under another door;
 * - /wp-admin/media-new.php: the "browser uploader" fallback form (`html-upload`);
 * - REST: POST /wp-json/wp/v2/media or /?rest_route=/wp/v2/media, either the raw file with
 *   `Content-Disposition: attachment; filename=...` or multipart field `file` (block editor, apps);
 * - XML-RPC: /xmlrpc.php `wp.uploadFile` / `metaWeblog.newMediaObject` carry the file base64-encoded
 *   inside XML, where no picture check can see it: those calls are refused (other calls pass).
 */

type Door = 'async-upload' | 'admin-ajax' | 'media-new' | 'rest' | 'xmlrpc';

export const wordpressAdapter: CmsAdapter = {
  name: 'wordpress',
  match(req, url) {
    if (req.method !== 'POST') return undefined;
    const door = wordpressDoor(url);
    if (!door) return undefined;
    if (door === 'xmlrpc') {
      return { body: 'inspect', inspect: refuseXmlRpcUpload, user: wordpressUser(req.headers), respond: xmlRpcFault };
    }
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
  if (path.endsWith('/wp-admin/async-upload.php')) return 'async-upload';
  if (path.endsWith('/wp-admin/admin-ajax.php')) return 'admin-ajax';
  if (path.endsWith('/wp-admin/media-new.php')) return 'media-new';
  if (path.endsWith('/xmlrpc.php')) return 'xmlrpc';
  const route = url.searchParams.get('rest_route') ?? restRouteFromPath(path);
  // WordPress matches REST routes case-insensitively and ignores a trailing slash.
  if (route !== undefined && /^\/wp\/v2\/media\/?$/i.test(route)) return 'rest';
  return undefined;
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

/** An upload method called directly, or inside system.multicall. */
const XMLRPC_UPLOAD = /<methodName>\s*(?:wp\.uploadFile|metaWeblog\.newMediaObject)\s*<\/methodName>|<name>\s*methodName\s*<\/name>\s*<value>\s*(?:<string>)?\s*(?:wp\.uploadFile|metaWeblog\.newMediaObject)\s*</i;

function refuseXmlRpcUpload(body: Uint8Array): VeilError | undefined {
  if (!XMLRPC_UPLOAD.test(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1'))) return undefined;
  return new VeilError(
    'UNSUPPORTED_FORMAT',
    "Files cannot be uploaded through XML-RPC on this site, because Veil cannot check pictures sent that way. Please upload them in the website's media library.",
  );
}

/** As WordPress's XML-RPC server reports an error: HTTP 200 with a <fault>. */
function xmlRpcFault(problem: UploadProblem): Response {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse>\n  <fault>\n    <value>\n      <struct>\n' +
    `        <member>\n          <name>faultCode</name>\n          <value><int>${problemStatus(problem)}</int></value>\n        </member>\n` +
    `        <member>\n          <name>faultString</name>\n          <value><string>${escapeHtml(problemMessage(problem))}</string></value>\n        </member>\n` +
    '      </struct>\n    </value>\n  </fault>\n</methodResponse>\n';
  return new Response(xml, { status: 200, headers: { 'content-type': 'text/xml; charset=UTF-8', ...NO_STORE } });
}

function isAjaxUpload(details: ProblemDetails): boolean {
  return (details.fields.action ?? details.url.searchParams.get('action')) === 'upload-attachment';
}

/**
 * As wp_ajax_upload_attachment() answers a failed upload: HTTP 200, `text/plain`, and
 * `{"success":false,"data":{"message","filename"}}`. The media modal shows `message` next to the
 * filename (which it inserts as HTML, hence escaped as WordPress does); a non-200 would only show
 * Plupload's generic "HTTP error."
 */
function ajaxError(problem: UploadProblem, details: ProblemDetails): Response {
  const body = { success: false, data: { message: problemMessage(problem), filename: escapeHtml(details.filename ?? '') } };
  return jsonResponse(body, 200, 'text/plain; charset=UTF-8', { 'x-content-type-options': 'nosniff' });
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
