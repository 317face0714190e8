import { decodedPath, isMultipartForm, jsonResponse, problemCode, problemMessage, problemStatus } from './answers.js';
import type { CmsAdapter, UploadProblem } from './types.js';

/*
 * Ghost admin uploads: POST /ghost/api/admin/images/upload/ (also media/ and files/, and the
 * versioned /ghost/api/v3/admin/... of older sites), multipart field `file`.
 */
const GHOST_UPLOAD = /\/ghost\/api\/(?:[^/]+\/)?admin\/(?:images|media|files)\/upload\/?$/;

export const ghostAdapter: CmsAdapter = {
  name: 'ghost',
  match(req, url) {
    if (req.method !== 'POST' || !GHOST_UPLOAD.test(decodedPath(url))) return undefined;
    return { body: isMultipartForm(req) ? 'multipart' : 'raw', respond: ghostError };
  },
};

/** Ghost's admin API error shape; the admin shows `errors[0].message`. */
function ghostError(problem: UploadProblem): Response {
  const status = problemStatus(problem);
  return jsonResponse(
    {
      errors: [
        {
          message: problemMessage(problem),
          context: null,
          type: ghostErrorType(status),
          details: null,
          property: null,
          help: null,
          code: problemCode(problem),
          id: problem.uploadId ?? null,
        },
      ],
    },
    status,
    'application/json; charset=utf-8',
  );
}

function ghostErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequestError';
    case 403:
      return 'NoPermissionError';
    case 413:
      return 'RequestEntityTooLargeError';
    case 415:
      return 'UnsupportedMediaTypeError';
    case 422:
      return 'ValidationError';
    default:
      return status >= 500 ? 'InternalServerError' : 'BadRequestError';
  }
}
