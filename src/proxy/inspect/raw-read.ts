import { IMAGE_SNIFF_BYTES, imageKind, type ImageKind } from './looks-like-image.js';
import { concatBytes } from './read-bounded.js';
import { imageTooLarge } from '../upload-errors.js';

export type RawBody =
  /** Not a picture: the body as it came, the sniffed bytes put back in front, still streaming. */
  | { kind: 'not-image'; body: ReadableStream<Uint8Array> }
  /** A picture, read whole (it is at most maxUploadBytes). */
  | { kind: 'image'; format: ImageKind; bytes: Uint8Array };

/**
 * Looks at the first bytes of a raw request body while it streams. Only a picture is read to the
 * end; anything else is handed on without waiting for the rest. Throws FILE_TOO_LARGE as soon as a
 * picture passes maxUploadBytes (or declares that it will).
 */
export async function sniffRawBody(
  body: ReadableStream<Uint8Array>,
  options: { maxUploadBytes: number; declaredLength?: number },
): Promise<RawBody> {
  const reader = body.getReader();
  const head: Uint8Array[] = [];
  let headLength = 0;
  let ended = false;
  try {
    while (headLength < IMAGE_SNIFF_BYTES) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      head.push(value);
      headLength += value.byteLength;
    }
    const format = imageKind(concatBytes(head, headLength));
    if (!format) return { kind: 'not-image', body: prepend(head, reader, ended) };

    if ((options.declaredLength ?? 0) > options.maxUploadBytes) throw imageTooLarge(options.maxUploadBytes);
    const chunks = head;
    let length = headLength;
    while (!ended) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.byteLength;
      if (length > options.maxUploadBytes) throw imageTooLarge(options.maxUploadBytes);
      chunks.push(value);
    }
    return { kind: 'image', format, bytes: concatBytes(chunks, length) };
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
}

function prepend(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>, ended: boolean): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (index < head.length) {
          controller.enqueue(head[index++]!);
          return;
        }
        if (ended) {
          controller.close();
          return;
        }
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
