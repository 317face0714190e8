import { basicAuthUser, genericAnswer, isMultipartForm } from './answers.js';
import type { CmsAdapter } from './types.js';

/*
 * Any multipart/form-data request not claimed by a CMS-specific adapter: every file part whose
 * bytes are a picture is sanitised. This is how Drupal, Joomla's form uploads and Moodle are covered:
 * - Drupal: /file/ajax/... and /node/add/..., /node/<id>/edit (`files[field_image_0]`),
 *   /media/add/image;
 * - Joomla: /administrator/index.php?option=com_media&task=file.upload (classic form upload);
 * - Moodle: /repository/repository_ajax.php?action=upload (`repo_upload_file`), /draftfile.php.
 * Answers are plain text, or JSON for clients that accept JSON.
 */
export const multipartAdapter: CmsAdapter = {
  name: 'multipart',
  match(req) {
    if (!isMultipartForm(req)) return undefined;
    return { body: 'multipart', user: basicAuthUser(req.headers), respond: genericAnswer };
  },
};
