import { rasterKind, type ImageKind } from './looks-like-image.js';

/** Enough bytes after a blank line for every binary signature rasterKind knows. */
const LOOKAHEAD = 64;

/**
 * A second, independent look at a multipart body that Veil is about to replay unchanged because it
 * found no image in it. Multipart parsers disagree at the edges (PHP accepts bare-LF lines, takes
 * the boundary from the first "boundary" substring, ignores the disposition type), so a crafted or
 * odd body could hide a part from busboy yet deliver it to the CMS. Every part's content starts
 * after a blank line, so: any blank line (LF LF or LF CR LF) followed by a binary picture signature
 * means the body is not replayed. SVG is left out here: SVG text after a blank line is common in
 * ordinary documents, and the part-by-part check already catches SVG files.
 */
export class ImageStartGuard {
  found?: ImageKind;
  private carry: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    if (this.found) return;
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    // Newlines at or past `limit` are looked at next time, when the bytes after them have arrived.
    const limit = buf.length - LOOKAHEAD - 3;
    this.scan(buf, Math.max(limit, 0));
    this.carry = Buffer.from(buf.subarray(Math.max(limit, 0)));
  }

  end(): void {
    if (!this.found) this.scan(this.carry, this.carry.length);
    this.carry = Buffer.alloc(0);
  }

  private scan(buf: Buffer, limit: number): void {
    for (let nl = buf.indexOf(0x0a); nl !== -1 && nl < limit && !this.found; nl = buf.indexOf(0x0a, nl + 1)) {
      let start = -1;
      if (buf[nl + 1] === 0x0a) start = nl + 2;
      else if (buf[nl + 1] === 0x0d && buf[nl + 2] === 0x0a) start = nl + 3;
      if (start !== -1) this.found = rasterKind(buf.subarray(start, start + LOOKAHEAD));
    }
  }
}
