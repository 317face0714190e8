/**
 * A small, strict XML reader for request bodies Veil must understand exactly as the CMS's XML
 * parser (libxml2, through PHP's ext/xml) will: the declared or BOM-marked encoding (UTF-8,
 * UTF-16 LE/BE, ISO-8859-1/US-ASCII), character and predefined entity references, CDATA
 * sections, comments and processing instructions inside text. Anything it cannot read with
 * confidence throws an XmlError: a DOCTYPE (so no entity can be declared, expanded or fetched),
 * an undefined entity, a character XML forbids, a mismatched tag, another encoding.
 *
 * Elements keep their place in the decoded text, so a caller can replace one element's content
 * and re-encode the document in its own encoding (`XmlDocument.rebuild`) with every other byte
 * as it came.
 */

export class XmlError extends Error {}

export type XmlEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'latin1';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  parent?: XmlElement;
  children: XmlElement[];
  /** Character data directly inside (text and CDATA, entities resolved; comments and PIs left out). */
  text: string;
  /** Offsets in the decoded text of the content, between the start tag's `>` and the end tag's `<` (for `<a/>`: the `/>`). */
  contentStart: number;
  contentEnd: number;
  selfClosing: boolean;
}

export interface XmlDocument {
  root: XmlElement;
  encoding: XmlEncoding;
  /** Every element, in document order. */
  elements: XmlElement[];
  /**
   * The body with the content of some elements replaced by the given text (escaped here, any
   * non-ASCII character as a character reference, so any encoding holds it) and the rest as it came.
   */
  rebuild(replacements: Map<XmlElement, string>): Uint8Array;
}

/** Deeper than this is no XML-RPC anyone sends; refusing keeps the reader's work bounded. */
const MAX_DEPTH = 256;

export function parseXml(body: Uint8Array): XmlDocument {
  const { text, encoding, bom } = decodeXml(body);
  const { root, elements } = new Reader(text).document();
  return {
    root,
    encoding,
    elements,
    rebuild(replacements) {
      const sorted = [...replacements].sort(([a], [b]) => a.contentStart - b.contentStart);
      let out = '';
      let at = 0;
      for (const [element, content] of sorted) {
        if (element.contentStart < at) throw new XmlError('overlapping replacements');
        const escaped = escapeXmlText(content);
        out += text.slice(at, element.contentStart) + (element.selfClosing ? `>${escaped}</${element.name}>` : escaped);
        at = element.contentEnd;
      }
      out += text.slice(at);
      return new Uint8Array(Buffer.concat([bom, encodeText(out, encoding)]));
    },
  };
}

/** Text as element content: `&`, `<`, `>` escaped, and anything outside ASCII as `&#N;`. */
export function escapeXmlText(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (code > 0x7e || (code < 0x20 && ch !== '\t' && ch !== '\n')) out += `&#${code};`;
    else out += ch;
  }
  return out;
}

function decodeXml(body: Uint8Array): { text: string; encoding: XmlEncoding; bom: Buffer } {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b.length >= 4 && (b.readUInt32BE(0) === 0x0000feff || b.readUInt32LE(0) === 0x0000feff || b.readUInt32BE(0) === 0x0000003c || b.readUInt32LE(0) === 0x0000003c)) {
    throw new XmlError('UTF-32 is not read');
  }
  let encoding: XmlEncoding;
  let bomLength = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) [encoding, bomLength] = ['utf-8', 3];
  else if (b[0] === 0xff && b[1] === 0xfe) [encoding, bomLength] = ['utf-16le', 2];
  else if (b[0] === 0xfe && b[1] === 0xff) [encoding, bomLength] = ['utf-16be', 2];
  else if (b[0] === 0x3c && b[1] === 0x00) encoding = 'utf-16le';
  else if (b[0] === 0x00 && b[1] === 0x3c) encoding = 'utf-16be';
  else encoding = 'utf-8';

  const rest = b.subarray(bomLength);
  if (encoding === 'utf-8') {
    // An 8-bit stream: the declaration, in ASCII, may name another 8-bit encoding.
    const declared = declaredEncoding(rest.subarray(0, 200).toString('latin1'));
    if (declared && /^(?:iso-8859-1|latin-?1|us-ascii|ascii)$/i.test(declared) && bomLength === 0) encoding = 'latin1';
    else if (declared && !/^utf-?8$/i.test(declared)) throw new XmlError(`encoding ${declared} is not read`);
  }
  let text: string;
  try {
    text = encoding === 'latin1' ? rest.toString('latin1') : new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(rest);
  } catch (err) {
    throw new XmlError(`not valid ${encoding}`, { cause: err });
  }
  if (encoding.startsWith('utf-16')) {
    const declared = declaredEncoding(text);
    if (declared && !/^utf-?16(?:le|be)?$/i.test(declared)) throw new XmlError(`a UTF-16 body declaring ${declared}`);
  }
  return { text, encoding, bom: Buffer.from(b.subarray(0, bomLength)) };
}

function declaredEncoding(head: string): string | undefined {
  const decl = /^\s*<\?xml\s[^?]*\?>/.exec(head);
  if (!decl) return undefined;
  return /\sencoding\s*=\s*["']([^"']*)["']/.exec(decl[0])?.[1];
}

function encodeText(text: string, encoding: XmlEncoding): Buffer {
  if (encoding === 'utf-16be') return Buffer.from(text, 'utf16le').swap16();
  if (encoding === 'utf-16le') return Buffer.from(text, 'utf16le');
  if (encoding === 'latin1') {
    if (/[^\x00-\xff]/.test(text)) throw new XmlError('text outside ISO-8859-1');
    return Buffer.from(text, 'latin1');
  }
  return Buffer.from(text, 'utf8');
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][\w.:\u00B7\u00C0-\uFFFF-]*/y;
const SPACE = /[ \t\r\n]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

class Reader {
  private at = 0;
  private readonly elements: XmlElement[] = [];

  constructor(private readonly s: string) {
    // XML 1.0 forbids these characters anywhere; libxml2 stops at them.
    const bad = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(s);
    if (bad) throw new XmlError(`a character XML does not allow at ${bad.index}`);
  }

  document(): { root: XmlElement; elements: XmlElement[] } {
    // WordPress strips the declaration wherever it is in the first bytes, so whitespace before it is tolerated.
    this.space();
    if (/^<\?xml[ \t\r\n]/.test(this.s.slice(this.at, this.at + 6))) this.processingInstruction(true);
    this.misc();
    if (this.s.startsWith('<!DOCTYPE', this.at) || this.s.startsWith('<!doctype', this.at)) throw new XmlError('a DOCTYPE is not accepted');
    if (this.s[this.at] !== '<') throw new XmlError('no root element');
    const root = this.element(undefined, 0);
    this.misc();
    if (this.at !== this.s.length) throw new XmlError('content after the root element');
    return { root, elements: this.elements };
  }

  /** Whitespace, comments and PIs around the root element. */
  private misc(): void {
    for (;;) {
      this.space();
      if (this.s.startsWith('<!--', this.at)) this.comment();
      else if (this.s.startsWith('<?', this.at)) this.processingInstruction(false);
      else return;
    }
  }

  private element(parent: XmlElement | undefined, depth: number): XmlElement {
    if (depth > MAX_DEPTH) throw new XmlError('elements nested too deeply');
    this.expect('<');
    const name = this.name();
    const attributes: Record<string, string> = {};
    for (;;) {
      const spaced = this.space();
      if (this.s.startsWith('/>', this.at) || this.s[this.at] === '>') break;
      if (!spaced) throw new XmlError('attributes must be separated by spaces');
      const attr = this.name();
      this.space();
      this.expect('=');
      this.space();
      const quote = this.s[this.at];
      if (quote !== '"' && quote !== "'") throw new XmlError('an attribute value without quotes');
      const end = this.s.indexOf(quote, this.at + 1);
      if (end === -1) throw new XmlError('an unterminated attribute value');
      const raw = this.s.slice(this.at + 1, end);
      if (raw.includes('<')) throw new XmlError('"<" in an attribute value');
      if (attr in attributes) throw new XmlError('a repeated attribute');
      attributes[attr] = resolveReferences(raw).replace(/[\t\r\n]/g, ' ');
      this.at = end + 1;
    }
    const element: XmlElement = { name, attributes, parent, children: [], text: '', contentStart: 0, contentEnd: 0, selfClosing: false };
    this.elements.push(element);
    parent?.children.push(element);
    if (this.s.startsWith('/>', this.at)) {
      element.contentStart = this.at;
      this.at += 2;
      element.contentEnd = this.at;
      element.selfClosing = true;
      return element;
    }
    this.at += 1;
    element.contentStart = this.at;
    for (;;) {
      const lt = this.s.indexOf('<', this.at);
      if (lt === -1) throw new XmlError(`<${name}> is not closed`);
      if (lt > this.at) {
        const raw = this.s.slice(this.at, lt);
        if (raw.includes(']]>')) throw new XmlError('"]]>" in text');
        element.text += resolveReferences(raw.replace(/\r\n?/g, '\n'));
        this.at = lt;
      }
      if (this.s.startsWith('</', this.at)) {
        element.contentEnd = this.at;
        this.at += 2;
        if (this.name() !== name) throw new XmlError(`<${name}> closed by another tag`);
        this.space();
        this.expect('>');
        return element;
      }
      if (this.s.startsWith('<!--', this.at)) this.comment();
      else if (this.s.startsWith('<![CDATA[', this.at)) {
        const end = this.s.indexOf(']]>', this.at + 9);
        if (end === -1) throw new XmlError('an unterminated CDATA section');
        element.text += this.s.slice(this.at + 9, end).replace(/\r\n?/g, '\n');
        this.at = end + 3;
      } else if (this.s.startsWith('<?', this.at)) this.processingInstruction(false);
      else if (this.s.startsWith('<!', this.at)) throw new XmlError('a declaration inside an element');
      else this.element(element, depth + 1);
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.at + 4);
    if (end === -1) throw new XmlError('an unterminated comment');
    if (this.s.slice(this.at + 4, end).includes('--')) throw new XmlError('"--" inside a comment');
    this.at = end + 3;
  }

  private processingInstruction(declaration: boolean): void {
    this.at += 2;
    const target = this.name();
    if (!declaration && target.toLowerCase() === 'xml') throw new XmlError('an XML declaration not at the start');
    const end = this.s.indexOf('?>', this.at);
    if (end === -1) throw new XmlError('an unterminated processing instruction');
    this.at = end + 2;
  }

  private name(): string {
    NAME.lastIndex = this.at;
    const m = NAME.exec(this.s);
    if (!m) throw new XmlError(`a name expected at ${this.at}`);
    this.at += m[0].length;
    return m[0];
  }

  private space(): boolean {
    SPACE.lastIndex = this.at;
    const m = SPACE.exec(this.s)!;
    this.at += m[0].length;
    return m[0].length > 0;
  }

  private expect(ch: string): void {
    if (this.s[this.at] !== ch) throw new XmlError(`"${ch}" expected at ${this.at}`);
    this.at += 1;
  }
}

/** Character references and the five predefined entities; any other entity is refused. */
function resolveReferences(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&<]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new XmlError('an "&" that starts no reference');
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (!num) throw new XmlError('an entity XML-RPC does not define');
    const code = num[1] !== undefined ? parseInt(num[1], 16) : parseInt(num[2]!, 10);
    const allowed = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) throw new XmlError('a character reference XML does not allow');
    return String.fromCodePoint(code);
  });
}
