/**
 * Reading and writing ZIP archives (and so DOCX, PPTX, XLSX, ODT...) without trusting them.
 *
 * Written on node:zlib rather than a ZIP library on purpose: the checks that matter (local and
 * central headers that disagree, entries that overlap, a second end record, ZIP64 fields, Unix
 * links) need the raw structure that libraries hide or "repair", and `inflateRawSync` with
 * `maxOutputLength` bounds every entry's memory to what its header declared. Nothing here
 * extracts to disk; names are only checked, and the archive Veil writes carries no extra fields,
 * times or permissions of the original.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { VeilError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';

export interface ArchiveLimits {
  /** Most entries an archive may list. */
  maxEntries: number;
  /** Most bytes all entries may unpack to, together. */
  maxTotalBytes: number;
  /** Largest unpacked-to-packed ratio for an entry larger than `ratioFloorBytes`. */
  maxRatio: number;
  /** Entries smaller than this unpacked are never refused for their ratio (XML packs very well). */
  ratioFloorBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 5_000,
  maxTotalBytes: 512 * 1024 * 1024,
  maxRatio: 200,
  ratioFloorBytes: 1024 * 1024,
};

export interface ZipEntry {
  /** The name as written, decoded (UTF-8 when flagged, else byte for byte). */
  name: string;
  isDirectory: boolean;
  method: 'stored' | 'deflated';
  compressedSize: number;
  size: number;
  /** The entry's bytes, unpacked and checked against the declared size and CRC. */
  read(): Buffer;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const END_SIZE = 22;

const unsafe = (why: string) => new VeilError('ARCHIVE_UNSAFE', `This archive cannot be accepted: ${why}.`);
const corrupt = (why: string) =>
  new VeilError('CORRUPT_ARCHIVE', `This archive is damaged or incomplete (${why}). Save or zip it again and upload the new file.`);

/** Lists an archive's entries after every structural check; nothing is unpacked yet. */
export function readZip(bytes: Uint8Array, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): ZipEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const endAt = findEnd(buf);
  if (endAt >= 20 && buf.readUInt32LE(endAt - 20) === SIG_ZIP64_LOCATOR) throw unsafe('it uses ZIP64 records, which Veil does not accept');
  const disk = buf.readUInt16LE(endAt + 4);
  const cdDisk = buf.readUInt16LE(endAt + 6);
  const countHere = buf.readUInt16LE(endAt + 8);
  const count = buf.readUInt16LE(endAt + 10);
  const cdSize = buf.readUInt32LE(endAt + 12);
  const cdOffset = buf.readUInt32LE(endAt + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw unsafe('it uses ZIP64 records, which Veil does not accept');
  if (disk !== 0 || cdDisk !== 0 || countHere !== count) throw unsafe('it is split over several files');
  if (count > limits.maxEntries) throw unsafe(`it lists ${count} entries; the most accepted is ${limits.maxEntries}`);
  // The directory must end exactly where the end record starts: data before or after would be
  // read differently by different unpackers.
  if (cdOffset + cdSize !== endAt) throw corrupt('its table of contents is not where its end record says');

  const entries: ZipEntry[] = [];
  const spans: [number, number][] = [];
  const seen = new Set<string>();
  let total = 0;
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > endAt || buf.readUInt32LE(at) !== SIG_CENTRAL) throw corrupt('an entry in its table of contents is cut short');
    const madeBy = buf.readUInt16LE(at + 4);
    const flags = buf.readUInt16LE(at + 8);
    const methodCode = buf.readUInt16LE(at + 10);
    const crc = buf.readUInt32LE(at + 16);
    const compressedSize = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    const startDisk = buf.readUInt16LE(at + 34);
    const externalAttributes = buf.readUInt32LE(at + 38);
    const localOffset = buf.readUInt32LE(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > endAt) throw corrupt('an entry in its table of contents is cut short');
    const rawName = buf.subarray(at + 46, at + 46 + nameLength);
    const extra = buf.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    at = next;

    const name = decodeName(rawName, (flags & 0x0800) !== 0);
    checkName(name);
    if (flags & 0x0001 || flags & 0x0040 || flags & 0x2000 || methodCode === 99 || hasExtra(extra, 0x9901)) {
      throw new VeilError('ARCHIVE_ENCRYPTED', 'This archive has password-protected files in it, so Veil cannot check what they show. Remove the password and upload it again.');
    }
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff || startDisk === 0xffff || hasExtra(extra, 0x0001)) {
      throw unsafe('it uses ZIP64 records, which Veil does not accept');
    }
    if (methodCode !== 0 && methodCode !== 8) throw unsafe(`an entry is packed with a method Veil does not read (method ${methodCode}); use ordinary ZIP compression`);
    const unixMode = madeBy >> 8 === 3 ? externalAttributes >>> 16 : 0;
    const fileType = unixMode & 0o170000;
    if (fileType === 0o120000) throw unsafe('it contains a symbolic link, which could point outside the folder it is unpacked in');
    if (fileType !== 0 && fileType !== 0o100000 && fileType !== 0o040000) throw unsafe('it contains a special file (a device or pipe)');

    const key = name.replace(/\\/g, '/').replace(/\/+$/, '').normalize('NFC').toLowerCase();
    if (seen.has(key)) throw unsafe('two entries have the same name, so unpackers disagree about which one you get');
    seen.add(key);

    const isDirectory = name.endsWith('/');
    if (isDirectory && size !== 0) throw unsafe('a folder entry carries data');
    if (methodCode === 0 && compressedSize !== size) throw corrupt('a stored entry declares two different sizes');
    total += size;
    if (total > limits.maxTotalBytes) throw unsafe(`its files unpack to more than ${formatBytes(limits.maxTotalBytes)} (a "zip bomb")`);
    if (size > limits.ratioFloorBytes && size / Math.max(1, compressedSize) > limits.maxRatio) {
      throw unsafe(`an entry unpacks to ${Math.round(size / Math.max(1, compressedSize))} times its packed size (a "zip bomb")`);
    }

    const dataStart = checkLocalHeader(buf, localOffset, rawName, { flags, methodCode, crc, compressedSize, size }, cdOffset);
    let dataEnd = dataStart + compressedSize;
    if (dataEnd > cdOffset) throw corrupt('an entry runs into the table of contents');
    if (flags & 0x0008) dataEnd += dataDescriptorLength(buf, dataEnd, cdOffset);
    spans.push([localOffset, dataEnd]);

    const method = methodCode === 8 ? 'deflated' : 'stored';
    entries.push({
      name,
      isDirectory,
      method,
      compressedSize,
      size,
      read: () => unpack(buf.subarray(dataStart, dataStart + compressedSize), method, size, crc),
    });
  }
  if (at !== endAt) throw corrupt('its table of contents has data it does not describe');
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw unsafe('two entries share the same bytes (overlapping entries, a known zip-bomb trick)');
  }
  return entries;
}

/** The end record: it must be found exactly once, and its comment must end the file. */
function findEnd(buf: Buffer): number {
  if (buf.length < END_SIZE) throw corrupt('it is too short to be a ZIP archive');
  const lowest = Math.max(0, buf.length - END_SIZE - 0xffff);
  for (let at = buf.length - END_SIZE; at >= lowest; at--) {
    if (buf.readUInt32LE(at) !== SIG_END) continue;
    if (!endsTheFile(buf, at)) continue;
    // A second record that would also end the file (one hidden in front of a comment that holds
    // the other) makes the archive mean different things to different unpackers.
    for (let other = at - 1; other >= lowest; other--) {
      if (buf.readUInt32LE(other) === SIG_END && endsTheFile(buf, other)) throw unsafe('it has two end records (two archives in one file)');
    }
    return at;
  }
  throw corrupt('its end record is missing, so it was probably cut short');
}

function endsTheFile(buf: Buffer, at: number): boolean {
  return at + END_SIZE + buf.readUInt16LE(at + 20) === buf.length;
}

interface Declared {
  flags: number;
  methodCode: number;
  crc: number;
  compressedSize: number;
  size: number;
}

/** The local header must agree with the central one: a reader that streams sees only the local. */
function checkLocalHeader(buf: Buffer, offset: number, rawName: Buffer, declared: Declared, limit: number): number {
  if (offset + 30 > limit || buf.readUInt32LE(offset) !== SIG_LOCAL) throw corrupt('an entry is not where the table of contents says');
  const flags = buf.readUInt16LE(offset + 6);
  const methodCode = buf.readUInt16LE(offset + 8);
  const nameLength = buf.readUInt16LE(offset + 26);
  const extraLength = buf.readUInt16LE(offset + 28);
  const dataStart = offset + 30 + nameLength + extraLength;
  if (dataStart > limit) throw corrupt('an entry is cut short');
  if (!buf.subarray(offset + 30, offset + 30 + nameLength).equals(rawName)) throw unsafe('an entry has one name in its header and another in the table of contents');
  if ((flags & 0x0001) !== (declared.flags & 0x0001) || methodCode !== declared.methodCode) throw unsafe('an entry is described two different ways');
  if (hasExtra(buf.subarray(offset + 30 + nameLength, dataStart), 0x0001)) throw unsafe('it uses ZIP64 records, which Veil does not accept');
  if (!(flags & 0x0008)) {
    const crc = buf.readUInt32LE(offset + 14);
    const compressedSize = buf.readUInt32LE(offset + 18);
    const size = buf.readUInt32LE(offset + 22);
    if (crc !== declared.crc || compressedSize !== declared.compressedSize || size !== declared.size) throw unsafe('an entry is described two different ways');
  }
  return dataStart;
}

/** A data descriptor (after the data) is 12 or 16 bytes: with or without its optional signature. */
function dataDescriptorLength(buf: Buffer, at: number, limit: number): number {
  const length = at + 4 <= limit && buf.readUInt32LE(at) === 0x08074b50 ? 16 : 12;
  if (at + length > limit) throw corrupt('an entry is cut short');
  return length;
}

function unpack(data: Buffer, method: 'stored' | 'deflated', size: number, crc: number): Buffer {
  let out: Buffer;
  if (method === 'stored') {
    out = Buffer.from(data);
  } else {
    try {
      // One byte more than declared, so an entry that lies about its size is caught, not truncated.
      out = inflateRawSync(data, { maxOutputLength: Math.max(1, size + 1) });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw unsafe('an entry unpacks to more than it declares (a "zip bomb")');
      throw corrupt('an entry cannot be unpacked');
    }
  }
  if (out.length !== size) throw out.length > size ? unsafe('an entry unpacks to more than it declares (a "zip bomb")') : corrupt('an entry is shorter than it declares');
  if (crc32(out) !== crc) throw corrupt('an entry fails its checksum');
  return out;
}

function hasExtra(extra: Buffer, id: number): boolean {
  for (let at = 0; at + 4 <= extra.length; ) {
    if (extra.readUInt16LE(at) === id) return true;
    at += 4 + extra.readUInt16LE(at + 2);
  }
  return false;
}

function decodeName(raw: Buffer, utf8: boolean): string {
  if (utf8) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw unsafe('an entry name is not valid text');
    }
  }
  // Old archivers write their code page; every character that matters to a path is ASCII.
  return raw.toString('latin1');
}

/** Names that would land outside the folder they are unpacked in, or mean different things on different systems. */
function checkName(name: string): void {
  if (name.length === 0) throw unsafe('an entry has no name');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw unsafe('an entry name contains control characters');
  if (/^[/\\]/.test(name) || /^[a-z]:/i.test(name)) throw unsafe('an entry has an absolute path, which would unpack outside its folder');
  const segments = name.split(/[/\\]/);
  if (segments.some((s) => s === '..')) throw unsafe('an entry name climbs out of its folder ("..")');
  if (segments.slice(0, -1).some((s) => s === '')) throw unsafe('an entry name has an empty folder in it');
}

export interface ZipWriteEntry {
  name: string;
  data: Buffer;
  /** Deflate it (the default) or store it as is (an ODF `mimetype`, pictures already compressed). */
  compress?: boolean;
}

/**
 * A plain ZIP: UTF-8 names, no extra fields, no permissions and one fixed timestamp (1980-01-01),
 * so the archive says nothing about who made it or when. Entries are written in the order given.
 */
export function writeZip(entries: ZipWriteEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const deflate = entry.compress !== false && entry.data.length > 0;
    const body = deflate ? deflateRawSync(entry.data) : entry.data;
    const crc = crc32(entry.data);
    const method = deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // 00:00
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(SIG_CENTRAL, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(0, 12);
    header.writeUInt16LE(0x21, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(body.length, 20);
    header.writeUInt32LE(entry.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(entry.name.endsWith('/') ? 0x10 : 0, 38); // MS-DOS directory bit
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(header, name);
    offset += local.length + name.length + body.length;
  }
  if (entries.length > 0xfffe || offset > 0xfffffffe) throw unsafe('the repacked archive would need ZIP64');
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(END_SIZE);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as ZIP uses it (node:zlib's crc32 needs Node 20.15; engines allow 20.9). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
