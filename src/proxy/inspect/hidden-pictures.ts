import type { ImageKind } from './looks-like-image.js';
import { containerKind } from './body-nature.js';
import { findPictureSignature } from './picture-signatures.js';
import { decodeText, detectTextEncoding } from './text-encoding.js';

/**
 * The last look at a body Veil is about to pass on: is there a picture in it, in ANY spelling a
 * server might decode? Raw bytes anywhere; base64 (standard or URL-safe, with whitespace or line
 * breaks, at any alignment, and as PHP's lenient base64_decode reads a whole field, skipping every
 * character outside the alphabet); hex; and each of those again after percent-decoding, JSON
 * `\uXXXX` unescaping, XML/HTML entities and CDATA, and UTF-16/32. What the in-place rewriter
 * (embedded-images.ts) could not rewrite, this finds, and the body is refused.
 *
 * Deliberately over-inclusive: a false alarm refuses one odd request with a clear message; a miss
 * publishes a child's photo with its GPS position.
 */

export interface HiddenPicture {
  kind: ImageKind;
  /** How it was spelled, for logs and tests (never the content). */
  spelling: string;
}

/** Shorter runs cannot hold a picture worth hiding (and are everywhere in ordinary text). */
const MIN_BASE64_CHARS = 16;
const MIN_HEX_CHARS = 32;
/** Nested spellings (percent inside JSON inside UTF-16...) are unwrapped this deep. */
const MAX_DEPTH = 4;

const BASE64_RUN = /[A-Za-z0-9+/_-](?:[A-Za-z0-9+/_=-]|\s)*/g;
const HEX_RUN = /[0-9A-Fa-f](?:[0-9A-Fa-f]|\s)*/g;
/** Field values as a PHP script would receive them whole: JSON strings, form values, XML text. */
const JSON_STRING = /"((?:[^"\\]|\\.)*)"/g;
const BYTE_ARRAY = /\[\s*\d{1,3}(?:\s*,\s*\d{1,3}){15,}\s*\]/g;
/** Documents found inside text, handed back for a look inside; more than this many is refused. */
const MAX_CONTAINERS = 16;
const XML_TEXT = />([^<]+)</g;

/** `ours`: pictures Veil already sanitised into this body, wherever they appear whole. */
export function findHiddenPicture(bytes: Uint8Array, ours: readonly Uint8Array[] = [], containers?: Uint8Array[]): HiddenPicture | undefined {
  let depth = 0;
  const find = (data: Uint8Array) => {
    // A document or video spelled as text is handed back to be looked inside (it is async work).
    if (containers && containers.length < MAX_CONTAINERS && data.length > 64 && containerKind(data.subarray(0, 1024))) containers.push(data);
    // Decoded text (base64 of base64, base64 of a JSON document) is looked at again as a view.
    if (depth < MAX_DEPTH && data.length >= MIN_BASE64_CHARS && detectTextEncoding(data.subarray(0, 4096)) === 'utf-8') {
      const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
      if (!seen.has(text)) {
        seen.add(text);
        budget -= text.length;
        views.push({ text, spelling: 'decoded', depth: depth + 1 });
      }
    }
    return findPictureSignature(data, 0, ours);
  };
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const views: { text: string; spelling: string; depth: number }[] = [{ text: latin1, spelling: 'text', depth: 0 }];
  const seen = new Set<string>([latin1]);
  let budget = Math.max(8 * latin1.length, 1 << 20);
  const decoded = decodeText(bytes);
  if (decoded && decoded.encoding !== 'utf-8') views.push({ text: decoded.text, spelling: decoded.encoding, depth: 1 });
  const raw = find(bytes);
  if (raw) return { kind: raw.kind, spelling: 'raw' };
  // Binary data is searched as it is: no server percent- or entity-decodes it, and unwrapping a
  // large binary body would cost memory for nothing.
  if (!decoded) views[0]!.depth = MAX_DEPTH;

  while (views.length > 0) {
    const view = views.shift()!;
    depth = view.depth;
    // More nested text than this is not something Veil can judge with confidence.
    if (budget < 0) return { kind: 'jpeg', spelling: 'too-deeply-nested' };
    // Veil's own pictures, where a decoding shows them as bytes, are blanked before anything
    // else: a further decoding of their bytes would mangle them into "someone else's" picture.
    if (ours.length > 0 && view.depth > 0) view.text = blankOurs(view.text, ours);
    if (view.depth > 0) {
      const found = find(Buffer.from(view.text, 'latin1'));
      if (found) return { kind: found.kind, spelling: `${view.spelling}/raw` };
    }
    const inRuns = base64Runs(view.text, find) ?? hexRuns(view.text, find) ?? lenientFields(view.text, find) ?? byteArrays(view.text, find);
    if (inRuns) return { kind: inRuns.kind, spelling: `${view.spelling}/${inRuns.spelling}` };
    if (view.depth >= MAX_DEPTH) continue;
    for (const [spelling, unwrap] of UNWRAPPERS) {
      const next = unwrap(view.text);
      if (next === undefined || next === view.text || seen.has(next)) continue;
      budget -= next.length;
      if (budget < 0) return { kind: 'jpeg', spelling: 'too-deeply-nested' };
      seen.add(next);
      views.push({ text: next, spelling: `${view.spelling}/${spelling}`, depth: view.depth + 1 });
    }
  }
  return undefined;
}

function blankOurs(text: string, ours: readonly Uint8Array[]): string {
  let out = text;
  for (const picture of ours) {
    const head = Buffer.from(picture.subarray(0, 16)).toString('latin1');
    for (let at = out.indexOf(head); at !== -1; at = out.indexOf(head, at + 1)) {
      const candidate = Buffer.from(out.slice(at, at + picture.byteLength), 'latin1');
      if (findPictureSignature(candidate, 0, [picture]) === undefined) out = out.slice(0, at) + ' '.repeat(picture.byteLength) + out.slice(at + picture.byteLength);
    }
  }
  return out;
}

/** Contiguous base64 (whitespace allowed), decoded at each of the four alignments. */
type Finder = (data: Uint8Array) => { kind: ImageKind } | undefined;

function base64Runs(text: string, find: Finder): { kind: ImageKind; spelling: string } | undefined {
  for (const m of text.matchAll(BASE64_RUN)) {
    const run = m[0].replace(/\s+/g, '');
    if (run.length < MIN_BASE64_CHARS) continue;
    const found = pictureInBase64(run, find);
    if (found) return { kind: found, spelling: 'base64' };
  }
  return undefined;
}

/** What PHP's base64_decode makes of a whole value: every non-alphabet character skipped. */
function lenientFields(text: string, find: Finder): { kind: ImageKind; spelling: string } | undefined {
  const values: string[] = [];
  for (const m of text.matchAll(JSON_STRING)) values.push(m[1]!);
  for (const m of text.matchAll(XML_TEXT)) values.push(m[1]!);
  for (const pair of text.split('&')) values.push(pair.slice(pair.indexOf('=') + 1));
  for (const value of values) {
    const alphabet = value.replace(/[^A-Za-z0-9+/_-]/g, '');
    if (alphabet.length < MIN_BASE64_CHARS || alphabet.length === value.replace(/\s+/g, '').length) continue;
    const found = pictureInBase64(alphabet, find);
    if (found) return { kind: found, spelling: 'base64-lenient' };
  }
  return undefined;
}

function pictureInBase64(run: string, find: Finder): ImageKind | undefined {
  const standard = run.replace(/-/g, '+').replace(/_/g, '/').replace(/=+/g, '');
  for (let shift = 0; shift < 4 && shift < standard.length; shift++) {
    const bytes = Buffer.from(standard.slice(shift), 'base64');
    const found = find(bytes);
    if (found) return found.kind;
  }
  return undefined;
}

function hexRuns(text: string, find: Finder): { kind: ImageKind; spelling: string } | undefined {
  for (const m of text.matchAll(HEX_RUN)) {
    const run = m[0].replace(/\s+/g, '');
    if (run.length < MIN_HEX_CHARS) continue;
    for (let shift = 0; shift < 2; shift++) {
      const even = run.slice(shift, shift + ((run.length - shift) & ~1));
      const found = find(Buffer.from(even, 'hex'));
      if (found) return { kind: found.kind, spelling: 'hex' };
    }
  }
  return undefined;
}

/** JSON arrays of byte values (`[255,216,255,...]`), as some APIs send files. */
function byteArrays(text: string, find: Finder): { kind: ImageKind; spelling: string } | undefined {
  for (const m of text.matchAll(BYTE_ARRAY)) {
    const values = m[0].slice(1, -1).split(',').map((v) => Number(v.trim()));
    if (values.some((v) => v > 255)) continue;
    const found = find(Uint8Array.from(values));
    if (found) return { kind: found.kind, spelling: 'byte-array' };
  }
  return undefined;
}

type Unwrapper = (text: string) => string | undefined;

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", sol: '/', plus: '+', equals: '=', newline: '\n', tab: '\t', colon: ':', semi: ';', comma: ',', nbsp: ' ' };

const UNWRAPPERS: [string, Unwrapper][] = [
  [
    'percent',
    // "+" is kept, not read as a space: base64 decoders skip spaces, so keeping it finds more.
    (t) => (/%[0-9A-Fa-f]{2}/.test(t) ? t.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : undefined),
  ],
  [
    'json',
    (t) => {
      if (!t.includes('\\')) return undefined;
      return t.replace(/\\u([0-9A-Fa-f]{4})|\\(.)/gs, (_, hex: string | undefined, ch: string | undefined) => {
        if (hex) return String.fromCharCode(parseInt(hex, 16) & 0xff);
        return ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch === 't' ? '\t' : ch === 'b' || ch === 'f' ? ' ' : ch!;
      });
    },
  ],
  [
    'entities',
    (t) => {
      if (!t.includes('&') && !t.includes('<![CDATA[')) return undefined;
      return t
        .replace(/<!\[CDATA\[|\]\]>/g, '')
        .replace(/&#[xX]([0-9A-Fa-f]+);?|&#([0-9]+);?|&([A-Za-z]+);/g, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
          if (hex) return String.fromCharCode(parseInt(hex, 16) & 0xff);
          if (dec) return String.fromCharCode(Number(dec) & 0xff);
          return NAMED_ENTITIES[name!.toLowerCase()] ?? whole;
        });
    },
  ],
  [
    'quoted-printable',
    // PHP's quoted_printable_decode, as mail-style bodies are read: =XX bytes and soft line breaks.
    (t) => (/=[0-9A-F]{2}/.test(t) ? t.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : undefined),
  ],
  [
    'comments',
    // PHP's XML parser joins the text on both sides of a comment or a CDATA section.
    (t) => (t.includes('<!--') ? t.replace(/<!--[\s\S]*?-->/g, '') : undefined),
  ],
];
