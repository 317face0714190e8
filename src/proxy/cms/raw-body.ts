import { basicAuthUser, genericAnswer } from './answers.js';
import type { CmsAdapter } from './types.js';

/*
 * Any other request with a body (POST, PUT, PATCH...): its first bytes are sniffed while it streams,
 * and only a picture is held back and sanitised. Covers REST-style binary uploads such as Drupal's
 * JSON:API file upload (POST /jsonapi/<entity>/<bundle>/<field>, `Content-Disposition: file;
 * filename=...`) and WebDAV PUT. Answers are plain text, or JSON for clients that accept JSON.
 */
export const rawBodyAdapter: CmsAdapter = {
  name: 'raw-body',
  match(req) {
    return { body: 'raw', user: basicAuthUser(req.headers), respond: genericAnswer };
  },
};
