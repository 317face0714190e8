import { toVeilError, type VeilError } from '../../pipeline/errors.js';
import { bodyNature, NATURE_BYTES } from '../inspect/body-nature.js';
import { containerRefusal, scanContainer } from '../inspect/containers.js';
import { isPictureTail } from '../inspect/picture-signatures.js';
import { textPass } from '../inspect/text-pass.js';
import { hiddenPicture } from '../upload-errors.js';

/**
 * Once a file is put together it gets the same one decision as a body sent whole
 * (src/proxy/inspect/): a picture is sanitised; a document, archive or video is looked inside;
 * anything else may go on as it came only when no picture can be hiding in it.
 */
export type WholeFile = { kind: 'picture' } | { kind: 'other' } | { kind: 'refused'; error: VeilError };

export async function judgeWholeFile(bytes: Uint8Array): Promise<WholeFile> {
  const nature = bodyNature(bytes.subarray(0, NATURE_BYTES), bytes.length <= NATURE_BYTES);
  if (nature.kind === 'picture') return { kind: 'picture' };
  try {
    if (nature.kind === 'hidden-picture') throw hiddenPicture();
    if (nature.kind === 'container') {
      const finding = await scanContainer(nature.format, { size: bytes.length, read: async (start, end) => bytes.subarray(start, end) }, { maxInMemoryBytes: bytes.length });
      if (finding) throw containerRefusal(nature.format, finding);
    } else {
      const pass = await textPass(bytes, { maxInMemoryBytes: bytes.length });
      // A file that arrived in pieces is not rewritten in place: its pictures go no further.
      if (pass.images.length > 0 || isPictureTail(bytes)) throw hiddenPicture();
    }
  } catch (err) {
    return { kind: 'refused', error: toVeilError(err) };
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
