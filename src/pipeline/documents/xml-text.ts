/**
 * Small, exact edits to the XML parts of Office and OpenDocument files: blank an attribute,
 * empty or remove an element, repoint a reference. Edits are made in the text rather than by
 * parsing and re-serialising, because a round trip through a generic XML library reorders
 * namespaces, drops `mc:Ignorable` markup and changes whitespace that Word and LibreOffice care
 * about; everything not edited stays byte for byte.
 */
import { VeilError } from '../errors.js';

export interface XmlText {
  text: string;
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be';
}

/** Does the part look like XML (after an optional byte-order mark and whitespace)? */
export function looksLikeXml(bytes: Uint8Array): boolean {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes[2] === 0x3c || (bytes[2] === 0x20 || bytes[2] === 0x0a || bytes[2] === 0x0d);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return bytes[3] === 0x3c || bytes[3] === 0x20 || bytes[3] === 0x0a || bytes[3] === 0x0d;
  let at = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (at < bytes.length && at < 64 && (bytes[at] === 0x20 || bytes[at] === 0x09 || bytes[at] === 0x0a || bytes[at] === 0x0d)) at++;
  return bytes[at] === 0x3c && (bytes[at + 1] === 0x3f || /[A-Za-z_]/.test(String.fromCharCode(bytes[at + 1] ?? 0)));
}

export function decodeXml(bytes: Uint8Array): XmlText {
  let xml: XmlText;
  try {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) xml = { text: new TextDecoder('utf-16le', { fatal: true }).decode(bytes.subarray(2)), encoding: 'utf-16le' };
    else if (bytes[0] === 0xfe && bytes[1] === 0xff) xml = { text: new TextDecoder('utf-16be', { fatal: true }).decode(bytes.subarray(2)), encoding: 'utf-16be' };
    else xml = { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes), encoding: 'utf-8' };
  } catch {
    throw new VeilError('CORRUPT_ARCHIVE', 'A part of this document is not readable text. Save the document again and upload the new file.');
  }
  // Office and OpenDocument forbid DTDs; one here could only be an entity-expansion or
  // external-entity attack on whatever opens the file next.
  if (/<!DOCTYPE/i.test(xml.text)) throw new VeilError('ARCHIVE_UNSAFE', 'This document cannot be accepted: a part of it declares a DTD, which Office and OpenDocument files never do.');
  return xml;
}

export function encodeXml(xml: XmlText): Buffer {
  if (xml.encoding === 'utf-8') return Buffer.from(xml.text, 'utf8');
  const le = Buffer.from(xml.text, 'utf16le');
  if (xml.encoding === 'utf-16be') le.swap16();
  return Buffer.concat([Buffer.from(xml.encoding === 'utf-16le' ? [0xff, 0xfe] : [0xfe, 0xff]), le]);
}

/** Comments have no meaning to any reader, may carry names, and would confuse the edits below. */
export function stripComments(text: string): string {
  return text.replace(/<!--[\s\S]*?-->/g, '');
}

const ATTRS = `(?:[^>"']|"[^"]*"|'[^']*')*`;
const QNAME = (local: string) => `(?:[\\w.-]+:)?${local}`;

/** Removes every element with one of these local names (any prefix), empty or with content. */
export function removeElements(text: string, locals: string[]): { text: string; count: number } {
  let count = 0;
  for (const local of locals) {
    const pattern = new RegExp(`<(${QNAME(local)})(?=[\\s/>])${ATTRS}?(?:/>|>[\\s\\S]*?</\\1\\s*>)`, 'g');
    text = text.replace(pattern, (whole) => {
      // Counted only when it said something: an empty <Company/> gave nothing away.
      if (whole.replace(/<[^>]*>/g, '').trim() !== '') count++;
      return '';
    });
  }
  return { text, count };
}

/** Replaces the text inside every element with one of these local names; counts those that had any. */
export function replaceElementText(text: string, locals: string[], replacement: string): { text: string; count: number } {
  let count = 0;
  for (const local of locals) {
    const pattern = new RegExp(`<(${QNAME(local)})((?=[\\s>])${ATTRS})>([\\s\\S]*?)</\\1\\s*>`, 'g');
    text = text.replace(pattern, (_whole, name: string, attrs: string, inner: string) => {
      if (inner.trim() !== '' && inner !== replacement) count++;
      return `<${name}${attrs}>${replacement}</${name}>`;
    });
  }
  return { text, count };
}

/**
 * In every start tag of these elements (any prefix; `*` for all), sets these attributes (any
 * prefix) to the value given, where present. Counts the attributes that changed.
 */
export function replaceAttributes(text: string, elements: string[] | '*', attributes: Record<string, string>): { text: string; count: number } {
  let count = 0;
  const elementPattern = elements === '*' ? '[\\w.-]+(?::[\\w.-]+)?' : `(?:[\\w.-]+:)?(?:${elements.join('|')})`;
  const tag = new RegExp(`<(${elementPattern})(\\s${ATTRS})(/?)>`, 'g');
  const attr = new RegExp(`(\\s(?:[\\w.-]+:)?)(${Object.keys(attributes).join('|')})(\\s*=\\s*)("[^"]*"|'[^']*')`, 'g');
  text = text.replace(tag, (_whole, name: string, attrs: string, close: string) => {
    const edited = attrs.replace(attr, (_a, lead: string, local: string, eq: string, quoted: string) => {
      const value = attributes[local]!;
      if (quoted.slice(1, -1) !== value) count++;
      return `${lead}${local}${eq}"${escapeAttribute(value)}"`;
    });
    return `<${name}${edited}${close}>`;
  });
  return { text, count };
}

/** Every value of an attribute (any prefix), with a function to rewrite it; for references. */
export function mapAttribute(text: string, attribute: string, map: (value: string) => string | undefined): string {
  const attr = new RegExp(`(\\s(?:[\\w.-]+:)?${attribute}\\s*=\\s*)("([^"]*)"|'([^']*)')`, 'g');
  return text.replace(attr, (whole, lead: string, _q: string, double: string | undefined, single: string | undefined) => {
    const value = unescapeAttribute(double ?? single ?? '');
    const next = map(value);
    return next === undefined || next === value ? whole : `${lead}"${escapeAttribute(next)}"`;
  });
}

/** Start tags of an element (any prefix), with their attributes decoded: for rels and manifests. */
export function startTags(text: string, local: string): { tag: string; attributes: Record<string, string> }[] {
  const tag = new RegExp(`<${QNAME(local)}(?=[\\s/>])${ATTRS}>`, 'g');
  return [...text.matchAll(tag)].map((m) => ({ tag: m[0], attributes: parseAttributes(m[0]) }));
}

function parseAttributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/\s((?:[\w.-]+:)?[\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    const name = m[1]!;
    out[name.includes(':') ? name.slice(name.indexOf(':') + 1) : name] = unescapeAttribute(m[2] ?? m[3] ?? '');
  }
  return out;
}

export function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

function unescapeAttribute(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_m, d: string) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&amp;/g, '&');
}
