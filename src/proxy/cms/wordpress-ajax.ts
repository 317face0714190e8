import { findEmbeddedImages, replaceEmbeddedImages } from '../inspect/embedded-images.js';
import { imageKind } from '../inspect/looks-like-image.js';
import { parsePhpQuery, phpQueryStrings } from '../php-query.js';
import { escapeHtml, jsonResponse, problemMessage } from './answers.js';
import { picturesInForm } from './form-body.js';
import type { EmbeddedFiles, ProblemDetails, UploadMatch, UploadProblem } from './types.js';

/*
 * WordPress's admin-ajax.php with a body that is not a multipart form (those are uploads, handled
 * as such in wordpress.ts). What a user pastes reaches WordPress this way: the heartbeat's
 * autosave (`data[wp_autosave][content]` holding the post's HTML, data: pictures and all), page
 * builders saving their layout as JSON inside a form field (Elementor's `actions`), the image
 * editor (`action=image-editor`). Pictures inside are sanitised in place; a refusal is answered
 * in the shape the calling script shows to the user.
 */

/** As PHP's SAPI reads the type: case-insensitive, up to the first ";", "," or space. */
const FORM = /^\s*application\/x-www-form-urlencoded(?:[;, \t]|$)/i;

export function adminAjaxMatch(req: Request, url: URL, user: string | undefined): UploadMatch {
  const form = FORM.test(req.headers.get('content-type') ?? '');
  // WordPress reads $_REQUEST['action']: the body's (POST) before the query's.
  let bodyAction: string | undefined;
  return {
    body: 'embedded',
    user,
    embedded(body) {
      if (form) bodyAction = parsePhpQuery(Buffer.from(body).toString('latin1')).string('action');
      return wholeBodyPicture(body) ?? (form ? picturesInForm(body) : picturesInText(body));
    },
    respond: (problem, details) => ajaxAnswer(bodyAction ?? ajaxAction(details), problem, details),
  };
}

/** The `action` WordPress dispatches on, from what the answer knows (multipart fields, then the query). */
export function ajaxAction(details: ProblemDetails): string | undefined {
  const queried = phpQueryStrings(details.url, 'action');
  return details.fields.action ?? queried[0];
}

function ajaxAnswer(action: string | undefined, problem: UploadProblem, details: ProblemDetails): Response {
  const message = problemMessage(problem);
  switch (action) {
    case 'upload-attachment':
      return ajaxError(problem, details);
    case 'heartbeat':
      // autosave.js shows wp_autosave.message where it reports "Draft saved" or a failed save.
      return jsonResponse({ wp_autosave: { success: false, message }, server_time: Math.floor(Date.now() / 1000) }, 200, 'application/json; charset=UTF-8');
    case 'image-editor':
      // image-edit.js shows data.error (saving) or data.message.error (other steps).
      return jsonResponse({ success: false, data: { error: message, message: { error: message } } }, 200, 'application/json; charset=UTF-8');
    default:
      // wp_send_json_error(): what most admin-ajax callers check.
      return jsonResponse({ success: false, data: { message } }, 200, 'application/json; charset=UTF-8');
  }
}

/**
 * As wp_ajax_upload_attachment() answers a failed upload: HTTP 200, `text/plain`, and
 * `{"success":false,"data":{"message","filename"}}`. The media modal shows `message` next to the
 * filename (which it inserts as HTML, hence escaped as WordPress does); a non-200 would only show
 * Plupload's generic "HTTP error."
 */
export function ajaxError(problem: UploadProblem, details: ProblemDetails): Response {
  const body = { success: false, data: { message: problemMessage(problem), filename: escapeHtml(details.filename ?? '') } };
  return jsonResponse(body, 200, 'text/plain; charset=UTF-8', { 'x-content-type-options': 'nosniff' });
}

/** A body that is itself a picture (sent with a form's type): sanitised whole. */
function wholeBodyPicture(body: Uint8Array): EmbeddedFiles | undefined {
  if (!imageKind(body.subarray(0, 4096))) return undefined;
  return { images: [{ bytes: body }], rebuild: ([sanitised]) => ({ body: sanitised!.bytes, contentType: sanitised!.contentType }) };
}

function picturesInText(body: Uint8Array): EmbeddedFiles {
  const found = findEmbeddedImages(body);
  return { images: found.map((image) => ({ bytes: image.bytes })), rebuild: (sanitised) => ({ body: replaceEmbeddedImages(body, found, sanitised) }) };
}
