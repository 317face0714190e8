/**
 * OpenDocument files (ODT, ODP, ODS, from LibreOffice and others): every picture through the
 * photo step in place, meta.xml emptied of people and dates, comment and change authors blanked,
 * the thumbnail removed; `mimetype` stays the first entry, stored, as ODF requires.
 */
import { VeilError } from '../errors.js';
import { CONTENT_TYPES } from '../filename.js';
import type { OutputFormat } from '../types.js';
import { checkDepth, PictureTally } from './package-parts.js';
import { packageResult } from './package-report.js';
import { readParts, walkParts, type PackagePart } from './package-walk.js';
import type { DocumentOptions, DocumentResult } from './types.js';
import { decodeXml, encodeXml, escapeAttribute, mapAttribute, replaceElementText, startTags, stripComments, type XmlText } from './xml-text.js';
import { writeZip } from './zip-archive.js';

const MANIFEST = 'META-INF/manifest.xml';

const FLAVOURS: Record<string, { typeName: string; extension: string; where: string }> = {
  'application/vnd.oasis.opendocument.text': { typeName: 'OpenDocument text (ODT)', extension: 'odt', where: 'this document' },
  'application/vnd.oasis.opendocument.text-template': { typeName: 'OpenDocument text template (OTT)', extension: 'ott', where: 'this document' },
  'application/vnd.oasis.opendocument.presentation': { typeName: 'OpenDocument presentation (ODP)', extension: 'odp', where: 'this presentation' },
  'application/vnd.oasis.opendocument.presentation-template': { typeName: 'OpenDocument presentation template (OTP)', extension: 'otp', where: 'this presentation' },
  'application/vnd.oasis.opendocument.spreadsheet': { typeName: 'OpenDocument spreadsheet (ODS)', extension: 'ods', where: 'this spreadsheet' },
  'application/vnd.oasis.opendocument.spreadsheet-template': { typeName: 'OpenDocument spreadsheet template (OTS)', extension: 'ots', where: 'this spreadsheet' },
  'application/vnd.oasis.opendocument.graphics': { typeName: 'OpenDocument drawing (ODG)', extension: 'odg', where: 'this drawing' },
};

export async function sanitiseOpenDocument(bytes: Uint8Array, options: DocumentOptions): Promise<DocumentResult> {
  const started = performance.now();
  checkDepth(options, 'this document');
  return sanitiseOpenDocumentParts(readParts(bytes), bytes.length, options, started);
}

export async function sanitiseOpenDocumentParts(
  parts: PackagePart[],
  inputBytes: number,
  options: DocumentOptions,
  started: number,
): Promise<DocumentResult> {
  const mimetypePart = parts.find((p) => p.name === 'mimetype');
  const mimetype = mimetypePart?.data.toString('latin1').trim() ?? '';
  const flavour = FLAVOURS[mimetype];
  if (!flavour) throw new VeilError('UNSUPPORTED_FORMAT', 'This OpenDocument file is not a text document, presentation, spreadsheet or drawing, which are the kinds Veil accepts.');
  const manifestPart = parts.find((p) => p.name === MANIFEST);
  if (!manifestPart) throw new VeilError('CORRUPT_ARCHIVE', 'This OpenDocument file has no manifest, so it is damaged. Save it again and upload the new file.');
  const manifest = decodeXml(manifestPart.data);
  if (/<(?:[\w.-]+:)?encryption-data[\s>/]/.test(manifest.text)) {
    throw new VeilError('ARCHIVE_ENCRYPTED', 'This document is password-protected, so Veil cannot check what it shows. Remove the password and upload it again.');
  }

  const tally = new PictureTally();
  const removedKinds: string[] = [];
  const changes: string[] = [];
  const note = (kind: string) => {
    if (!removedKinds.includes(kind)) removedKinds.push(kind);
  };
  const removed = new Set(parts.filter((p) => /^Thumbnails\//i.test(p.name)).map((p) => p.name));
  if ([...removed].some((n) => !n.endsWith('/'))) note('thumbnail preview');
  const kept = parts.filter((p) => !removed.has(p.name));

  const renames = await walkParts(kept, options, tally, {
    where: flavour.where,
    skip: (name) => name === 'mimetype' || name === MANIFEST,
  });

  for (const part of kept) {
    if (!/\.(xml|rdf)$/i.test(part.name) || part.name === MANIFEST) continue;
    let xml = decodeXml(part.data);
    const base = part.name.slice(0, part.name.lastIndexOf('/') + 1);
    if (/^meta\.xml$/.test(part.name)) xml = emptyMeta(xml, note);
    else xml = cleanPart(part.name, xml, note);
    if (renames.size > 0) xml = { ...xml, text: mapAttribute(xml.text, 'href', (href) => repoint(base, href, renames)) };
    part.data = encodeXml(xml);
  }
  manifestPart.data = encodeXml(rewriteManifest(manifest, renames, removed));
  if (renames.size > 0) changes.push(`${renames.size === 1 ? '1 picture was' : `${renames.size} pictures were`} converted to a format every reader shows (JPEG or PNG)`);

  return packageResult({
    kind: 'opendocument',
    typeName: flavour.typeName,
    extension: flavour.extension,
    contentType: mimetype,
    inputBytes,
    tally,
    removed: removedKinds,
    changes,
    started,
    options,
    // ODF readers find the type from `mimetype`: first in the archive, not compressed.
    write: () =>
      writeZip([
        { name: 'mimetype', data: Buffer.from(mimetype, 'latin1'), compress: false },
        ...kept.filter((p) => p.name !== 'mimetype').map((p) => ({ name: p.name, data: p.data, compress: p.compress || /\.(xml|rdf)$/i.test(p.name) })),
      ]),
  });
}

const META_KINDS: [string[], string][] = [
  [['initial-creator'], 'author name'],
  [['creator'], "last editor's name"],
  [['printed-by'], 'name of who printed it'],
  [['user-defined'], 'custom properties'],
  [['title', 'subject', 'description', 'keyword'], 'title and subject'],
  [['creation-date', 'date', 'print-date'], 'creation and editing dates'],
  [['editing-cycles', 'editing-duration'], 'revision details'],
  [['template', 'hyperlink-behaviour', 'auto-reload'], 'template and link locations'],
];

/** meta.xml kept only as a valid, empty shell (its version attribute stays). */
function emptyMeta(xml: XmlText, note: (kind: string) => void): XmlText {
  const text = stripComments(xml.text);
  for (const [locals, kind] of META_KINDS) {
    const present = locals.some((local) => new RegExp(`<(?:[\\w.-]+:)?${local}[\\s/>]`).test(text));
    if (present) note(kind);
  }
  const version = /\soffice:version\s*=\s*("[^"]*"|'[^']*')/.exec(text)?.[1] ?? '"1.2"';
  return {
    encoding: 'utf-8',
    text:
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version=${version}><office:meta/></office:document-meta>`,
  };
}

/** Comment and tracked-change authors (dc:creator, initials), and the printer a settings file names. */
function cleanPart(name: string, xml: XmlText, note: (kind: string) => void): XmlText {
  let text = stripComments(xml.text);
  const authors = replaceElementText(text, ['creator', 'creator-initials'], '');
  text = authors.text;
  if (authors.count > 0) note('names of comment and revision authors');
  if (/(^|\/)settings\.xml$/.test(name)) {
    const printer = /(<(?:[\w.-]+:)?config-item\s[^>]*name="(?:PrinterName|PrinterSetup|PrinterPaperFromSetup)"[^>]*>)([^<]*)(<\/)/g;
    let count = 0;
    text = text.replace(printer, (_m, open: string, inner: string, close: string) => {
      if (inner.trim() !== '') count++;
      return `${open}${close}`;
    });
    if (count > 0) note('printer name');
  }
  return { ...xml, text };
}

function repoint(base: string, href: string, renames: Map<string, string>): string | undefined {
  if (/^[a-z][\w+.-]*:/i.test(href) || href.startsWith('#')) return undefined;
  const segments = (base + href).split('/');
  const out: string[] = [];
  for (const s of segments) {
    if (s === '..') out.pop();
    else if (s !== '.' && s !== '') out.push(s);
  }
  const next = renames.get(out.join('/'));
  // Same folder, new extension: only the last segment of the reference changes.
  return next === undefined ? undefined : href.replace(/[^/]*$/, next.slice(next.lastIndexOf('/') + 1));
}

function rewriteManifest(xml: XmlText, renames: Map<string, string>, removed: Set<string>): XmlText {
  let text = xml.text;
  for (const { tag, attributes } of startTags(text, 'file-entry')) {
    const path = attributes['full-path'] ?? '';
    if (removed.has(path)) {
      text = text.replace(tag, '');
      continue;
    }
    const next = renames.get(path);
    if (next === undefined) continue;
    const type = CONTENT_TYPES[(next.endsWith('.jpeg') || next.endsWith('.jpg') ? 'jpeg' : next.slice(next.lastIndexOf('.') + 1)) as OutputFormat] ?? 'application/octet-stream';
    const edited = tag
      .replace(/(\s(?:[\w.-]+:)?full-path\s*=\s*)("[^"]*"|'[^']*')/, `$1"${escapeAttribute(next)}"`)
      .replace(/(\s(?:[\w.-]+:)?media-type\s*=\s*)("[^"]*"|'[^']*')/, `$1"${type}"`);
    text = text.replace(tag, edited);
  }
  return { ...xml, text };
}
