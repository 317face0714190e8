/**
 * Word, PowerPoint and Excel files (DOCX, PPTX, XLSX and their macro and template variants):
 * every picture through the photo step in place, the people's names taken out of the document
 * properties and comments, custom properties and the thumbnail removed; still a valid package.
 */
import { VeilError } from '../errors.js';
import { CONTENT_TYPES } from '../filename.js';
import type { OutputFormat } from '../types.js';
import {
  CONTENT_TYPES_PART, relationships, rewriteContentTypes, rewriteRelationships,
} from './office-package.js';
import { sanitiseOpenDocumentParts } from './opendocument.js';
import { checkDepth, PictureTally } from './package-parts.js';
import { packageResult } from './package-report.js';
import { readParts, walkParts, type PackagePart } from './package-walk.js';
import type { DocumentOptions, DocumentResult } from './types.js';
import { decodeXml, encodeXml, removeElements, replaceAttributes, replaceElementText, stripComments, type XmlText } from './xml-text.js';
import { writeZip } from './zip-archive.js';

interface Flavour {
  typeName: string;
  extension: string;
  contentType: string;
  /** "this Word document", for messages. */
  where: string;
}

const REL = 'http://schemas.openxmlformats.org/package/2006/relationships/metadata/';
const CORE_TYPE = `${REL}core-properties`;
const THUMBNAIL_TYPE = `${REL}thumbnail`;
const CUSTOM_TYPE = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties';

/** Is this archive an Office Open XML package? */
export function isOfficePackage(parts: PackagePart[]): boolean {
  return parts.some((p) => p.name === CONTENT_TYPES_PART);
}

/**
 * `sanitiseOffice` takes DOCX, PPTX and XLSX, and OpenDocument files too (ODT, ODP, ODS), so the
 * dispatcher can send it any ZIP-based document.
 */
export async function sanitiseOffice(bytes: Uint8Array, options: DocumentOptions): Promise<DocumentResult> {
  const started = performance.now();
  checkDepth(options, 'this document');
  const parts = readParts(bytes);
  if (parts.some((p) => p.name === 'mimetype')) {
    return sanitiseOpenDocumentParts(parts, bytes.length, options, started);
  }
  if (!isOfficePackage(parts)) {
    throw new VeilError('UNSUPPORTED_FORMAT', 'This ZIP file is not a Word, PowerPoint or Excel document (it has no [Content_Types].xml).');
  }
  const byName = new Map(parts.map((p) => [p.name, p]));
  const contentTypes = decodeXml(byName.get(CONTENT_TYPES_PART)!.data);
  const flavour = flavourOf(contentTypes.text, byName);

  const tally = new PictureTally();
  const removedKinds: string[] = [];
  const changes: string[] = [];
  const note = (kind: string) => {
    if (!removedKinds.includes(kind)) removedKinds.push(kind);
  };

  // The package's own metadata parts, found through the root relationships (and where Office puts them).
  const rootRels = byName.get('_rels/.rels');
  const rootRelations = rootRels ? relationships('_rels/.rels', decodeXml(rootRels.data)) : [];
  const partOfType = (type: string) => rootRelations.filter((r) => r.type === type && r.part).map((r) => r.part!);
  const removed = new Set<string>();
  for (const name of [...partOfType(THUMBNAIL_TYPE), ...parts.map((p) => p.name).filter((n) => /^docProps\/thumbnail\.[^/]+$/i.test(n))]) {
    if (byName.has(name) && !removed.has(name.toLowerCase())) {
      removed.add(name.toLowerCase());
      note('thumbnail preview');
    }
  }
  for (const name of [...partOfType(CUSTOM_TYPE), 'docProps/custom.xml']) {
    const part = byName.get(name);
    if (!part) continue;
    removed.add(name.toLowerCase());
    if (/<(?:[\w.-]+:)?property[\s>]/.test(decodeXml(part.data).text)) note('custom properties');
  }
  const corePart = partOfType(CORE_TYPE).find((n) => byName.has(n)) ?? (byName.has('docProps/core.xml') ? 'docProps/core.xml' : undefined);

  const kept = parts.filter((p) => !removed.has(p.name.toLowerCase()));
  const isPackageXml = (name: string) => name === CONTENT_TYPES_PART || name.endsWith('.rels');
  const renames = await walkParts(kept, options, tally, { where: flavour.where, skip: isPackageXml });

  for (const part of kept) {
    if (part.name === CONTENT_TYPES_PART || part.name.endsWith('/') || !isXmlPart(part)) continue;
    let xml = decodeXml(part.data);
    if (part.name === corePart) {
      for (const kind of coreKinds(xml.text)) note(kind);
      xml = { ...xml, text: EMPTY_CORE };
    } else if (part.name.endsWith('.rels')) {
      xml = rewriteRelationships(part.name, xml, renames, removed);
    } else {
      xml = cleanPart(part.name, xml, note);
    }
    part.data = encodeXml(xml);
  }
  const typesPart = byName.get(CONTENT_TYPES_PART)!;
  typesPart.data = encodeXml(rewriteContentTypes(contentTypes, renames, removed, contentTypeOf));
  if (renames.size > 0) changes.push(`${renames.size === 1 ? '1 picture was' : `${renames.size} pictures were`} converted to a format every reader shows (JPEG or PNG)`);

  return packageResult({
    kind: 'office',
    ...flavour,
    inputBytes: bytes.length,
    tally,
    removed: removedKinds,
    changes,
    started,
    options,
    write: () => writeZip(kept.map((p) => ({ name: p.name, data: p.data, compress: p.compress || isXmlPart(p) }))),
  });
}

function isXmlPart(part: PackagePart): boolean {
  return part.name.endsWith('.rels') || /\.(xml|vml)$/i.test(part.name);
}

/** An empty but valid core-properties part: Office and LibreOffice open it without complaint. */
const EMPTY_CORE =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ' +
  'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' +
  'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></cp:coreProperties>';

const CORE_KINDS: [string[], string][] = [
  [['creator'], 'author name'],
  [['lastModifiedBy'], "last editor's name"],
  [['title', 'subject', 'description', 'keywords', 'category'], 'title and subject'],
  [['created', 'modified', 'lastPrinted'], 'creation and editing dates'],
  [['revision', 'version', 'identifier', 'contentStatus', 'language'], 'revision details'],
];

function coreKinds(text: string): string[] {
  const found: string[] = [];
  for (const [locals, kind] of CORE_KINDS) if (removeElements(text, locals).count > 0) found.push(kind);
  return found;
}

/** People's names in the parts Office writes them to: properties, comments, revisions, co-authors. */
function cleanPart(name: string, xml: XmlText, note: (kind: string) => void): XmlText {
  let text = stripComments(xml.text);
  const apply = (edit: { text: string; count: number }, kind: string) => {
    text = edit.text;
    if (edit.count > 0) note(kind);
  };
  if (/^docProps\/app\.xml$/i.test(name)) {
    apply(removeElements(text, ['Company']), 'company name');
    apply(removeElements(text, ['Manager']), "manager's name");
    apply(removeElements(text, ['Template', 'HyperlinkBase']), 'template and link locations');
  }
  if (name.startsWith('word/')) {
    // Comments, tracked changes and co-authors (people.xml) all name people in w:author and w:initials.
    apply(replaceAttributes(text, '*', { author: 'Author', initials: 'A' }), 'names of comment and revision authors');
    apply(removeElements(text, ['presenceInfo']), 'names of comment and revision authors');
  }
  if (name.startsWith('ppt/')) {
    apply(replaceAttributes(text, ['cmAuthor', 'author'], { name: 'Author', initials: 'A', userId: '', providerId: 'None' }), 'names of comment authors');
  }
  if (name.startsWith('xl/')) {
    if (/comments\d*\.xml$/i.test(name)) apply(replaceElementText(text, ['author'], 'Author'), 'names of comment authors');
    apply(replaceAttributes(text, ['person'], { displayName: 'Author', userId: '', providerId: 'None' }), 'names of comment authors');
    apply(replaceAttributes(text, ['userInfo'], { name: 'Author' }), 'names of comment and revision authors');
  }
  return { ...xml, text };
}

const OUTPUT_TYPES = new Map<string, string>(
  (Object.entries(CONTENT_TYPES) as [OutputFormat, string][]).flatMap(([format, type]) =>
    (format === 'jpeg' ? ['jpeg', 'jpg'] : [format]).map((ext) => [ext, type] as [string, string]),
  ),
);

function contentTypeOf(name: string): string {
  return OUTPUT_TYPES.get(name.slice(name.lastIndexOf('.') + 1).toLowerCase()) ?? 'application/octet-stream';
}

function flavourOf(types: string, byName: Map<string, PackagePart>): Flavour {
  const variant = (/\.template(?:\.macroEnabled)?\.main\+xml/i.test(types) ? 't' : '') + (/macroEnabled/i.test(types) ? 'm' : '');
  const make = (app: keyof typeof EXTENSIONS, label: string, where: string): Flavour => {
    const extension = EXTENSIONS[app][variant] ?? EXTENSIONS[app]['']!;
    return { typeName: `${label} (${extension.toUpperCase()})`, extension, contentType: OFFICE_MIME[extension]!, where };
  };
  if (byName.has('word/document.xml') || /wordprocessingml/.test(types)) return make('word', 'Word document', 'this Word document');
  if (byName.has('ppt/presentation.xml') || /presentationml/.test(types)) return make('powerpoint', 'PowerPoint presentation', 'this presentation');
  if (byName.has('xl/workbook.xml') || /spreadsheetml/.test(types)) return make('excel', 'Excel workbook', 'this workbook');
  throw new VeilError('UNSUPPORTED_FORMAT', 'This Office file is not a Word, PowerPoint or Excel document, which are the Office files Veil accepts.');
}

/** By application, then '' (document), 't' (template), 'm' (macros), 'tm'. */
const EXTENSIONS = {
  word: { '': 'docx', t: 'dotx', m: 'docm', tm: 'dotm' },
  powerpoint: { '': 'pptx', t: 'potx', m: 'pptm', tm: 'potm' },
  excel: { '': 'xlsx', t: 'xltx', m: 'xlsm', tm: 'xltm' },
} as Record<'word' | 'powerpoint' | 'excel', Record<string, string>>;

const OFFICE_MIME: Record<string, string> = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  dotx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.template',
  docm: 'application/vnd.ms-word.document.macroEnabled.12',
  dotm: 'application/vnd.ms-word.template.macroEnabled.12',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  potx: 'application/vnd.openxmlformats-officedocument.presentationml.template',
  pptm: 'application/vnd.ms-powerpoint.presentation.macroEnabled.12',
  potm: 'application/vnd.ms-powerpoint.template.macroEnabled.12',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xltx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.template',
  xlsm: 'application/vnd.ms-excel.sheet.macroEnabled.12',
  xltm: 'application/vnd.ms-excel.template.macroEnabled.12',
};
