import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Literal bytes, or a byte range [start, end) of the spool. */
export type SpoolSegment = Uint8Array | { start: number; end: number };

const READ_CHUNK = 64 * 1024;

/**
 * A private temporary file for a request body that Veil must read twice (parse, then replay or
 * rebuild) without holding it in memory. The name is unlinked as soon as the file is open, so
 * nothing is left behind even if the process dies, and the unsanitised originals it may hold are
 * never visible in the folder. Where the OS refuses (Windows), the file is removed on close.
 */
export class Spool {
  size = 0;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly leftoverPath: string | undefined,
  ) {}

  static async create(dir: string): Promise<Spool> {
    const file = path.join(dir, `veil-spool-${process.pid}-${randomBytes(8).toString('hex')}`);
    const handle = await open(file, 'wx+', 0o600);
    try {
      await unlink(file);
      return new Spool(handle, undefined);
    } catch {
      return new Spool(handle, file);
    }
  }

  async append(chunk: Uint8Array): Promise<void> {
    let written = 0;
    while (written < chunk.byteLength) {
      const { bytesWritten } = await this.handle.write(chunk, written, chunk.byteLength - written, this.size + written);
      written += bytesWritten;
    }
    this.size += chunk.byteLength;
  }

  async read(start: number, end: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(end - start);
    let filled = 0;
    while (filled < out.length) {
      const { bytesRead } = await this.handle.read(out, filled, out.length - filled, start + filled);
      if (bytesRead === 0) throw new Error('The spooled request body is shorter than expected.');
      filled += bytesRead;
    }
    return out;
  }

  /**
   * The segments in order as one stream, read from disk as the consumer asks for more. The stream
   * owns the spool from then on: it is closed when the stream ends, fails or is cancelled.
   */
  stream(segments: SpoolSegment[]): ReadableStream<Uint8Array> {
    let index = 0;
    let offset = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
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
              controller.enqueue(await this.read(from, to));
              offset += to - from;
              return;
            }
            controller.close();
            await this.close();
          } catch (err) {
            controller.error(err);
            await this.close();
          }
        },
        cancel: async () => {
          await this.close();
        },
      },
      { highWaterMark: 2 },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
    if (this.leftoverPath) await unlink(this.leftoverPath).catch(() => undefined);
  }
}
