import { streamSegments, type Spool, type SpoolFactory, type SpoolSegment } from './spool.js';
import { bodyTooLarge } from '../upload-errors.js';

/**
 * A request body kept in memory, for platforms without a private disk (Cloudflare Workers). It is
 * bounded: past `maxBytes` an append is refused with FILE_TOO_LARGE, so one request cannot take
 * more than the limit the site configured. Chunks are kept as they arrived, not copied.
 */
export class MemorySpool implements Spool {
  size = 0;
  private chunks: Uint8Array[] = [];
  /** Offset of each chunk's first byte, for finding a range without walking every chunk. */
  private starts: number[] = [];

  constructor(private readonly maxBytes: number) {}

  async append(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    if (this.size + chunk.byteLength > this.maxBytes) throw bodyTooLarge(this.maxBytes);
    this.starts.push(this.size);
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  async read(start: number, end: number): Promise<Buffer> {
    if (start < 0 || end > this.size || start > end) throw new Error('The spooled request body is shorter than expected.');
    const out = Buffer.allocUnsafe(end - start);
    let at = this.chunkAt(start);
    let filled = 0;
    while (filled < out.length) {
      const chunk = this.chunks[at]!;
      const from = start + filled - this.starts[at]!;
      const take = Math.min(chunk.byteLength - from, out.length - filled);
      out.set(chunk.subarray(from, from + take), filled);
      filled += take;
      at++;
    }
    return out;
  }

  stream(segments: SpoolSegment[]): ReadableStream<Uint8Array> {
    return streamSegments(this, segments);
  }

  async close(): Promise<void> {
    this.chunks = [];
    this.starts = [];
  }

  /** Index of the chunk holding byte `offset` (binary search over the start offsets). */
  private chunkAt(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }
}

export function memorySpoolFactory(maxBytes: number): SpoolFactory {
  return async () => new MemorySpool(maxBytes);
}
