import type { ImageKind } from './looks-like-image.js';
import { endsLikeJpegTail, findPictureSignature } from './picture-signatures.js';

/** Bytes held back at each step, so a signature (and its confirmation) split across chunks is still seen whole. */
const CARRY = 4096 + 16;

/**
 * A binary body too large to read whole (a video, an archive Veil does not know) streams on to
 * the CMS through this check: every byte is looked at before it is sent, and at the first picture
 * signature (or a body ending like a JPEG's tail) the stream fails, so the CMS gets a cut-off
 * body without the picture, and Veil answers with a refusal.
 */
export class SignatureGuard {
  found?: ImageKind;

  wrap(body: ReadableStream<Uint8Array>, onFound: () => Error): ReadableStream<Uint8Array> {
    let carry = new Uint8Array(0);
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) {
                if (this.check(carry) || endsLikeJpegTail(carry)) {
                  this.found ??= 'jpeg';
                  controller.error(onFound());
                  return;
                }
                if (carry.byteLength > 0) controller.enqueue(carry);
                controller.close();
                return;
              }
              const joined = new Uint8Array(carry.byteLength + value.byteLength);
              joined.set(carry);
              joined.set(value, carry.byteLength);
              const safe = Math.max(0, joined.byteLength - CARRY);
              if (this.check(joined)) {
                controller.error(onFound());
                await reader.cancel().catch(() => undefined);
                return;
              }
              carry = joined.slice(safe);
              if (safe > 0) {
                controller.enqueue(joined.subarray(0, safe));
                return;
              }
            }
          } catch (err) {
            controller.error(err);
          }
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  private check(bytes: Uint8Array): boolean {
    const hit = findPictureSignature(bytes);
    if (hit) {
      this.found = hit.kind;
      return true;
    }
    return false;
  }
}
