/**
 * Metadata out of an MP4, MOV, M4V or 3GP without re-encoding: the movie index (moov) is rebuilt
 * from the boxes a player needs and nothing else, then written in front of the media data
 * (faststart), which is streamed from the input file unchanged except where a dropped track's
 * samples were (blanked: a phone's timed GPS or face-detection track lives there).
 *
 * Kept: ftyp, moov (mvhd, video and sound tracks with their sample tables), mdat.
 * Dropped: udta (©xyz, ©mak, ©mod, ©swr, ©day, loci...), meta/keys/ilst (Apple's
 * com.apple.quicktime.* keys), uuid boxes (XMP), every other track, padding and unknown boxes.
 * Zeroed: creation and modification times in mvhd, tkhd and mdhd.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { VeilError } from '../errors.js';
import { type BoxHeader, type BoxNode, child, looseChildren, parseTree, readTopLevelBoxes, serialize, serializedSize, unreadable } from './video-boxes.js';
import { chunkTable, patchOffsets, type ChunkTable } from './video-chunks.js';
import { findingForName, type VideoFinding } from './video-findings.js';

export interface Mp4Limits {
  /** The movie index is read into memory: larger ones are refused (a normal hour of video needs a few MB). */
  maxMoovBytes: number;
}

export interface Mp4StripResult {
  /** ftyp's major brand ("isom", "qt  ", "M4V ", "3gp4"), or undefined for an old QuickTime file without one. */
  brand: string | undefined;
  findings: Set<VideoFinding>;
  changes: string[];
  tracks: { video: number; sound: number };
}

const XMP_UUID = Buffer.from('be7acfcb97a942e89c71999491e3afac', 'hex');
const FRAGMENTED = new Set(['moof', 'mfra', 'sidx', 'styp', 'ssix']);
const PADDING = new Set(['free', 'skip', 'wide']);
const KEPT_HANDLERS = new Set(['vide', 'soun']);

/** The children each rebuilt container keeps: what players need, nothing that describes the person or device. */
const KEEP: Record<string, Set<string>> = {
  moov: new Set(['mvhd', 'trak', 'iods']),
  trak: new Set(['tkhd', 'tref', 'edts', 'mdia', 'tapt', 'load', 'trgr', 'txas', 'clip', 'matt', 'imap']),
  mdia: new Set(['mdhd', 'hdlr', 'minf', 'elng']),
  minf: new Set(['vmhd', 'smhd', 'hmhd', 'nmhd', 'gmhd', 'sthd', 'dinf', 'stbl', 'hdlr']),
  stbl: new Set(['stsd', 'stts', 'ctts', 'cslg', 'stss', 'stps', 'stsh', 'sdtp', 'stsc', 'stsz', 'stz2', 'stco', 'co64', 'padb', 'sbgp', 'sgpd', 'subs', 'saiz', 'saio', 'stdp']),
  dinf: new Set(['dref']),
  edts: new Set(['elst']),
};

export async function stripMp4(inputPath: string, outputPath: string, limits: Mp4Limits): Promise<Mp4StripResult> {
  const file = await open(inputPath, 'r');
  let top: BoxHeader[];
  let ftypBytes: Buffer = Buffer.alloc(0);
  let moovBytes: Buffer;
  try {
    const { size } = await file.stat();
    top = await readTopLevelBoxes(file, size);
    const ftyps = top.filter((b) => b.type === 'ftyp');
    const moovs = top.filter((b) => b.type === 'moov');
    if (ftyps.length > 1) throw unreadable('it declares its type more than once');
    if (moovs.length !== 1) throw unreadable(moovs.length === 0 ? 'it has no movie index (moov): the file looks truncated' : 'it has more than one movie index');
    if (top.some((b) => FRAGMENTED.has(b.type))) throw fragmented();
    if (!top.some((b) => b.type === 'mdat')) throw unreadable('it has no media data');
    const moov = moovs[0]!;
    if (moov.end - moov.start > limits.maxMoovBytes) {
      throw new VeilError('VIDEO_LIMIT', 'This video\'s index is far larger than a normal video\'s, so it was not published. Please export it again from the phone or editing app and try again.');
    }
    if (ftyps[0]) ftypBytes = await readRange(file, ftyps[0]);
    moovBytes = await readRange(file, moov);
    const findings = new Set<VideoFinding>();
    for (const box of top) {
      if (box.type === 'ftyp' || box.type === 'moov' || box.type === 'mdat' || PADDING.has(box.type)) continue;
      noteDropped({ type: box.type, bytes: await readRange(file, { ...box, end: Math.min(box.end, box.start + 64 * 1024) }), headerSize: box.headerSize }, findings);
    }
    return await rewrite({ inputPath, outputPath, top, ftypBytes, moovBytes, findings });
  } finally {
    await file.close();
  }
}

async function rewrite(job: { inputPath: string; outputPath: string; top: BoxHeader[]; ftypBytes: Buffer; moovBytes: Buffer; findings: Set<VideoFinding> }): Promise<Mp4StripResult> {
  const { top, ftypBytes, findings } = job;
  const moov = parseTree(job.moovBytes);
  const droppedTracks: BoxNode[] = [];
  rebuild(moov, findings, droppedTracks);
  const kept = moov.children!.filter((c) => c.type === 'trak');
  const tracks = { video: kept.filter((t) => handlerOf(t) === 'vide').length, sound: kept.filter((t) => handlerOf(t) === 'soun').length };
  if (kept.length === 0) throw new VeilError('VIDEO_UNSUPPORTED', 'This file holds no video or sound that Veil can keep, so it was not published.');

  // Faststart: ftyp, then the rebuilt index, then every media data box in its original order.
  const mdats = top.filter((b) => b.type === 'mdat');
  let position = ftypBytes.length + serializedSize(moov);
  const placed = mdats.map((box) => {
    const at = { box, newStart: position };
    position += box.end - box.start;
    return at;
  });
  const inMediaData = (offset: number, length: number) =>
    placed.find((p) => offset >= p.box.start + p.box.headerSize && offset + length <= p.box.end);

  for (const trak of kept) {
    const table = tableOf(trak);
    if (!table) throw unreadable('a track has no chunk offsets');
    table.offsets.forEach((offset, i) => {
      if (!inMediaData(offset, table.lengths[i]!)) throw unreadable('a track points outside the video\'s media data');
    });
    patchOffsets(table, (offset) => {
      const p = inMediaData(offset, 0)!;
      return offset - p.box.start + p.newStart;
    });
  }
  const blank: [number, number][] = [];
  for (const trak of droppedTracks) {
    const table = tableOf(trak);
    table?.offsets.forEach((offset, i) => {
      if (inMediaData(offset, table.lengths[i]!)) blank.push([offset, offset + table.lengths[i]!]);
    });
  }
  blank.sort((a, b) => a[0] - b[0]);

  const changes: string[] = [];
  const moovFirst = top.findIndex((b) => b.type === 'moov') < top.findIndex((b) => b.type === 'mdat');
  if (!moovFirst) changes.push('The video\'s index was moved to the front, so it starts playing before it has all downloaded.');
  if (droppedTracks.length > 0) changes.push(`${droppedTracks.length === 1 ? '1 data track' : `${droppedTracks.length} data tracks`} (not picture or sound) removed.`);

  const out = createWriteStream(job.outputPath);
  try {
    await write(out, ftypBytes);
    for (const part of serialize(moov)) await write(out, part);
    for (const { box } of placed) {
      const source = createReadStream(job.inputPath, { start: box.start, end: box.end - 1, highWaterMark: 1 << 20 });
      const ranges = blank.filter(([s, e]) => e > box.start && s < box.end);
      if (ranges.length > 0) await pipeline(source, blanker(box.start, ranges), out, { end: false });
      else await pipeline(source, out, { end: false });
    }
    out.end();
    await finished(out);
  } catch (err) {
    out.destroy();
    throw err;
  }
  return { brand: ftypBytes.length >= 12 ? ftypBytes.toString('latin1', 8, 12) : undefined, findings, changes, tracks };
}

/** Keeps only what players need, in place; notes what goes; zeroes the dates. */
function rebuild(box: BoxNode, findings: Set<VideoFinding>, droppedTracks: BoxNode[]): void {
  const keep = KEEP[box.type];
  if (!box.children || !keep) return;
  box.children = box.children.filter((c) => {
    if (c.type === 'mvex') throw fragmented();
    if (box.type === 'moov' && c.type === 'trak' && !KEPT_HANDLERS.has(handlerOf(c))) {
      droppedTracks.push(c);
      findings.add('timed metadata track');
      return false;
    }
    if (keep.has(c.type)) return true;
    noteDropped(c, findings);
    return false;
  });
  for (const c of box.children) {
    if (c.type === 'mvhd' || c.type === 'tkhd' || c.type === 'mdhd') zeroTimes(c, findings);
    if (c.type === 'dref') requireSelfContained(c);
    rebuild(c, findings, droppedTracks);
  }
}

/** Creation and modification times (seconds since 1904) say when and, with the time zone, roughly where. */
function zeroTimes(box: BoxNode, findings: Set<VideoFinding>): void {
  const at = box.headerSize;
  if (box.bytes.length < at + 4) throw unreadable('a header is cut short');
  const width = box.bytes[at] === 1 ? 16 : 8;
  if (box.bytes.length < at + 4 + width) throw unreadable('a header is cut short');
  const times = box.bytes.subarray(at + 4, at + 4 + width);
  if (times.some((b) => b !== 0)) findings.add('creation dates');
  times.fill(0);
}

/** Data references to other files would make the upload depend on, and reveal, files elsewhere. */
function requireSelfContained(dref: BoxNode): void {
  for (const entry of looseChildren(dref.bytes, dref.headerSize + 8)) {
    if (entry.body.length < 4 || (entry.body.readUInt32BE(0) & 1) === 0) {
      throw new VeilError('VIDEO_UNSUPPORTED', 'This video refers to media kept in other files, so it was not published. Please export it as one self-contained file and try again.');
    }
  }
}

function noteDropped(box: BoxNode, findings: Set<VideoFinding>): void {
  const body = box.bytes.subarray(box.headerSize);
  if (box.type === 'udta') {
    for (const item of looseChildren(box.bytes, box.headerSize)) {
      if (item.type === 'meta') noteMeta(item.body, findings);
      else findings.add(findingForName(item.type));
    }
  } else if (box.type === 'meta') noteMeta(body, findings);
  else if (box.type === 'uuid') findings.add(body.subarray(0, 16).equals(XMP_UUID) ? 'XMP' : 'other metadata');
  else if (!PADDING.has(box.type)) findings.add('other metadata');
}

/** ISO meta is a full box (4 bytes of version and flags first); QuickTime's is not. */
function noteMeta(body: Buffer, findings: Set<VideoFinding>): void {
  const full = body.length >= 12 && body.readUInt32BE(0) === 0 && body.toString('latin1', 8, 12) === 'hdlr';
  for (const item of looseChildren(body, full ? 4 : 0)) {
    if (item.type === 'hdlr' || PADDING.has(item.type)) continue;
    if (item.type === 'keys') {
      for (const key of looseChildren(item.body, 8)) findings.add(findingForName(key.body.toString('latin1')));
    } else if (item.type === 'ilst') {
      // Items named by key index (Apple's mdta) were covered by their keys.
      for (const entry of looseChildren(item.body, 0)) if (/^[\x20-\x7e\xa9]{4}$/.test(entry.type)) findings.add(findingForName(entry.type));
    } else if (item.type === 'XMP_' || item.type === 'xml ') findings.add('XMP');
    else findings.add(findingForName(item.type));
  }
}

function handlerOf(trak: BoxNode): string {
  const hdlr = child(child(trak, 'mdia') ?? trak, 'hdlr');
  if (!hdlr || hdlr.bytes.length < hdlr.headerSize + 12) return '';
  return hdlr.bytes.toString('latin1', hdlr.headerSize + 8, hdlr.headerSize + 12);
}

function tableOf(trak: BoxNode): ChunkTable | undefined {
  const stbl = child(child(child(trak, 'mdia') ?? trak, 'minf') ?? trak, 'stbl');
  return stbl ? chunkTable(stbl) : undefined;
}

function fragmented(): VeilError {
  return new VeilError('VIDEO_UNSUPPORTED', 'This video is stored in fragments (a streaming layout) that Veil does not rewrite yet, so it was not published. Please export it again as a regular MP4 or MOV and try again.');
}

async function readRange(file: Awaited<ReturnType<typeof open>>, box: { start: number; end: number }): Promise<Buffer> {
  const buf = Buffer.alloc(box.end - box.start);
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await file.read(buf, done, buf.length - done, box.start + done);
    if (bytesRead === 0) throw unreadable('the file ended early');
    done += bytesRead;
  }
  return buf;
}

function write(out: WriteStream, bytes: Buffer): Promise<void> {
  if (bytes.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    out.write(bytes, (err) => (err ? reject(err) : resolve()));
  });
}

/** Zeroes the given file ranges as the bytes stream past (the stream starts at file offset `from`). */
function blanker(from: number, ranges: [number, number][]): Transform {
  let position = from;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const end = position + chunk.length;
      for (const [s, e] of ranges) {
        if (e <= position || s >= end) continue;
        chunk.fill(0, Math.max(s, position) - position, Math.min(e, end) - position);
      }
      position = end;
      done(null, chunk);
    },
  });
}
