/**
 * Whether bytes are a picture, judged from magic bytes only (never a name or a declared type).
 *
 * Deliberately wider than what Veil can sanitise: anything a CMS or a browser would show as a
 * picture counts (SVG, BMP, ICO, JPEG XL, JPEG 2000, PSD, camera raw files), so those go to the
 * pipeline and are refused there with a clear message, instead of passing through the proxy
 * unsanitised because Veil could not read them.
 */
export type ImageKind =
  | 'jpeg'
  | 'png'
  | 'gif'
  | 'webp'
  | 'avif'
  | 'heif'
  | 'tiff'
  | 'svg'
  | 'bmp'
  | 'ico'
  | 'jxl'
  | 'jp2'
  | 'psd'
  | 'camera-raw'
  | 'tga'
  | 'pcx'
  | 'pnm';

/**
 * How many leading bytes decide. Binary signatures need a few dozen; the rest is for SVG, whose
 * root element may follow an XML declaration, comments and a DOCTYPE.
 */
export const IMAGE_SNIFF_BYTES = 4096;

export function looksLikeImage(bytes: Uint8Array): boolean {
  return imageKind(bytes) !== undefined;
}

/**
 * The picture format the bytes start with, if any. Pass the first IMAGE_SNIFF_BYTES bytes (or the
 * whole file when shorter): an XML prologue still open at that length counts as SVG (fail closed).
 */
export function imageKind(bytes: Uint8Array): ImageKind | undefined {
  return rasterKind(bytes) ?? (isSvg(bytes) ? 'svg' : undefined);
}

/** Binary picture formats only: what the multipart guard looks for (SVG text is too common in documents). */
export function rasterKind(b: Uint8Array): ImageKind | undefined {
  if (b.length < 2) return undefined;
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  const isoBmff = isoBmffKind(b);
  if (isoBmff) return isoBmff;
  const head4 = ascii(b, 0, 4);
  if (head4 === 'II*\0' || head4 === 'MM\0*' || head4 === 'II+\0' || head4 === 'MM\0+') return 'tiff';
  // Olympus ORF, Panasonic RW2 and Fuji RAF are TIFF cousins with their own magic; they carry GPS too.
  if (head4 === 'IIRO' || head4 === 'IIRS' || head4 === 'MMOR' || head4 === 'IIU\0') return 'camera-raw';
  if (ascii(b, 0, 15) === 'FUJIFILMCCD-RAW') return 'camera-raw';
  if (startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) return 'jxl';
  if (startsWith(b, [0xff, 0x0a]) && b.length >= 8) return 'jxl';
  if (startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) return 'jp2';
  if (startsWith(b, [0xff, 0x4f, 0xff, 0x51])) return 'jp2';
  if (head4 === '8BPS' && b[4] === 0 && (b[5] === 1 || b[5] === 2)) return 'psd';
  if (isBmp(b)) return 'bmp';
  if (isIco(b)) return 'ico';
  if (isPnm(b)) return 'pnm';
  if (isPcx(b)) return 'pcx';
  if (isTga(b)) return 'tga';
  return undefined;
}

/** Netpbm (PPM, PGM, PBM, PAM): "P1".."P7", whitespace, then the width as digits. ImageMagick reads them. */
function isPnm(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1]! >= 0x31 && b[1]! <= 0x37 && /^[ \t\r\n]+(#[^\n]*\n\s*)*\d/.test(ascii(b, 2, Math.min(64, b.length - 2)));
}

/** PCX: manufacturer 10, a known version, RLE encoding, a usual bit depth. */
function isPcx(b: Uint8Array): boolean {
  return b.length >= 128 && b[0] === 0x0a && [0, 2, 3, 4, 5].includes(b[1]!) && b[2] === 1 && [1, 2, 4, 8].includes(b[3]!);
}

/** TGA has no magic: a colour-map flag, an image type and a pixel depth that make sense, and a size. */
function isTga(b: Uint8Array): boolean {
  if (b.length < 18 || b[1]! > 1 || ![1, 2, 3, 9, 10, 11].includes(b[2]!)) return false;
  const width = b[12]! | (b[13]! << 8);
  const height = b[14]! | (b[15]! << 8);
  const colourMapOk = b[1] === 1 ? [15, 16, 24, 32].includes(b[7]!) : b[3] === 0 && b[4] === 0 && b[7] === 0;
  return colourMapOk && width > 0 && height > 0 && [8, 15, 16, 24, 32].includes(b[16]!) && (b[17]! & 0xc0) === 0;
}

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'mif2', 'msf1', 'miaf', 'MiHE', 'MiHA', 'MiHB', 'avci', 'avcs', 'jpeg', 'jpgs', 'vvic', 'vvis', 'heif']);

/** AVIF, HEIC/HEIF and Canon CR3 share ISO-BMFF: an `ftyp` box whose brands say what follows. */
function isoBmffKind(b: Uint8Array): ImageKind | undefined {
  if (b.length < 12 || ascii(b, 4, 4) !== 'ftyp') return undefined;
  const boxSize = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
  // As far as the pipeline's sniffer reads (src/pipeline/sniff.ts), so no brand it accepts is missed here.
  const end = Math.min(boxSize >= 16 ? boxSize : 16, b.length, IMAGE_SNIFF_BYTES);
  const brands = [ascii(b, 8, 4)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(b, at, 4));
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'heif';
  if (brands[0] === 'crx ') return 'camera-raw';
  if (brands[0] === 'jxl ') return 'jxl';
  return undefined;
}

/** "BM" alone is too common in text ("BMW..."), so the DIB header size must be a real one too. */
function isBmp(b: Uint8Array): boolean {
  if (b.length < 18 || b[0] !== 0x42 || b[1] !== 0x4d) return false;
  const dibSize = b[14]! + (b[15]! << 8) + (b[16]! << 16) + (b[17]! << 24);
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(dibSize);
}

/** ICO/CUR: reserved 0, type 1 or 2, at least one entry whose data lies after the directory. */
function isIco(b: Uint8Array): boolean {
  if (b.length < 22 || b[0] !== 0 || b[1] !== 0 || (b[2] !== 1 && b[2] !== 2) || b[3] !== 0) return false;
  const count = b[4]! + (b[5]! << 8);
  if (count === 0 || b[9] !== 0) return false;
  const size = b[14]! + (b[15]! << 8) + (b[16]! << 16) + (b[17]! << 24);
  const offset = b[18]! + (b[19]! << 8) + (b[20]! << 16) + (b[21]! << 24);
  return size > 0 && offset >= 6 + 16 * count;
}

/**
 * SVG is text: an optional BOM, whitespace, an XML declaration, comments, processing instructions
 * and a DOCTYPE may come before the root `<svg` (or `<prefix:svg`).
 */
function isSvg(b: Uint8Array): boolean {
  const text = decodePrefix(b);
  let at = 0;
  for (;;) {
    while (at < text.length && ' \t\r\n'.includes(text[at]!)) at++;
    if (at >= text.length) return false;
    if (text[at] !== '<') return false;
    const rest = text.slice(at, at + 16);
    let close: number;
    if (rest.startsWith('<?')) close = closeAfter(text, at, '?>');
    else if (rest.startsWith('<!--')) close = closeAfter(text, at, '-->');
    else if (/^<!doctype/i.test(rest)) {
      if (/^<!doctype\s+([\w.-]+:)?svg[\s>[]/i.test(text.slice(at, at + 64))) return true;
      close = doctypeEnd(text, at);
    } else return /^<([A-Za-z_][\w.-]*:)?svg[\s>/]/.test(text.slice(at, at + 64)) || (at + 5 > text.length && undecided(b));
    if (close === -1) return undecided(b);
    at = close;
  }
}

/** A prologue still open when the sniff window is full could still lead to `<svg`: fail closed. */
function undecided(b: Uint8Array): boolean {
  return b.length >= IMAGE_SNIFF_BYTES;
}

function closeAfter(text: string, from: number, end: string): number {
  const found = text.indexOf(end, from);
  return found === -1 ? -1 : found + end.length;
}

/** A DOCTYPE may carry an internal subset in brackets, which may itself contain `>`. */
function doctypeEnd(text: string, from: number): number {
  let inSubset = false;
  for (let i = from + 2; i < text.length; i++) {
    const ch = text[i];
    if (ch === '[') inSubset = true;
    else if (ch === ']') inSubset = false;
    else if (ch === '>' && !inSubset) return i + 1;
  }
  return -1;
}

function decodePrefix(b: Uint8Array): string {
  const window = b.subarray(0, IMAGE_SNIFF_BYTES);
  if (window[0] === 0xfe && window[1] === 0xff) return new TextDecoder('utf-16be').decode(window.subarray(2));
  if (window[0] === 0xff && window[1] === 0xfe) return new TextDecoder('utf-16le').decode(window.subarray(2));
  const start = window[0] === 0xef && window[1] === 0xbb && window[2] === 0xbf ? 3 : 0;
  // Markup characters are ASCII, so latin1 reads any ASCII-compatible encoding well enough here.
  return Buffer.from(window.buffer, window.byteOffset + start, window.byteLength - start).toString('latin1');
}

function startsWith(b: Uint8Array, magic: number[]): boolean {
  if (b.length < magic.length) return false;
  return magic.every((byte, i) => b[i] === byte);
}

function ascii(b: Uint8Array, offset: number, length: number): string {
  if (b.length < offset + length) return '';
  let out = '';
  for (let i = offset; i < offset + length; i++) out += String.fromCharCode(b[i]!);
  return out;
}
