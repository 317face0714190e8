import { concatBytes } from './read-bounded.js';
import { imageTooLarge } from '../upload-errors.js';

/**
 * A body already known to be a picture, read to its end. Throws FILE_TOO_LARGE as soon as it
 * passes maxUploadBytes (or declares that it will), before the rest is read.
 */
export async function readPicture(body: ReadableStream<Uint8Array>, options: { maxUploadBytes: number; declaredLength?: number }): Promise<Uint8Array> {
  if ((options.declaredLength ?? 0) > options.maxUploadBytes) {
    await body.cancel().catch(() => undefined);
    throw imageTooLarge(options.maxUploadBytes);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.byteLength;
      if (length > options.maxUploadBytes) throw imageTooLarge(options.maxUploadBytes);
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  return concatBytes(chunks, length);
}
