import { VeilError } from '../../pipeline/errors.js';
import { imageKind } from '../inspect/looks-like-image.js';

/**
 * Once a file is put together: a picture is sanitised; anything else may go on as it came only
 * when no picture can be hiding in it. A JPEG or PNG start anywhere inside (a document with
 * photos, padding before a JPEG), or a first byte inside a JPEG (a segment marker without the
 * SOI, as the tail of a split file begins), refuses the file instead.
 */
export type WholeFile = { kind: 'picture' } | { kind: 'other' } | { kind: 'refused'; error: VeilError };

export function judgeWholeFile(bytes: Uint8Array): WholeFile {
  if (imageKind(bytes.subarray(0, 4096)) !== undefined) return { kind: 'picture' };
  if (beginsInsidePicture(bytes) || holdsPictureStart(bytes)) {
    return {
      kind: 'refused',
      error: new VeilError('UNSUPPORTED_FORMAT', 'This file has a picture inside it that Veil cannot check, so it was not uploaded. Please upload the picture on its own.'),
    };
  }
  return { kind: 'other' };
}

/**
 * A JPEG segment marker (APPn, DQT, DHT, SOFn, SOS, DRI, COM) at the very start, with no SOI
 * before it. F0-FD are left out: no JPEG uses them, and MP3 and AAC frames begin FF Fx.
 */
export function beginsInsidePicture(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0xff) return false;
  const marker = bytes[1]!;
  const segment = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc8) || marker === 0xda || marker === 0xdb || marker === 0xdd || (marker >= 0xe0 && marker <= 0xef) || marker === 0xfe;
  // A segment's two-byte length counts itself: at least 2.
  return segment && ((bytes[2]! << 8) | bytes[3]!) >= 2;
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function holdsPictureStart(bytes: Uint8Array): boolean {
  for (let at = bytes.indexOf(0xff); at !== -1 && at + 3 < bytes.length; at = bytes.indexOf(0xff, at + 1)) {
    // SOI then a real first segment (APPn, DQT, SOF, DHT, COM): random data seldom looks like this.
    if (bytes[at + 1] === 0xd8 && bytes[at + 2] === 0xff && isFirstSegment(bytes[at + 3]!)) return true;
  }
  for (let at = bytes.indexOf(0x89); at !== -1 && at + PNG.length <= bytes.length; at = bytes.indexOf(0x89, at + 1)) {
    if (PNG.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

function isFirstSegment(marker: number): boolean {
  return (marker >= 0xe0 && marker <= 0xef) || marker === 0xdb || marker === 0xc4 || marker === 0xfe || (marker >= 0xc0 && marker <= 0xc2);
}
