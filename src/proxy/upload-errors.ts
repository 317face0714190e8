import { VeilError } from '../pipeline/errors.js';
import { formatBytes } from '../pipeline/format-bytes.js';

/** Refusals the proxy itself makes, worded for the member of staff who was uploading. */

export function imageTooLarge(maxBytes: number): VeilError {
  return new VeilError(
    'FILE_TOO_LARGE',
    `This picture is larger than the ${formatBytes(maxBytes)} Veil accepts. Please make it smaller and upload it again.`,
  );
}

export function bodyTooLarge(maxBytes: number): VeilError {
  return new VeilError(
    'FILE_TOO_LARGE',
    `This upload is larger than the ${formatBytes(maxBytes)} Veil accepts in one request. Please upload fewer or smaller files at a time.`,
  );
}

export function unreadableForm(reason: string): VeilError {
  return new VeilError(
    'BAD_REQUEST',
    `Veil could not read this upload safely (${reason}), so it was stopped before reaching the website. Please try again from the website's own upload page.`,
  );
}

export function compressedBody(encoding: string): VeilError {
  return new VeilError(
    'UNSUPPORTED_FORMAT',
    `Veil cannot check uploads sent compressed (Content-Encoding: ${encoding}), so this one was stopped before reaching the website.`,
  );
}

/** A picture inside a request in a spelling Veil cannot rewrite in place (after padding, hex, entities...). */
export function hiddenPicture(): VeilError {
  return new VeilError(
    'HIDDEN_PICTURE',
    'This upload holds a picture written in a way Veil cannot safely rewrite, so it was stopped before reaching the website. Please add the picture with the website\'s own image upload instead of pasting it.',
  );
}
