/**
 * Open Packaging Conventions (the ZIP layout of DOCX, PPTX and XLSX): relationships and content
 * types, so that a part renamed (a HEIC photo that became a JPEG) or removed (a thumbnail) is
 * renamed or removed everywhere it is named.
 */
import { escapeAttribute, startTags, type XmlText } from './xml-text.js';

export const CONTENT_TYPES_PART = '[Content_Types].xml';

/** `word/_rels/document.xml.rels` describes `word/document.xml`; its targets are relative to `word/`. */
export function relsBase(relsName: string): string | undefined {
  const match = /^(.*?)_rels\/[^/]*\.rels$/.exec(relsName);
  return match ? match[1] : undefined;
}

/** A relationship's target as a part name (no leading slash), or undefined when it points outside. */
export function resolveTarget(base: string, target: string, mode: string | undefined): string | undefined {
  if (mode === 'External' || /^[a-z][\w+.-]*:/i.test(target)) return undefined;
  let decoded = target;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    // a literal % in a name: compare as written
  }
  const path = decoded.startsWith('/') ? decoded.slice(1) : base + decoded;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '..') out.pop();
    else if (segment !== '.' && segment !== '') out.push(segment);
  }
  return out.join('/');
}

export interface Relationship {
  tag: string;
  type: string;
  target: string;
  /** The part it points at, inside the package. */
  part: string | undefined;
}

export function relationships(relsName: string, xml: XmlText): Relationship[] {
  const base = relsBase(relsName) ?? '';
  return startTags(xml.text, 'Relationship').map(({ tag, attributes }) => ({
    tag,
    type: attributes['Type'] ?? '',
    target: attributes['Target'] ?? '',
    part: resolveTarget(base, attributes['Target'] ?? '', attributes['TargetMode']),
  }));
}

/** Drops relationships to removed parts and repoints those to renamed ones. */
export function rewriteRelationships(relsName: string, xml: XmlText, renamed: Map<string, string>, removed: Set<string>): XmlText {
  let text = xml.text;
  for (const rel of relationships(relsName, xml)) {
    if (rel.part === undefined) continue;
    const key = rel.part.toLowerCase();
    if (removed.has(key)) {
      text = text.replace(new RegExp(`${escapeRegExp(rel.tag)}(?:\\s*</(?:[\\w.-]+:)?Relationship\\s*>)?`), '');
      continue;
    }
    const next = renamed.get(rel.part);
    if (next === undefined) continue;
    // Same folder, new extension: only the last segment of the target changes.
    const target = rel.target.replace(/[^/]*$/, encodeURI(next.slice(next.lastIndexOf('/') + 1)));
    text = text.replace(rel.tag, rel.tag.replace(/(\sTarget\s*=\s*)("[^"]*"|'[^']*')/, `$1"${escapeAttribute(target)}"`));
  }
  return { ...xml, text };
}

/** Removes overrides for parts that are gone or renamed, and names the renamed ones' new types. */
export function rewriteContentTypes(xml: XmlText, renamed: Map<string, string>, removed: Set<string>, typeOf: (name: string) => string): XmlText {
  let text = xml.text;
  const dropped = new Set([...removed, ...[...renamed.keys()].map((k) => k.toLowerCase())]);
  for (const { tag, attributes } of startTags(text, 'Override')) {
    const part = (attributes['PartName'] ?? '').replace(/^\//, '').toLowerCase();
    if (dropped.has(part)) text = text.replace(new RegExp(`${escapeRegExp(tag)}(?:\\s*</(?:[\\w.-]+:)?Override\\s*>)?`), '');
  }
  const added = [...renamed.values()]
    .map((name) => `<Override PartName="/${escapeAttribute(encodeURI(name))}" ContentType="${escapeAttribute(typeOf(name))}"/>`)
    .join('');
  if (added) text = text.replace(/<\/(?:[\w.-]+:)?Types\s*>\s*$/, (close) => `${added}${close}`);
  return { ...xml, text };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
