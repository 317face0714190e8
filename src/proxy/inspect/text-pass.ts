import { hiddenPicture } from '../upload-errors.js';
import { refuseContainersInside, type ContainerLimits } from './containers.js';
import { findEmbeddedImages, replaceEmbeddedImages } from './embedded-images.js';
import { findHiddenPicture } from './hidden-pictures.js';
import { findPictureSignature } from './picture-signatures.js';
import { decodeText, encodeText } from './text-encoding.js';

/** Pictures found in a body read whole, and how to put sanitised ones in their place. */
export interface TextPass {
  images: Uint8Array[];
  rebuild(sanitised: { bytes: Uint8Array; contentType: string }[]): Uint8Array;
}

/**
 * The one check every body read whole goes through, whatever its declared type: pictures spelled
 * the ways editors and APIs write them (embedded-images.ts) are found to be sanitised in place, in
 * the body's own text encoding (UTF-16 and UTF-32 included); then whatever remains is searched for
 * a picture in any other spelling (hidden-pictures.ts), and such a body is refused, never passed.
 * Documents and videos spelled inside the text (a base64 PDF, a data:video URI) are looked inside
 * as if sent on their own. `ours` are pictures Veil has already sanitised into this body (an
 * adapter's own pass).
 */
export async function textPass(body: Uint8Array, limits: ContainerLimits, ours: readonly Uint8Array[] = []): Promise<TextPass> {
  const decoded = decodeText(body);
  // Wide encodings are searched and rewritten as UTF-8, then written back as they came.
  const wide = decoded && decoded.encoding !== 'utf-8' ? decoded : undefined;
  const working = wide ? new Uint8Array(Buffer.from(wide.text, 'utf8')) : body;
  // An adapter's own pass may have put Veil's sanitised pictures here already: not again.
  const found = findEmbeddedImages(working).filter((image) => !ours.some((bytes) => sameBytes(bytes, image.bytes)));

  const masked = Buffer.from(working);
  for (const image of found) masked.fill(0x20, image.start, image.end);
  // Raw bytes are looked for in the body as it came too: a wide decoding would have hidden them.
  const containers: Uint8Array[] = [];
  const hidden = findHiddenPicture(masked, ours, containers) ?? (wide ? findPictureSignature(body, 0, ours) : undefined);
  if (hidden) throw hiddenPicture();
  await refuseContainersInside(containers, limits);

  return {
    images: found.map((image) => image.bytes),
    rebuild(sanitised) {
      const rewritten = replaceEmbeddedImages(working, found, sanitised);
      return wide ? encodeText(wide, Buffer.from(rewritten).toString('utf8')) : rewritten;
    },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
