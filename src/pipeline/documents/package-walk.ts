/**
 * One pass over the files of a ZIP-based container: pictures through the photo step, documents
 * inside back through the dispatcher, drawings and text checked for pictures Veil cannot reach.
 * What the container's own XML says (authors, references) is the caller's part.
 */
import type { OutputFormat } from '../types.js';
import {
  classifyPart, cleanSvg, findHiddenPicture, findPictureInText, refuseUnreadable, renamedForFormat,
  sanitiseInnerDocument, sanitiseInnerPicture, type PictureTally,
} from './package-parts.js';
import type { DocumentOptions, DocumentResult } from './types.js';
import { decodeXml, encodeXml } from './xml-text.js';
import { readZip, type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from './zip-archive.js';

export interface PackagePart {
  name: string;
  data: Buffer;
  /** Deflate on writing; pictures and other already-packed data are stored. */
  compress: boolean;
}

export type SanitiseInner = (bytes: Uint8Array, options: DocumentOptions) => Promise<DocumentResult>;

/** Every entry of an archive, unpacked (each checked against its size and CRC), in archive order. */
export function readParts(bytes: Uint8Array, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): PackagePart[] {
  return readZip(bytes, limits).map((entry) => ({ name: entry.name, data: entry.read(), compress: entry.method === 'deflated' }));
}

export interface WalkOptions {
  /** "this Word document": where a refusal says the problem is. */
  where: string;
  /** Parts the caller handles itself (relationships, manifests, metadata it rewrites). */
  skip?: (name: string) => boolean;
  /** For a plain archive: how a sanitised picture's or document's entry is named. */
  nameFor?: (part: PackagePart, produced: { filename: string; format?: OutputFormat }) => string;
}

/** Without a dispatcher (tests, a ZIP-only caller) ZIP-based documents inside are still handled here. */
const sanitiseZipBased: SanitiseInner = async (bytes, options) => (await import('./zip-sanitise.js')).sanitiseZip(bytes, options);

/** Old name → new name, for the parts whose type (and so extension) changed. */
export async function walkParts(parts: PackagePart[], options: DocumentOptions, tally: PictureTally, walk: WalkOptions): Promise<Map<string, string>> {
  const renames = new Map<string, string>();
  const taken = new Set(parts.map((p) => p.name.toLowerCase()));
  const isTaken = (candidate: string) => taken.has(candidate.toLowerCase());
  for (const part of parts) {
    if (part.name.endsWith('/') || walk.skip?.(part.name)) continue;
    const what = classifyPart(part.data);
    switch (what.kind) {
      case 'picture': {
        const result = await sanitiseInnerPicture(part.data, options, walk.where);
        tally.addPicture(result);
        if (result.outcome !== 'sanitised') break;
        part.data = result.bytes;
        part.compress = false;
        const name = walk.nameFor ? walk.nameFor(part, result) : renamedForFormat(part.name, result.format, isTaken);
        rename(part, name);
        break;
      }
      case 'document': {
        const result = await sanitiseInnerDocument(part.data, options, walk.where, what.description, what.zip ? sanitiseZipBased : undefined);
        tally.addDocument(result);
        if (result.outcome !== 'sanitised') break;
        part.data = result.bytes;
        part.compress = true;
        if (walk.nameFor) rename(part, walk.nameFor(part, result));
        break;
      }
      case 'svg': {
        const xml = decodeXml(part.data);
        const cleaned = cleanSvg(xml.text);
        if (cleaned.problem) throw refuseUnreadable(walk.where, cleaned.problem);
        part.data = encodeXml({ ...xml, text: cleaned.text });
        break;
      }
      case 'xml': {
        const hidden = findPictureInText(decodeXml(part.data).text);
        if (hidden) throw refuseUnreadable(walk.where, hidden);
        break;
      }
      case 'unreadable-picture':
        throw refuseUnreadable(walk.where, what.description);
      case 'other': {
        const hidden = findHiddenPicture(part.data) ?? findPictureInText(part.data.toString('latin1'));
        if (hidden) throw refuseUnreadable(walk.where, `a file with ${hidden} inside`);
        break;
      }
    }
  }
  return renames;

  function rename(part: PackagePart, wanted: string): void {
    if (wanted === part.name) return;
    const dot = wanted.lastIndexOf('.') > wanted.lastIndexOf('/') ? wanted.lastIndexOf('.') : wanted.length;
    let name = wanted;
    for (let n = 1; isTaken(name); n++) name = `${wanted.slice(0, dot)}-${n}${wanted.slice(dot)}`;
    renames.set(part.name, name);
    taken.add(name.toLowerCase());
    part.name = name;
  }
}
