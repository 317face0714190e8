/**
 * Reading ISO-BMFF (MP4, MOV, M4V, 3GP) box headers, strictly: every box must fit inside its
 * parent, sizes only ever move forward, nesting and counts are bounded. A file that breaks any of
 * these (truncated, overlapping, looping or oversized boxes) is refused before anything is copied.
 */
import type { FileHandle } from 'node:fs/promises';
import { VeilError } from '../errors.js';

export interface BoxHeader {
  type: string;
  /** Offset of the box's first byte (in the file, or in the buffer it was read from). */
  start: number;
  headerSize: number;
  /** Offset just past the box. */
  end: number;
}

/** A box read into memory (inside moov), with its children when it is a container Veil rewrites. */
export interface BoxNode {
  type: string;
  /** The whole box, header included; replaced by a patched copy where Veil changes a field. */
  bytes: Buffer;
  headerSize: number;
  children?: BoxNode[];
}

export const MAX_TOP_LEVEL_BOXES = 4096;
export const MAX_BOXES_IN_MOOV = 200_000;
export const MAX_BOX_DEPTH = 12;

export function unreadable(why: string): VeilError {
  return new VeilError(
    'VIDEO_UNREADABLE',
    `This video could not be read safely (${why}), so it was not published. Please export it again from the phone or editing app and try again.`,
  );
}

/**
 * The header of the box at `at`, given `available` bytes left in its parent. `absolute` is where
 * `at` sits in the file, so the box's start and end are file offsets. Size 0 ("to the end") is
 * allowed only where `toEndAllowed` (the last top-level box).
 */
export function boxAt(buf: Buffer, at: number, available: number, absolute: number, toEndAllowed: boolean): BoxHeader {
  if (available < 8 || buf.length - at < 8) throw unreadable('it ends in the middle of a part: the file looks truncated');
  const size32 = buf.readUInt32BE(at);
  const type = buf.toString('latin1', at + 4, at + 8);
  let size: number;
  let headerSize = 8;
  if (size32 === 1) {
    if (available < 16 || buf.length - at < 16) throw unreadable('it ends in the middle of a part: the file looks truncated');
    const big = buf.readBigUInt64BE(at + 8);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable(`a part claims to be larger than the file`);
    size = Number(big);
    headerSize = 16;
  } else if (size32 === 0) {
    if (!toEndAllowed) throw unreadable('a part has no size');
    size = available;
  } else {
    size = size32;
  }
  if (size < headerSize) throw unreadable('a part has an impossible size (smaller than its own header), which would make a reader loop');
  if (size > available) throw unreadable('a part claims to be larger than the file, or than the part that holds it: the file is truncated or damaged');
  return { type, start: absolute, headerSize, end: absolute + size };
}

/** The top-level boxes of a file, read header by header (the payloads are never loaded). */
export async function readTopLevelBoxes(file: FileHandle, fileSize: number): Promise<BoxHeader[]> {
  const boxes: BoxHeader[] = [];
  const head = Buffer.alloc(16);
  let pos = 0;
  while (pos < fileSize) {
    if (boxes.length >= MAX_TOP_LEVEL_BOXES) throw unreadable('it has far too many top-level parts');
    const want = Math.min(16, fileSize - pos);
    const { bytesRead } = await file.read(head, 0, want, pos);
    const box = boxAt(head.subarray(0, bytesRead), 0, fileSize - pos, pos, true);
    if (!/^[\x20-\x7e]{4}$/.test(box.type)) throw unreadable('a top-level part has no valid name');
    boxes.push(box);
    pos = box.end;
  }
  return boxes;
}

/** Boxes whose children Veil reads; the rest are kept, or dropped, whole. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf', 'mvex', 'moof', 'traf']);

/** Parses a moov (or any container) held in memory into a tree, bounded in depth and box count. */
export function parseTree(bytes: Buffer): BoxNode {
  const budget = { boxes: 0 };
  const top = boxAt(bytes, 0, bytes.length, 0, false);
  if (top.end !== bytes.length) throw unreadable('the movie index does not match its stated size');
  return node(bytes, top, 0, budget);
}

function node(buf: Buffer, header: BoxHeader, depth: number, budget: { boxes: number }): BoxNode {
  const bytes = buf.subarray(header.start, header.end);
  const result: BoxNode = { type: header.type, bytes, headerSize: header.headerSize };
  if (!CONTAINERS.has(header.type)) return result;
  if (depth >= MAX_BOX_DEPTH) throw unreadable('its parts are nested far too deep');
  result.children = [];
  let pos = header.headerSize;
  while (pos < bytes.length) {
    const left = bytes.length - pos;
    // QuickTime writers may end a container with a 32-bit zero terminator.
    if (left === 4 && bytes.readUInt32BE(pos) === 0) break;
    if (++budget.boxes > MAX_BOXES_IN_MOOV) throw unreadable('its movie index has far too many parts');
    const child = boxAt(bytes, pos, left, pos, false);
    result.children.push(node(bytes, child, depth + 1, budget));
    pos = child.end;
  }
  return result;
}

/** Children of a box, read leniently: for boxes Veil drops anyway and only looks into to report. */
export function looseChildren(bytes: Buffer, from: number): { type: string; body: Buffer }[] {
  const found: { type: string; body: Buffer }[] = [];
  let pos = from;
  while (pos + 8 <= bytes.length && found.length < 10_000) {
    const size = bytes.readUInt32BE(pos);
    if (size < 8 || pos + size > bytes.length) break;
    found.push({ type: bytes.toString('latin1', pos + 4, pos + 8), body: bytes.subarray(pos + 8, pos + size) });
    pos += size;
  }
  return found;
}

/** A box header for `bodyLength` bytes of payload. */
export function boxHeader(type: string, bodyLength: number): Buffer {
  const total = bodyLength + 8;
  if (total <= 0xffffffff) {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(total, 0);
    header.write(type, 4, 'latin1');
    return header;
  }
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0);
  header.write(type, 4, 'latin1');
  header.writeBigUInt64BE(BigInt(bodyLength + 16), 8);
  return header;
}

export function serializedSize(box: BoxNode): number {
  if (!box.children) return box.bytes.length;
  const body = box.children.reduce((sum, child) => sum + serializedSize(child), 0);
  return body + (body + 8 <= 0xffffffff ? 8 : 16);
}

export function serialize(box: BoxNode, out: Buffer[] = []): Buffer[] {
  if (!box.children) {
    out.push(box.bytes);
    return out;
  }
  const body = box.children.reduce((sum, child) => sum + serializedSize(child), 0);
  out.push(boxHeader(box.type, body));
  for (const child of box.children) serialize(child, out);
  return out;
}

export function child(box: BoxNode, type: string): BoxNode | undefined {
  return box.children?.find((c) => c.type === type);
}
