import { VeilError } from '../../pipeline/errors.js';
import { findEmbeddedImages, replaceEmbeddedImages, type EmbeddedImage } from '../inspect/embedded-images.js';
import { imageKind } from '../inspect/looks-like-image.js';
import { parseXml, XmlError, type XmlDocument, type XmlElement } from '../xml/xml-document.js';
import { NO_STORE, escapeHtml, problemMessage, problemStatus } from './answers.js';
import type { EmbeddedFiles, UploadProblem } from './types.js';

/*
 * WordPress XML-RPC (/xmlrpc.php), read as WordPress's IXR_Message reads it (PHP's XML parser:
 * entities, CDATA and comments inside a name or value all count, and a UTF-16 body is UTF-16):
 * - every <base64> value that is a picture is sanitised in place. This is how blogging apps and
 *   desktop clients upload (`wp.uploadFile`, `metaWeblog.newMediaObject`, also inside
 *   system.multicall): the struct's `bits`, whose sibling `name` and `type` are set to Veil's new
 *   file name and type, so WordPress stores the file under the format it now has;
 * - every other text value (a post's content in wp.newPost, metaWeblog.newPost, wp.editPost...)
 *   is scanned for pictures (`data:` URIs, bare base64), which are sanitised and put back.
 * A body that cannot be read with confidence (a DOCTYPE, an undefined entity, another encoding,
 * a picture where the value has other elements around it) is refused with an XML-RPC fault,
 * which is how WordPress's XML-RPC clients show an error.
 */

/** Shorter base64 runs are not looked at (as in inspect/embedded-images.ts). */
const MIN_BASE64_CHARS = 64;

type Target =
  | { kind: 'base64'; element: XmlElement; bytes: Uint8Array }
  | { kind: 'text'; element: XmlElement; text: Uint8Array; found: EmbeddedImage[] };

export function picturesInXmlRpc(body: Uint8Array): EmbeddedFiles {
  let doc: XmlDocument;
  try {
    doc = parseXml(body);
  } catch (err) {
    if (!(err instanceof XmlError)) throw err;
    throw unreadable(err.message, err);
  }
  const targets: Target[] = [];
  for (const element of doc.elements) {
    for (const value of Object.values(element.attributes)) {
      if (findEmbeddedImages(Buffer.from(value, 'utf8')).length > 0) throw unreadable('a picture in an attribute');
    }
    const base64 = base64Picture(element);
    if (base64) {
      targets.push({ kind: 'base64', element, bytes: base64 });
      continue;
    }
    if (element.text.length < MIN_BASE64_CHARS) continue;
    const text = Buffer.from(element.text, 'utf8');
    const found = findEmbeddedImages(text);
    if (found.length === 0) continue;
    // WordPress reads only the text after a value's last inner element; Veil does not guess.
    if (element.children.length > 0) throw unreadable('a picture in a value that also holds other elements');
    targets.push({ kind: 'text', element, text, found });
  }

  const images: EmbeddedFiles['images'] = [];
  for (const target of targets) {
    if (target.kind === 'base64') {
      const struct = uploadStruct(target.element);
      images.push({ bytes: target.bytes, filename: struct && memberText(struct, 'name'), declaredType: struct && memberText(struct, 'type') });
    } else {
      for (const image of target.found) images.push({ bytes: image.bytes });
    }
  }

  return {
    images,
    rebuild(sanitised) {
      const replacements = new Map<XmlElement, string>();
      let next = 0;
      for (const target of targets) {
        if (target.kind === 'base64') {
          const file = sanitised[next++]!;
          replacements.set(target.element, Buffer.from(file.bytes).toString('base64'));
          const struct = uploadStruct(target.element);
          if (struct) {
            for (const leaf of memberLeaves(struct, 'name')) replacements.set(leaf, file.filename);
            for (const leaf of memberLeaves(struct, 'type')) replacements.set(leaf, file.contentType.split(';', 1)[0]!.trim());
          }
        } else {
          const files = sanitised.slice(next, next + target.found.length);
          next += target.found.length;
          replacements.set(target.element, Buffer.from(replaceEmbeddedImages(target.text, target.found, files)).toString('utf8'));
        }
      }
      return { body: doc.rebuild(replacements) };
    },
  };
}

/**
 * The picture a `<base64>` value (or a value that is nothing but a long base64 run) holds, read
 * as PHP's base64_decode() reads it: every character outside the alphabet, `=` included, skipped.
 */
function base64Picture(element: XmlElement): Uint8Array | undefined {
  const declared = element.name.toLowerCase() === 'base64';
  const trimmed = element.text.trim();
  if (!declared && !(trimmed.length >= MIN_BASE64_CHARS && /^[A-Za-z0-9+/=\s]+$/.test(trimmed))) return undefined;
  if (declared && element.children.length > 0) throw unreadable('a <base64> value with elements inside');
  const bytes = phpBase64Decode(element.text);
  return imageKind(bytes.subarray(0, 4096)) ? bytes : undefined;
}

export function phpBase64Decode(text: string): Uint8Array {
  // Node would also read "-" and "_" (base64url) and stop at "="; PHP does neither.
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  return new Uint8Array(Buffer.from(clean.slice(0, clean.length - (clean.length % 4 === 1 ? 1 : 0)), 'base64'));
}

/** The struct an upload's `bits` member belongs to (wp.uploadFile, metaWeblog.newMediaObject). */
function uploadStruct(element: XmlElement): XmlElement | undefined {
  const value = element.name === 'value' ? element : element.parent;
  const member = value?.parent;
  if (value?.name !== 'value' || member?.name !== 'member' || member.parent?.name !== 'struct') return undefined;
  return memberName(member) === 'bits' ? member.parent : undefined;
}

function memberName(member: XmlElement): string | undefined {
  return member.children.find((c) => c.name === 'name')?.text.trim();
}

/** The elements holding a member's value text: `<value><string>x</string></value>` or `<value>x</value>`. */
function memberLeaves(struct: XmlElement, name: string): XmlElement[] {
  const leaves: XmlElement[] = [];
  for (const member of struct.children) {
    if (member.name !== 'member' || memberName(member) !== name) continue;
    const value = member.children.find((c) => c.name === 'value');
    if (!value) continue;
    leaves.push(value.children.length === 1 ? value.children[0]! : value);
  }
  return leaves;
}

function memberText(struct: XmlElement, name: string): string | undefined {
  const leaves = memberLeaves(struct, name);
  // As a PHP array: the last member of a name wins.
  return leaves.length > 0 ? leaves[leaves.length - 1]!.text.trim() : undefined;
}

function unreadable(reason: string, cause?: unknown): VeilError {
  return new VeilError('BAD_REQUEST', `Veil could not read this XML-RPC request with confidence (${reason}), so it was not sent to the website. Please try again from the website's own editor.`, { cause });
}

/** As WordPress's XML-RPC server reports an error: HTTP 200 with a <fault>. */
export function xmlRpcFault(problem: UploadProblem): Response {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse>\n  <fault>\n    <value>\n      <struct>\n' +
    `        <member>\n          <name>faultCode</name>\n          <value><int>${problemStatus(problem)}</int></value>\n        </member>\n` +
    `        <member>\n          <name>faultString</name>\n          <value><string>${escapeHtml(problemMessage(problem))}</string></value>\n        </member>\n` +
    '      </struct>\n    </value>\n  </fault>\n</methodResponse>\n';
  return new Response(xml, { status: 200, headers: { 'content-type': 'text/xml; charset=UTF-8', ...NO_STORE } });
}
