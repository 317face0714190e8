import { readMultipartForm, type MultipartFormOptions, type MultipartUpload } from './multipart-form.js';
import { diskSpoolFactory } from '../spool/spool-disk.js';

export { formBoundary, readMultipartForm, type FormPart, type MultipartFormOptions, type MultipartUpload } from './multipart-form.js';

export interface MultipartReadOptions extends Omit<MultipartFormOptions, 'spool'> {
  /** A private folder for the spool file (it may hold unsanitised photos). */
  spoolDir: string;
}

/** readMultipartForm with the body spooled to an unlinked file in `spoolDir` (Node). */
export function readMultipartUpload(body: ReadableStream<Uint8Array>, contentType: string, options: MultipartReadOptions): Promise<MultipartUpload> {
  const { spoolDir, ...rest } = options;
  return readMultipartForm(body, contentType, { ...rest, spool: diskSpoolFactory(spoolDir) });
}
