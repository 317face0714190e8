import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { streamSegments, type Spool, type SpoolFactory, type SpoolSegment } from './spool.js';

/**
 * A private temporary file for a request body, so a 2 GB form costs disk, not memory (Node only).
 * The name is unlinked as soon as the file is open, so nothing is left behind even if the process
 * dies, and the unsanitised originals it may hold are never visible in the folder. Where the OS
 * refuses (Windows), the file is removed on close.
 */
export class DiskSpool implements Spool {
  size = 0;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly leftoverPath: string | undefined,
  ) {}

  static async create(dir: string): Promise<DiskSpool> {
    const file = path.join(dir, `veil-spool-${process.pid}-${randomBytes(8).toString('hex')}`);
    const handle = await open(file, 'wx+', 0o600);
    try {
      await unlink(file);
      return new DiskSpool(handle, undefined);
    } catch {
      return new DiskSpool(handle, file);
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

  stream(segments: SpoolSegment[]): ReadableStream<Uint8Array> {
    return streamSegments(this, segments);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close().catch(() => undefined);
    if (this.leftoverPath) await unlink(this.leftoverPath).catch(() => undefined);
  }
}

/** Spools in `dir` (a private folder: the files may hold unsanitised photos). */
export function diskSpoolFactory(dir: string): SpoolFactory {
  return () => DiskSpool.create(dir);
}
