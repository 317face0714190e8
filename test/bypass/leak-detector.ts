import { brotliDecompressSync, constants as zlibConstants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/**
 * The independent witness of the bypass suite: given the ORIGINAL photo and what the CMS received,
 * it says whether any 24-byte window of the original is there under any decoding a server could
 * apply (raw, base64 at any alignment and with line breaks, base64url, hex, percent, `+`, JSON
 * `\u`, XML/HTML entities and CDATA, quoted-printable, UTF-16/32, gzip/deflate/brotli), nested.
 *
 * It shares no code with Veil on purpose: a bug in Veil's decoders must not hide itself here.
 */
export const WINDOW = 24;

export interface ReceivedParts {
  body?: Buffer;
  /** The request-target as the CMS saw it. */
  url?: string;
  /** Raw header list (name, value, name, value...) or lower-cased map. */
  headers?: string[] | Record<string, string[]>;
}

export interface LeakHit {
  where: string;
  /** Decodings applied, outermost first, e.g. ["percent", "base64@2"]. */
  decoding: string[];
  originalOffset: number;
  region: string;
}

export interface LeakReport {
  leaked: boolean;
  hits: LeakHit[];
  /** The work budget ran out before every decoding was tried: treat as "cannot say it is clean". */
  exhausted: boolean;
}

export interface Region {
  name: string;
  start: number;
  end: number;
}

const MOD = 2147483647; // 2^31 - 1: products stay below 2^53
const BASE = 257;
let POW = 1;
for (let i = 0; i < WINDOW - 1; i++) POW = (POW * BASE) % MOD;

function forEachWindowHash(bytes: Uint8Array, visit: (hash: number, at: number) => boolean | void): void {
  if (bytes.length < WINDOW) return;
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (h * BASE + bytes[i]!) % MOD;
  if (visit(h, 0) === true) return;
  for (let i = WINDOW; i < bytes.length; i++) {
    h = (h - ((bytes[i - WINDOW]! * POW) % MOD) + MOD) % MOD;
    h = (h * BASE + bytes[i]!) % MOD;
    if (visit(h, i - WINDOW + 1) === true) return;
  }
}

function sameWindow(a: Uint8Array, at: number, b: Uint8Array, bt: number): boolean {
  for (let i = 0; i < WINDOW; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}

/** A window made of a few byte values (padding, zero runs, small integers) proves nothing. */
function distinctive(bytes: Uint8Array, at: number): boolean {
  const seen = new Set<number>();
  for (let i = 0; i < WINDOW; i++) seen.add(bytes[at + i]!);
  return seen.size >= 8;
}

// ---------------------------------------------------------------------------------------------
// Which parts of the original are its own

/**
 * The parts of a file no other file from the same encoder shares: metadata segments and
 * compressed pixel data, not the standard Huffman/quantisation tables or ICC profiles.
 * Unknown formats count whole (baseline subtraction then removes shared structure).
 */
export function distinctiveRegions(bytes: Buffer): Region[] {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegRegions(bytes);
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return pngRegions(bytes);
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return webpRegions(bytes);
  return [{ name: 'file', start: 0, end: bytes.length }];
}

function jpegRegions(b: Buffer): Region[] {
  const regions: Region[] = [];
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return [...regions, { name: 'unparsed', start: i, end: b.length }];
    const m = b[i + 1]!;
    if (m === 0xff) { i += 1; continue; }
    if (m === 0xd9) {
      if (i + 2 < b.length) regions.push({ name: 'after-eoi', start: i + 2, end: b.length });
      return regions;
    }
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) { i += 2; continue; }
    const len = b.readUInt16BE(i + 2);
    const start = i + 4;
    const end = Math.min(b.length, i + 2 + len);
    const isIcc = m === 0xe2 && b.toString('latin1', start, start + 11) === 'ICC_PROFILE';
    if (((m >= 0xe1 && m <= 0xef) && !isIcc) || m === 0xfe) regions.push({ name: `app${m - 0xe0}`, start, end });
    if (m === 0xda) {
      let j = end;
      while (j + 1 < b.length && !(b[j] === 0xff && b[j + 1] !== 0x00 && !(b[j + 1]! >= 0xd0 && b[j + 1]! <= 0xd7))) j++;
      regions.push({ name: 'scan', start: end, end: j });
      i = j;
      continue;
    }
    i = end;
  }
  return regions;
}

function pngRegions(b: Buffer): Region[] {
  const regions: Region[] = [];
  let i = 8;
  while (i + 12 <= b.length) {
    const len = b.readUInt32BE(i);
    const type = b.toString('latin1', i + 4, i + 8);
    const start = i + 8;
    const end = Math.min(b.length, start + len);
    if (!['IHDR', 'PLTE', 'IEND', 'iCCP', 'gAMA', 'cHRM', 'sRGB', 'pHYs', 'bKGD', 'tRNS'].includes(type)) regions.push({ name: type, start, end });
    i = end + 4;
    if (type === 'IEND') break;
  }
  if (i < b.length) regions.push({ name: 'after-iend', start: i, end: b.length });
  return regions;
}

function webpRegions(b: Buffer): Region[] {
  const regions: Region[] = [];
  let i = 12;
  while (i + 8 <= b.length) {
    const type = b.toString('latin1', i, i + 4);
    const len = b.readUInt32LE(i + 4);
    const start = i + 8;
    const end = Math.min(b.length, start + len);
    if (type !== 'ICCP' && type !== 'VP8X') regions.push({ name: type.trim(), start, end });
    i = end + (len % 2);
  }
  return regions;
}

/** Fresh metadata-free re-encodes by sharp: whatever they share with the original is not evidence. */
export async function sharpBaselines(original: Buffer): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const tries: Array<(s: Sharp) => Promise<Buffer>> = [
    (s) => s.jpeg().toBuffer(),
    (s) => s.jpeg({ quality: 85, progressive: true, chromaSubsampling: '4:2:0' }).toBuffer(),
    (s) => s.png().toBuffer(),
    (s) => s.png({ compressionLevel: 7, adaptiveFiltering: true }).toBuffer(),
    (s) => s.webp({ quality: 82, effort: 4 }).toBuffer(),
    (s) => s.gif({ effort: 7 }).toBuffer(),
  ];
  for (const encode of tries) {
    try {
      out.push(await encode(sharp(original, { failOn: 'none' })));
    } catch {
      // sharp cannot read every format we test (HEIC, TGA, PCX): no baseline from it then.
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decodings a server could apply

type Decoder = (bytes: Buffer) => Array<{ label: string; bytes: Buffer }>;

const B64_RUN = /[A-Za-z0-9+/\-_=\s]{32,}/g;
const HEX_RUN = /[0-9A-Fa-f]{48,}/g;

const base64Decoder: Decoder = (bytes) => {
  const text = bytes.toString('latin1');
  const out: Array<{ label: string; bytes: Buffer }> = [];
  for (const match of text.matchAll(B64_RUN)) {
    // Padding may sit inside (several encodings glued); each piece decodes on its own.
    for (const piece of match[0].replace(/\s+/g, '').split(/=+/)) {
      if (piece.length < 32) continue;
      const std = piece.replace(/-/g, '+').replace(/_/g, '/');
      for (let skip = 0; skip < 4; skip++) {
        const usable = std.slice(skip, skip + Math.floor((std.length - skip) / 4) * 4);
        out.push({ label: `base64@${skip}`, bytes: Buffer.from(usable, 'base64') });
      }
    }
  }
  return out;
};

const hexDecoder: Decoder = (bytes) => {
  const text = bytes.toString('latin1');
  const out: Array<{ label: string; bytes: Buffer }> = [];
  for (const match of text.matchAll(HEX_RUN)) {
    for (let skip = 0; skip < 2; skip++) {
      const usable = match[0].slice(skip, skip + Math.floor((match[0].length - skip) / 2) * 2);
      out.push({ label: `hex@${skip}`, bytes: Buffer.from(usable, 'hex') });
    }
  }
  // \xNN and 0xNN, separated by anything: C and PHP string spellings.
  const escaped = [...text.matchAll(/(?:\\x|0x)([0-9A-Fa-f]{2})/g)];
  if (escaped.length >= WINDOW) out.push({ label: 'hex-escapes', bytes: Buffer.from(escaped.map((m) => m[1]).join(''), 'hex') });
  return out;
};

function percentDecode(text: string, plusIsSpace: boolean): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x2b && plusIsSpace) out.push(0x20);
    else out.push(c & 0xff);
  }
  return Buffer.from(out);
}

const percentDecoder: Decoder = (bytes) => {
  const text = bytes.toString('latin1');
  if (!/%[0-9A-Fa-f]{2}|\+/.test(text)) return [];
  return [
    { label: 'percent', bytes: percentDecode(text, false) },
    { label: 'form', bytes: percentDecode(text, true) },
  ];
};

/** A decoded string as a server could turn it back into bytes: UTF-8, or one byte per char. */
function asBytes(label: string, text: string): Array<{ label: string; bytes: Buffer }> {
  const out = [{ label: `${label}:utf8`, bytes: Buffer.from(text, 'utf8') }];
  if (/[\u0080-\uffff]/.test(text)) out.push({ label: `${label}:latin1`, bytes: Buffer.from(text, 'latin1') });
  return out;
}

const jsonDecoder: Decoder = (bytes) => {
  const text = bytes.toString('latin1');
  if (!/\\[u/"\\bfnrt]/.test(text)) return [];
  const raw = text.replace(/\\u([0-9A-Fa-f]{4})|\\([/"\\bfnrt])/g, (_m, hex: string | undefined, ch: string | undefined) => {
    if (hex) return String.fromCharCode(parseInt(hex, 16));
    return ({ '/': '/', '"': '"', '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[ch!]!;
  });
  // The unescaped text keeps the body's own bytes as they were (latin1 view of UTF-8), so an
  // escape that produced a code point above 0xFF is written as UTF-8 and the rest left alone.
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0xff) out.push(c);
    else for (const b of Buffer.from(raw[i]!, 'utf8')) out.push(b);
  }
  const result = [{ label: 'json', bytes: Buffer.from(out) }];
  // JSON strings holding bytes as code points U+0000..U+00FF ("binary strings").
  const lowBytes = text.replace(/\\u00([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  if (lowBytes !== text) result.push({ label: 'json-bytes', bytes: Buffer.from(lowBytes, 'latin1') });
  return result;
};

const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", sol: '/', nbsp: '\u00a0', colon: ':', comma: ',', period: '.', equals: '=',
  plus: '+', excl: '!', num: '#', dollar: '$', percnt: '%', lpar: '(', rpar: ')', ast: '*', semi: ';', quest: '?', commat: '@',
  lsqb: '[', rsqb: ']', lowbar: '_', grave: '`', lcub: '{', rcub: '}', verbar: '|', Tab: '\t', NewLine: '\n', hyphen: '-', dash: '-',
  bsol: '\\', Hat: '^', midast: '*',
};

const entityDecoder: Decoder = (bytes) => {
  const text = bytes.toString('latin1');
  const out: Array<{ label: string; bytes: Buffer }> = [];
  if (/&(#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);?/.test(text)) {
    const decoded = text.replace(/&#(\d+);?|&#[xX]([0-9A-Fa-f]+);?|&([A-Za-z]+);/g, (m, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
      if (dec) return String.fromCodePoint(Math.min(Number(dec), 0x10ffff));
      if (hex) return String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff));
      return NAMED[name!] ?? m;
    });
    out.push({ label: 'entities', bytes: Buffer.from(decoded, 'latin1') });
  }
  // Markup removed: CDATA sections joined, comments and tags gone, so text split by them is whole.
  if (/<!\[CDATA\[|<!--|<[A-Za-z/]/.test(text)) {
    const textOnly = text.replace(/<!\[CDATA\[|\]\]>/g, '').replace(/<!--[\s\S]*?-->/g, '').replace(/<[^<>]*>/g, '');
    out.push({ label: 'markup', bytes: Buffer.from(textOnly, 'latin1') });
  }
  return out;
};

const quotedPrintableDecoder: Decoder = (bytes) => {
  const text = bytes.toString('latin1');
  if (!/=[0-9A-F]{2}|=\r?\n/.test(text)) return [];
  return [{ label: 'quoted-printable', bytes: Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1') }];
};

const utf8ToBytesDecoder: Decoder = (bytes) => {
  // UTF-8 text whose code points are bytes (JSON.stringify of a binary string, utf8_decode in PHP).
  if (!/[\xc2\xc3][\x80-\xbf]/.test(bytes.toString('latin1'))) return [];
  const text = bytes.toString('utf8');
  return [{ label: 'utf8-codepoints', bytes: Buffer.from(text, 'latin1') }];
};

function zeroShare(bytes: Buffer, phase: number, step: number): number {
  let zeros = 0;
  let total = 0;
  for (let i = phase; i < Math.min(bytes.length, 65536); i += step) {
    total++;
    if (bytes[i] === 0) zeros++;
  }
  return total === 0 ? 0 : zeros / total;
}

const wideTextDecoder: Decoder = (bytes) => {
  const out: Array<{ label: string; bytes: Buffer }> = [];
  // Text of mostly ASCII in UTF-16 has a zero in every other byte and rarely in the others; in
  // UTF-32, three zeros and a character. Demanding both keeps misaligned readings out.
  for (let align = 0; align < 2; align++) {
    const even = zeroShare(bytes, align, 2);
    const odd = zeroShare(bytes, align + 1, 2);
    const slice = bytes.subarray(align, align + Math.floor((bytes.length - align) / 2) * 2);
    if (odd > 0.3 && even < 0.1) out.push(...asBytes(`utf16le@${align}`, slice.toString('utf16le')));
    if (even > 0.3 && odd < 0.1) {
      const swapped = Buffer.from(slice);
      swapped.swap16();
      out.push(...asBytes(`utf16be@${align}`, swapped.toString('utf16le')));
    }
  }
  for (let align = 0; align < 4; align++) {
    const share = [0, 1, 2, 3].map((k) => zeroShare(bytes, align + k, 4));
    const le = share[0]! < 0.1 && share[2]! > 0.9 && share[3]! > 0.9;
    const be = share[3]! < 0.1 && share[0]! > 0.9 && share[1]! > 0.9;
    if (!le && !be) continue;
    const n = Math.floor((bytes.length - align) / 4);
    const chars: string[] = [];
    for (let i = 0; i < n; i++) {
      const cp = le ? bytes.readUInt32LE(align + i * 4) : bytes.readUInt32BE(align + i * 4);
      chars.push(cp <= 0x10ffff ? String.fromCodePoint(cp) : '?');
    }
    out.push(...asBytes(`utf32${le ? 'le' : 'be'}@${align}`, chars.join('')));
  }
  return out;
};

const MAX_INFLATE = 64 * 1024 * 1024;

function compressionDecoder(bytes: Buffer, level: number): Array<{ label: string; bytes: Buffer }> {
  const out: Array<{ label: string; bytes: Buffer }> = [];
  const opts = { maxOutputLength: MAX_INFLATE, finishFlush: zlibConstants.Z_SYNC_FLUSH };
  let attempts = 0;
  for (let i = 0; i + 2 < bytes.length && attempts < 64; i++) {
    const a = bytes[i]!;
    const b = bytes[i + 1]!;
    let label: string | null = null;
    let run: ((x: Buffer) => Buffer) | null = null;
    if (a === 0x1f && b === 0x8b && bytes[i + 2] === 0x08) { label = 'gzip'; run = (x) => gunzipSync(x, opts); }
    // zlib's own header with the default 32 KiB window, at each of its four levels
    else if (a === 0x78 && (b === 0x01 || b === 0x5e || b === 0x9c || b === 0xda)) { label = 'zlib'; run = (x) => inflateSync(x, opts); }
    if (!run) continue;
    attempts++;
    try {
      const result = run(bytes.subarray(i));
      if (result.length > 0) out.push({ label: `${label}@${i}`, bytes: result });
    } catch {
      // not a stream after all
    }
  }
  // ZIP entries (DOCX, ODT, EPUB...): raw deflate after each local file header.
  for (let i = bytes.indexOf('PK\x03\x04', 0, 'latin1'); i !== -1 && i + 30 <= bytes.length; i = bytes.indexOf('PK\x03\x04', i + 4, 'latin1')) {
    if (bytes.readUInt16LE(i + 8) !== 8) continue;
    const start = i + 30 + bytes.readUInt16LE(i + 26) + bytes.readUInt16LE(i + 28);
    try {
      const result = inflateRawSync(bytes.subarray(start), opts);
      if (result.length > 0) out.push({ label: `zip-entry@${i}`, bytes: result });
    } catch {
      // damaged entry
    }
  }
  // Raw deflate and brotli have no magic: tried on what was sent and its first decodings only.
  if (level > 1) return out;
  for (const [label, run] of [
    ['deflate-raw', (x: Buffer) => inflateRawSync(x, opts)],
    ['brotli', (x: Buffer) => brotliDecompressSync(x, { maxOutputLength: MAX_INFLATE })],
  ] as const) {
    try {
      const result = run(bytes);
      if (result.length > 0) out.push({ label, bytes: result });
    } catch {
      // not this encoding
    }
  }
  return out;
}

/** JSON arrays or CSV of byte values: `[255,216,255,...]`. */
const decimalListDecoder: Decoder = (bytes) => {
  const out: Array<{ label: string; bytes: Buffer }> = [];
  for (const match of bytes.toString('latin1').matchAll(/\d{1,3}(?:\s*,\s*\d{1,3}){23,}/g)) {
    out.push({ label: 'decimal-list', bytes: Buffer.from(match[0].split(',').map((n) => Number(n.trim()) & 0xff)) });
  }
  return out;
};

/** Decoders that read text: applied to text, and to the text runs found inside binary bodies. */
const TEXT_DECODERS: Decoder[] = [base64Decoder, hexDecoder, percentDecoder, jsonDecoder, entityDecoder, quotedPrintableDecoder, utf8ToBytesDecoder, decimalListDecoder];

/** Share of bytes that no text has (controls other than tab, CR, LF). */
function looksBinary(bytes: Buffer): boolean {
  let control = 0;
  const n = Math.min(bytes.length, 1 << 20);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f) control++;
  }
  return control > n / 100;
}

/** Runs of printable text inside a binary body (a form field beside a file, a JSON part). */
const textRunsDecoder: Decoder = (bytes) => {
  const runs: Buffer[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const b = i < bytes.length ? bytes[i]! : 0;
    const text = (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
    if (text && start < 0) start = i;
    else if (!text && start >= 0) {
      if (i - start >= 32) runs.push(bytes.subarray(start, i));
      start = -1;
    }
  }
  return runs.length === 0 ? [] : [{ label: 'text-runs', bytes: Buffer.concat(runs.flatMap((r) => [r, Buffer.from('\n')])) }];
};

function decodings(bytes: Buffer, level: number): Array<{ label: string; bytes: Buffer }> {
  const out: Array<{ label: string; bytes: Buffer }> = [];
  if (looksBinary(bytes)) {
    out.push(...wideTextDecoder(bytes), ...compressionDecoder(bytes, level), ...textRunsDecoder(bytes));
  } else {
    for (const decode of TEXT_DECODERS) out.push(...decode(bytes));
    out.push(...compressionDecoder(bytes, level));
  }
  return out.filter((child) => !child.bytes.equals(bytes));
}

// ---------------------------------------------------------------------------------------------

export interface DetectorOptions {
  /** Files that share structure with the original without being it (sharp re-encodes). */
  baselines?: Buffer[];
  /** How deep decodings nest (percent inside JSON inside UTF-16...). */
  depth?: number;
  /** Total bytes the decoders may produce per check. */
  budgetBytes?: number;
}

export class LeakDetector {
  private readonly index = new Map<number, number[]>();
  readonly windowCount: number;

  constructor(
    readonly original: Buffer,
    readonly regions: Region[],
    private readonly options: DetectorOptions = {},
  ) {
    for (const region of regions) {
      for (let at = region.start; at + WINDOW <= region.end; at++) {
        if (!distinctive(original, at)) continue;
        let h = 0;
        for (let i = 0; i < WINDOW; i++) h = (h * BASE + original[at + i]!) % MOD;
        const list = this.index.get(h);
        if (list) list.push(at);
        else this.index.set(h, [at]);
      }
    }
    for (const baseline of options.baselines ?? []) {
      forEachWindowHash(baseline, (h, bt) => {
        const list = this.index.get(h);
        if (!list) return;
        const kept = list.filter((at) => !sameWindow(original, at, baseline, bt));
        if (kept.length === 0) this.index.delete(h);
        else if (kept.length !== list.length) this.index.set(h, kept);
      });
    }
    let count = 0;
    for (const list of this.index.values()) count += list.length;
    this.windowCount = count;
  }

  /** Windows from the distinctive regions, minus what sharp re-encodes share. */
  static async forOriginal(original: Buffer, options: DetectorOptions = {}): Promise<LeakDetector> {
    const baselines = options.baselines ?? (await sharpBaselines(original));
    return new LeakDetector(original, distinctiveRegions(original), { ...options, baselines });
  }

  private regionOf(at: number): string {
    return this.regions.find((r) => at >= r.start && at < r.end)?.name ?? '?';
  }

  /** Where in `bytes` a window of the original starts, if anywhere (hot loop: no closures). */
  private find(bytes: Uint8Array): { at: number; originalOffset: number } | null {
    if (bytes.length < WINDOW) return null;
    const index = this.index;
    let h = 0;
    for (let i = 0; i < WINDOW; i++) h = (h * BASE + bytes[i]!) % MOD;
    for (let at = 0; ; at++) {
      const list = index.get(h);
      if (list) for (const o of list) if (sameWindow(bytes, at, this.original, o)) return { at, originalOffset: o };
      const end = at + WINDOW;
      if (end >= bytes.length) return null;
      h = (h - ((bytes[at]! * POW) % MOD) + MOD) % MOD;
      h = (h * BASE + bytes[end]!) % MOD;
    }
  }

  check(received: ReceivedParts): LeakReport {
    const depth = this.options.depth ?? 4;
    let budget = this.options.budgetBytes ?? 256 * 1024 * 1024;
    const hits: LeakHit[] = [];
    let exhausted = false;
    const seen = new Set<string>();
    const sources: Array<{ where: string; bytes: Buffer }> = [];
    if (received.body && received.body.length > 0) sources.push({ where: 'body', bytes: received.body });
    if (received.url) sources.push({ where: 'url', bytes: Buffer.from(received.url, 'latin1') });
    if (received.headers) {
      const list = Array.isArray(received.headers)
        ? received.headers
        : Object.entries(received.headers).flatMap(([name, values]) => values.flatMap((v) => [name, v]));
      const lines: string[] = [];
      for (let i = 0; i + 1 < list.length; i += 2) lines.push(`${list[i]}: ${list[i + 1]}`);
      sources.push({ where: 'headers', bytes: Buffer.from(lines.join('\n'), 'latin1') });
    }
    for (const source of sources) {
      const first = this.find(source.bytes);
      if (first) {
        hits.push({ where: source.where, decoding: [], originalOffset: first.originalOffset, region: this.regionOf(first.originalOffset) });
        break;
      }
      // Breadth first, each decoding checked as soon as it exists: a leak one decoding deep is
      // found before anything two deep is even produced.
      let frontier: Array<{ bytes: Buffer; decoding: string[] }> = [{ bytes: source.bytes, decoding: [] }];
      for (let level = 0; level < depth && frontier.length > 0 && hits.length === 0; level++) {
        const next: typeof frontier = [];
        for (const node of frontier) {
          if (hits.length > 0) break;
          for (const child of decodings(node.bytes, level)) {
            if (child.bytes.length < WINDOW) continue;
            const key = `${child.bytes.length}:${child.bytes.subarray(0, 64).toString('base64')}:${child.bytes.subarray(-64).toString('base64')}`;
            if (seen.has(key)) continue;
            seen.add(key);
            budget -= child.bytes.length;
            if (budget < 0) {
              exhausted = true;
              continue;
            }
            const decoding = [...node.decoding, child.label];
            const hit = this.find(child.bytes);
            if (hit) {
              hits.push({ where: source.where, decoding, originalOffset: hit.originalOffset, region: this.regionOf(hit.originalOffset) });
              break;
            }
            next.push({ bytes: child.bytes, decoding });
          }
        }
        frontier = next;
      }
      if (hits.length > 0) break;
    }
    return { leaked: hits.length > 0, hits, exhausted };
  }
}

/** One line saying where the original was found, for test failure messages (no bytes). */
export function describeHits(report: LeakReport): string {
  if (!report.leaked) return report.exhausted ? 'no window found, but the decoding budget ran out' : 'clean';
  return report.hits.map((h) => `${h.where} [${h.decoding.join(' > ') || 'raw'}] holds original bytes from its ${h.region} (offset ${h.originalOffset})`).join('; ');
}
