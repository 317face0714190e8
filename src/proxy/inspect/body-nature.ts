import { IMAGE_SNIFF_BYTES, imageKind, type ImageKind } from './looks-like-image.js';
import { findPictureSignature, startsInsidePicture } from './picture-signatures.js';
import { detectTextEncoding, type TextEncoding } from './text-encoding.js';

/**
 * What a request body IS, from its first bytes, whatever its Content-Type says. This is decided
 * before any adapter reads the body as a form, JSON or XML: a photo sent with `text/plain` (curl
 * --data-binary, jQuery with processData: false) is a photo.
 */
export type BodyNature =
  /** The body is a picture (from its first byte). */
  | { kind: 'picture'; format: ImageKind }
  /** A picture after padding, or the body starts inside one: refused, never forwarded. */
  | { kind: 'hidden-picture'; format?: ImageKind }
  /** A document, archive or video that may hold pictures or a location: scanned whole first. */
  | { kind: 'container'; format: ContainerKind }
  | { kind: 'text'; encoding: TextEncoding }
  | { kind: 'binary' };

export type ContainerKind = 'pdf' | 'zip' | 'iso-bmff' | 'matroska' | 'riff' | 'ole' | 'rtf' | 'postscript' | 'gzip' | 'compressed';

/** How many leading bytes decide (the picture sniffer's window). */
export const NATURE_BYTES = IMAGE_SNIFF_BYTES;

/** `complete`: the head is the whole body. */
export function bodyNature(head: Uint8Array, complete: boolean): BodyNature {
  const format = imageKind(head);
  if (format) return { kind: 'picture', format };
  if (startsInsidePicture(head, complete)) return { kind: 'hidden-picture', format: 'jpeg' };
  const container = containerKind(head);
  if (container) return { kind: 'container', format: container };
  const padded = findPictureSignature(head);
  if (padded) return { kind: 'hidden-picture', format: padded.kind };
  const encoding = detectTextEncoding(head);
  return encoding ? { kind: 'text', encoding } : { kind: 'binary' };
}

/** Magic numbers of the containers Veil scans (ISO-BMFF pictures, HEIC and AVIF, are found above). */
export function containerKind(b: Uint8Array): ContainerKind | undefined {
  const head = Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 1024)).toString('latin1');
  // Readers accept "%PDF-" anywhere in the first kilobyte.
  if (head.includes('%PDF-')) return 'pdf';
  if (/^PK(\x03\x04|\x05\x06|\x07\x08)/.test(head)) return 'zip';
  if (head.slice(4, 8) === 'ftyp' || /^....(moov|mdat|free|wide|skip|uuid)/s.test(head)) return 'iso-bmff';
  if (head.startsWith('\x1a\x45\xdf\xa3')) return 'matroska';
  if (head.startsWith('RIFF') || head.startsWith('RF64')) return 'riff';
  if (head.startsWith('\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1')) return 'ole';
  if (/^\s*\{\\rtf/.test(head)) return 'rtf';
  if (head.startsWith('%!PS') || head.startsWith('\xc5\xd0\xd3\xc6')) return 'postscript';
  if (head.startsWith('\x1f\x8b\x08')) return 'gzip';
  // bzip2, xz, zstd, 7-Zip, RAR: Veil cannot look inside these, so they are refused.
  if (/^(BZh[1-9]1AY&SY|\xfd7zXZ\0|\x28\xb5\x2f\xfd|7z\xbc\xaf\x27\x1c|Rar!\x1a\x07)/.test(head)) return 'compressed';
  return undefined;
}
