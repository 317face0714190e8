/**
 * A request body that Veil must read twice (parse, then replay or rebuild). Where it is kept is
 * the entry point's choice: on Node an unlinked temporary file (`spool-disk.ts`), at the edge a
 * bounded buffer in memory (`spool-memory.ts`). This module imports nothing platform-specific.
 */

/** Literal bytes, or a byte range [start, end) of the spool. */
export type SpoolSegment = Uint8Array | { start: number; end: number };

export interface Spool {
  /** Bytes appended so far. */
  readonly size: number;
  append(chunk: Uint8Array): Promise<void>;
  read(start: number, end: number): Promise<Buffer>;
  /**
   * The segments in order as one stream, read as the consumer asks for more. The stream owns the
   * spool from then on: it is closed when the stream ends, fails or is cancelled.
   */
  stream(segments: SpoolSegment[]): ReadableStream<Uint8Array>;
  /** Releases what the spool holds; safe to call more than once. */
  close(): Promise<void>;
}

/** Opens a fresh, empty spool for one request body. */
export type SpoolFactory = () => Promise<Spool>;

const READ_CHUNK = 64 * 1024;

/** The stream behind Spool.stream, shared by every implementation. */
export function streamSegments(spool: Pick<Spool, 'read' | 'close'>, segments: SpoolSegment[]): ReadableStream<Uint8Array> {
  let index = 0;
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          while (index < segments.length) {
            const segment = segments[index]!;
            if (segment instanceof Uint8Array) {
              index++;
              if (segment.byteLength > 0) {
                controller.enqueue(segment);
                return;
              }
              continue;
            }
            const from = segment.start + offset;
            if (from >= segment.end) {
              index++;
              offset = 0;
              continue;
            }
            const to = Math.min(segment.end, from + READ_CHUNK);
            controller.enqueue(await spool.read(from, to));
            offset += to - from;
            return;
          }
          controller.close();
          await spool.close();
        } catch (err) {
          controller.error(err);
          await spool.close();
        }
      },
      async cancel() {
        await spool.close();
      },
    },
    { highWaterMark: 2 },
  );
}
