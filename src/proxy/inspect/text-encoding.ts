/**
 * Which Unicode encoding a body's bytes are in, judged from the bytes (a BOM, or the zero bytes
 * that ASCII text leaves in UTF-16 and UTF-32), and the way back. PHP's json_decode and XML parser
 * read UTF-16 and UTF-32 too, so a picture spelled in them must be found and put back in them.
 */

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';

export interface DecodedText {
  encoding: TextEncoding;
  /** The BOM the body started with, if any (kept when the text is encoded again). */
  bom: boolean;
  text: string;
}

/** How much of the body decides whether it is text. */
const JUDGE_BYTES = 4096;

/** The body as text, or undefined when its bytes are not text in any of the encodings. */
export function decodeText(bytes: Uint8Array): DecodedText | undefined {
  const encoding = detectTextEncoding(bytes);
  if (!encoding) return undefined;
  const bomLength = bomOf(bytes, encoding);
  const body = bytes.subarray(bomLength);
  try {
    const text = encoding.startsWith('utf-32') ? decodeUtf32(body, encoding === 'utf-32le') : new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body);
    return { encoding, bom: bomLength > 0, text };
  } catch {
    return undefined;
  }
}

export function encodeText(decoded: Pick<DecodedText, 'encoding' | 'bom'>, text: string): Uint8Array {
  const { encoding, bom } = decoded;
  const withBom = bom ? `\ufeff${text}` : text;
  if (encoding === 'utf-8') return new Uint8Array(Buffer.from(withBom, 'utf8'));
  if (encoding === 'utf-16le') return new Uint8Array(Buffer.from(withBom, 'utf16le'));
  if (encoding === 'utf-16be') return new Uint8Array(Buffer.from(withBom, 'utf16le').swap16());
  const points = Array.from(withBom, (ch) => ch.codePointAt(0)!);
  const out = Buffer.alloc(points.length * 4);
  points.forEach((cp, i) => (encoding === 'utf-32le' ? out.writeUInt32LE(cp, i * 4) : out.writeUInt32BE(cp, i * 4)));
  return new Uint8Array(out);
}

export function detectTextEncoding(b: Uint8Array): TextEncoding | undefined {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return 'utf-32le';
  if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'utf-32be';
  if (b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
  if (b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
  const head = b.subarray(0, JUDGE_BYTES);
  if (head.length >= 8) {
    if (zeroPattern(head, 4, [1, 2, 3])) return 'utf-32le';
    if (zeroPattern(head, 4, [0, 1, 2])) return 'utf-32be';
    if (zeroPattern(head, 2, [1])) return 'utf-16le';
    if (zeroPattern(head, 2, [0])) return 'utf-16be';
  }
  return looksLikeUtf8Text(head, b.length > JUDGE_BYTES) ? 'utf-8' : undefined;
}

/** ASCII text in a wide encoding: the given bytes of (nearly) every code unit are zero. */
function zeroPattern(b: Uint8Array, unit: number, zeros: number[]): boolean {
  const others = [...Array(unit).keys()].filter((k) => !zeros.includes(k));
  let units = 0;
  let matching = 0;
  for (let i = 0; i + unit <= b.length; i += unit) {
    units++;
    if (zeros.every((k) => b[i + k] === 0) && others.some((k) => b[i + k] !== 0)) matching++;
  }
  // Mostly: accented letters, dashes and emoji have no zero byte.
  return units > 0 && matching / units >= 0.7;
}

/** Valid UTF-8 without the control bytes binary formats are full of. */
function looksLikeUtf8Text(head: Uint8Array, truncated: boolean): boolean {
  let end = head.length;
  // A multi-byte character cut by the judging window is not an error.
  if (truncated) while (end > 0 && end > head.length - 4 && (head[end - 1]! & 0xc0) === 0x80) end--;
  if (truncated && end > 0 && head[end - 1]! >= 0xc0) end--;
  const window = head.subarray(0, end);
  for (const byte of window) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) return false;
    if (byte === 0x7f) return false;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(window);
    return true;
  } catch {
    return false;
  }
}

function bomOf(b: Uint8Array, encoding: TextEncoding): number {
  if (encoding === 'utf-8') return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  if (encoding === 'utf-16le') return b[0] === 0xff && b[1] === 0xfe ? 2 : 0;
  if (encoding === 'utf-16be') return b[0] === 0xfe && b[1] === 0xff ? 2 : 0;
  if (encoding === 'utf-32le') return b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0 ? 4 : 0;
  return b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff ? 4 : 0;
}

function decodeUtf32(b: Uint8Array, littleEndian: boolean): string {
  if (b.length % 4 !== 0) throw new Error('not UTF-32');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let out = '';
  for (let i = 0; i < b.length; i += 4) {
    const cp = view.getUint32(i, littleEndian);
    if (cp > 0x10ffff) throw new Error('not UTF-32');
    out += String.fromCodePoint(cp);
  }
  return out;
}
