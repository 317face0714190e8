import { VeilError } from '../pipeline/errors.js';

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

export function formatBytes(bytes: number): string {
  const units: Array<[number, string]> = [
    [1024 ** 3, 'GB'],
    [1024 ** 2, 'MB'],
    [1024, 'KB'],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size) return `${+(bytes / size).toFixed(1)} ${unit}`;
  }
  return `${bytes} bytes`;
}
