import { concatBytes } from './read-bounded.js';

export interface Peeked {
  /** At least `bytes` leading bytes (fewer only when the body is shorter). */
  head: Uint8Array;
  /** The head is the whole body. */
  ended: boolean;
  /** The whole body again, head included, still streaming. */
  body: ReadableStream<Uint8Array>;
}

/** Reads the first bytes of a body without losing them: the rest keeps streaming behind. */
export async function peekBody(body: ReadableStream<Uint8Array>, bytes: number): Promise<Peeked> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  try {
    while (length < bytes) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      chunks.push(value);
      length += value.byteLength;
    }
  } catch (err) {
    await reader.cancel().catch(() => undefined);
    throw err;
  }
  return { head: concatBytes(chunks, length), ended, body: prepend(chunks, reader, ended) };
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
