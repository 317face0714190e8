/**
 * Where a track's samples sit in the file: its chunk offsets (stco/co64), how many samples each
 * chunk holds (stsc) and their sizes (stsz/stz2). Veil needs this to move the movie index in
 * front of the media (every offset shifts), to check that no track points outside the media data,
 * and to blank the samples of tracks it drops (a phone's timed GPS track lives in mdat).
 */
import { child, type BoxNode, unreadable } from './video-boxes.js';

export interface ChunkTable {
  /** The stco or co64 box, patched in place when offsets move. */
  box: BoxNode;
  wide: boolean;
  offsets: number[];
  /** Bytes in each chunk (the sum of its samples' sizes). */
  lengths: number[];
}

export function chunkTable(stbl: BoxNode): ChunkTable | undefined {
  const co = child(stbl, 'stco') ?? child(stbl, 'co64');
  if (!co) return undefined;
  const wide = co.type === 'co64';
  const body = co.bytes.subarray(co.headerSize);
  const count = readCount(body, wide ? 8 : 4, 'chunk offsets');
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    offsets.push(wide ? Number(body.readBigUInt64BE(8 + i * 8)) : body.readUInt32BE(8 + i * 4));
  }
  return { box: co, wide, offsets, lengths: chunkLengths(stbl, count) };
}

/** Entry count at byte 4 of a full box's body, checked against the bytes that follow. */
function readCount(body: Buffer, entrySize: number, what: string, headerBytes = 8): number {
  if (body.length < headerBytes) throw unreadable(`a table of ${what} is cut short`);
  const count = body.readUInt32BE(4);
  if (count * entrySize > body.length - headerBytes) throw unreadable(`a table of ${what} claims more entries than it holds`);
  return count;
}

/** Sample sizes: one fixed size for all, or a table. */
function sampleSizes(stbl: BoxNode): { count: number; fixed: number; sizeOf: (i: number) => number } {
  const stsz = child(stbl, 'stsz');
  if (stsz) {
    const body = stsz.bytes.subarray(stsz.headerSize);
    if (body.length < 12) throw unreadable('a table of sample sizes is cut short');
    const fixed = body.readUInt32BE(4);
    const count = body.readUInt32BE(8);
    if (fixed !== 0) return { count, fixed, sizeOf: () => fixed };
    if (count * 4 > body.length - 12) throw unreadable('a table of sample sizes claims more entries than it holds');
    return { count, fixed, sizeOf: (i) => body.readUInt32BE(12 + i * 4) };
  }
  const stz2 = child(stbl, 'stz2');
  if (!stz2) throw unreadable('a track has no table of sample sizes');
  const body = stz2.bytes.subarray(stz2.headerSize);
  if (body.length < 12) throw unreadable('a table of sample sizes is cut short');
  const field = body.readUInt8(7);
  const count = body.readUInt32BE(8);
  if (![4, 8, 16].includes(field) || Math.ceil((count * field) / 8) > body.length - 12) throw unreadable('a table of sample sizes is damaged');
  return {
    count,
    fixed: 0,
    sizeOf: (i) => {
      if (field === 16) return body.readUInt16BE(12 + i * 2);
      if (field === 8) return body.readUInt8(12 + i);
      const byte = body.readUInt8(12 + (i >> 1));
      return i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    },
  };
}

function chunkLengths(stbl: BoxNode, chunks: number): number[] {
  const stsc = child(stbl, 'stsc');
  if (!stsc) throw unreadable('a track has no table of samples per chunk');
  const body = stsc.bytes.subarray(stsc.headerSize);
  const runs = readCount(body, 12, 'samples per chunk');
  const sizes = sampleSizes(stbl);
  const lengths: number[] = new Array<number>(chunks).fill(0);
  let sample = 0;
  for (let r = 0; r < runs; r++) {
    const first = body.readUInt32BE(8 + r * 12);
    const perChunk = body.readUInt32BE(12 + r * 12);
    const next = r + 1 < runs ? body.readUInt32BE(8 + (r + 1) * 12) : chunks + 1;
    if (first < 1 || next < first) throw unreadable('a table of samples per chunk is out of order');
    for (let c = first; c < next && c <= chunks; c++) {
      // Sizes are summed only over samples that exist, so a hostile count costs nothing.
      const n = Math.min(perChunk, sizes.count - sample);
      let length = 0;
      if (n > 0) {
        if (sizes.fixed !== 0) length = n * sizes.fixed;
        else for (let s = 0; s < n; s++) length += sizes.sizeOf(sample + s);
        sample += n;
      }
      lengths[c - 1] = length;
    }
  }
  return lengths;
}

/** Rewrites a table's offsets (a copy of the box, so the input's bytes stay untouched). */
export function patchOffsets(table: ChunkTable, moved: (offset: number) => number): void {
  const bytes = Buffer.from(table.box.bytes);
  const base = table.box.headerSize + 8;
  table.offsets.forEach((offset, i) => {
    const next = moved(offset);
    if (table.wide) bytes.writeBigUInt64BE(BigInt(next), base + i * 8);
    else {
      if (next > 0xffffffff) throw unreadable('its media would move beyond what its index can point to');
      bytes.writeUInt32BE(next, base + i * 4);
    }
  });
  table.box.bytes = bytes;
}
