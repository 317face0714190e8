import { basicAuthUser, genericAnswer } from './answers.js';
import type { CmsAdapter } from './types.js';

/*
 * Any other request with a body (POST, PUT, PATCH...), judged by what its bytes are (intercept.ts):
 * a picture is sanitised, text is searched for pictures, documents and videos are looked inside,
 * other binary streams on through a check for picture signatures. Covers REST-style binary uploads such as Drupal's
 * JSON:API file upload (POST /jsonapi/<entity>/<bundle>/<field>, `Content-Disposition: file;
 * filename=...`) and WebDAV PUT. Answers are plain text, or JSON for clients that accept JSON.
 */
export const rawBodyAdapter: CmsAdapter = {
  name: 'raw-body',
  match(req) {
    return { body: 'raw', user: basicAuthUser(req.headers), respond: genericAnswer };
  },
};
