import { VeilError } from '../../pipeline/errors.js';
import { looksLikeImage } from '../inspect/looks-like-image.js';
import { phpQueryStrings } from '../php-query.js';
import { decodedPath, jsonResponse, problemCode, problemMessage, problemStatus } from './answers.js';
import type { CmsAdapter, EmbeddedFiles, UploadProblem } from './types.js';

/*
 * Joomla 4 and 5 send pictures as base64 inside JSON, where no multipart or raw-body check sees
 * them, so without this adapter they would reach the site unsanitised:
 * - the media manager: POST (new file) or PUT (replace) administrator/index.php?option=com_media
 *   &task=api.files&path=<adapter>:<folder>, body {"name": "x.jpg", "content": "<base64>", ...};
 * - the web services API: POST api/index.php/v1/media/files, body {"path": "<adapter>:<folder>/x.jpg",
 *   "content": "<base64>"}, and PATCH .../media/files/<path> to replace one.
 * Joomla 3's media manager posts multipart forms, which the generic adapter already handles.
 */
const API_FILES = /\/api(?:\/index\.php)?\/v1\/media\/files(?:\/|$)/i;

type Door = 'media-manager' | 'api';

export const joomlaAdapter: CmsAdapter = {
  name: 'joomla',
  match(req, url) {
    const door = joomlaDoor(req.method, url);
    if (!door) return undefined;
    const creating = req.method === 'POST';
    return {
      body: 'embedded',
      embedded: (body) => findJsonImages(body, door, creating),
      respond: door === 'api' ? apiError : mediaManagerError,
    };
  },
};

function joomlaDoor(method: string, url: URL): Door | undefined {
  // As PHP reads the query (the last duplicate wins, "task.x" is "task_x"...), then Joomla's
  // "cmd" filter (only letters, digits, "_", "." and "-" kept) and lower-casing; any reading
  // that reaches the media manager counts.
  const query = (name: string, wanted: string) => phpQueryStrings(url, name).some((value) => joomlaCmd(value) === wanted);
  if ((method === 'POST' || method === 'PUT') && query('option', 'com_media') && query('task', 'api.files')) return 'media-manager';
  if ((method === 'POST' || method === 'PATCH') && API_FILES.test(decodedPath(url))) return 'api';
  return undefined;
}

/** Joomla's InputFilter "cmd", as getCmd('option') and the controller's task read a value. */
function joomlaCmd(value: string): string {
  return value.replace(/[^A-Z0-9_.-]/gi, '').replace(/^\.+/, '').toLowerCase();
}

/**
 * The picture in `content` (as PHP's base64_decode reads it: lenient, so Veil decodes the same
 * way); folders and non-picture files have no picture and go on unchanged.
 */
function findJsonImages(body: Uint8Array, door: Door, creating: boolean): EmbeddedFiles {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (err) {
    throw new VeilError('BAD_REQUEST', 'Veil could not read this upload: the request is not valid JSON.', { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return unchanged(body);
  const fields = json as Record<string, unknown>;
  const content = fields.content;
  if (typeof content !== 'string' || content.length === 0) return unchanged(body);
  const bytes = Buffer.from(content.replace(/^data:[^,]*,/, ''), 'base64');
  if (!looksLikeImage(bytes)) return unchanged(body);

  const pathField = typeof fields.path === 'string' ? fields.path : undefined;
  const filename = typeof fields.name === 'string' ? fields.name : pathField?.split('/').pop();
  return {
    images: [{ bytes, filename }],
    rebuild([sanitised]) {
      const out: Record<string, unknown> = { ...fields, content: Buffer.from(sanitised!.bytes).toString('base64') };
      // A new file takes Veil's name (its extension follows the published format); a replaced
      // file keeps the name the site already links to.
      if (creating && typeof fields.name === 'string') out.name = sanitised!.filename;
      if (creating && door === 'api' && pathField) out.path = `${pathField.slice(0, pathField.lastIndexOf('/') + 1)}${sanitised!.filename}`;
      return { body: new TextEncoder().encode(JSON.stringify(out)) };
    },
  };
}

/** A body with no picture in it: forwarded as it came. */
function unchanged(body: Uint8Array): EmbeddedFiles {
  return { images: [], rebuild: () => ({ body }) };
}

/** Joomla's JsonResponse `{success, message, messages, data}`: the media manager's error handler shows `message`. */
function mediaManagerError(problem: UploadProblem): Response {
  return jsonResponse({ success: false, message: problemMessage(problem), messages: null, data: null }, problemStatus(problem), 'application/json; charset=utf-8');
}

/** The web services API's JSON:API error document. */
function apiError(problem: UploadProblem): Response {
  const status = problemStatus(problem);
  return jsonResponse({ errors: [{ title: problemMessage(problem), code: status, veilCode: problemCode(problem), id: problem.uploadId ?? null }] }, status, 'application/vnd.api+json; charset=utf-8');
}
