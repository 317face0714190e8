import { imageTooLarge } from '../upload-errors.js';
import { IMAGE_SNIFF_BYTES, imageKind, type ImageKind } from '../inspect/looks-like-image.js';

/** Where one part lies in the raw body: offsets let the rebuild copy it byte for byte from the spool. */
export interface PartLayout {
  /** First byte of the part's header lines (just after the boundary line). */
  headerStart: number;
  /** First byte of the content, just after the blank line that ends the headers. */
  dataStart: number;
  /** One past the last content byte (the CRLF before the next boundary is not content). */
  dataEnd: number;
  /** The picture format the content starts with, if any. */
  kind?: ImageKind;
}

export interface LayoutLimits {
  /** A part whose content looks like an image may not be longer than this. */
  maxImageBytes: number;
  maxParts: number;
  maxHeaderBytes: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

type State = 'preamble' | 'after-delimiter' | 'headers' | 'data' | 'done' | 'malformed';

/**
 * Finds the byte offsets of every part of a multipart/form-data body as it streams past, and sniffs
 * the first bytes of each part's content. busboy parses names and filenames; this records where
 * each part is, which busboy cannot tell, so non-image parts can be copied unchanged (headers
 * included) and image parts measured while streaming. Strict RFC 2046 delimiters (CRLF--boundary);
 * anything else marks the body malformed and the caller decides what that means.
 */
export class MultipartLayout {
  readonly parts: PartLayout[] = [];
  malformed?: string;

  private readonly delimiter: Buffer;
  private state: State = 'preamble';
  /** Bytes not yet examined; starts with a virtual CRLF so a boundary at offset 0 matches. */
  private window: Buffer = Buffer.from('\r\n');
  private windowStart = -2;
  private current?: { headerStart: number; dataStart: number; length: number; prefix: Buffer[]; prefixLength: number; kind?: ImageKind; sniffed: boolean };

  constructor(
    boundary: string,
    private readonly limits: LayoutLimits,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** Throws FILE_TOO_LARGE as soon as an image part passes maxImageBytes. */
  push(chunk: Buffer): void {
    if (this.state === 'done' || this.state === 'malformed') return;
    this.window = this.window.length > 0 ? Buffer.concat([this.window, chunk]) : chunk;
    while (this.step()) {
      // each step consumes from the window until it needs more bytes
    }
    // Keep only the unexamined tail, copied so a large chunk is not retained for a few bytes.
    if (this.window.length > 0 && this.window.length < chunk.length) this.window = Buffer.from(this.window);
  }

  end(): void {
    if (this.state === 'done' || this.state === 'malformed') return;
    this.fail('the form data ends before its closing boundary');
  }

  private step(): boolean {
    switch (this.state) {
      case 'preamble':
      case 'data':
        return this.scanForDelimiter();
      case 'after-delimiter':
        return this.afterDelimiter();
      case 'headers':
        return this.scanHeaders();
      default:
        return false;
    }
  }

  private scanForDelimiter(): boolean {
    const found = this.window.indexOf(this.delimiter);
    if (found === -1) {
      const safe = this.window.length - (this.delimiter.length - 1);
      if (safe > 0) this.advance(safe, true);
      return false;
    }
    this.advance(found, true);
    if (this.state === 'data') this.finishPart(this.windowStart);
    this.state = 'after-delimiter';
    return true;
  }

  /** The window starts with the delimiter; the two bytes after it say: next part, or the end. */
  private afterDelimiter(): boolean {
    const at = this.delimiter.length;
    if (this.window.length < at + 2) return false;
    const a = this.window[at];
    const b = this.window[at + 1];
    if (a === 0x2d && b === 0x2d) {
      this.state = 'done';
      this.window = Buffer.alloc(0);
      return false;
    }
    if (a !== 0x0d || b !== 0x0a) {
      this.fail('a boundary line is followed by unexpected bytes');
      return false;
    }
    if (this.parts.length >= this.limits.maxParts) {
      this.fail(`the form has more than ${this.limits.maxParts} parts`);
      return false;
    }
    // Keep the CRLF that ends the boundary line: a part without headers is then CRLFCRLF too.
    this.advance(at, false);
    this.current = { headerStart: this.windowStart + 2, dataStart: 0, length: 0, prefix: [], prefixLength: 0, sniffed: false };
    this.state = 'headers';
    return true;
  }

  private scanHeaders(): boolean {
    const found = this.window.indexOf(CRLFCRLF);
    if (found === -1) {
      if (this.window.length - 2 > this.limits.maxHeaderBytes) this.fail('a part has too many header bytes');
      return false;
    }
    this.advance(found + CRLFCRLF.length, false);
    this.current!.dataStart = this.windowStart;
    this.state = 'data';
    return true;
  }

  /** Drops `count` bytes from the window; in a part they are its content. */
  private advance(count: number, isContent: boolean): void {
    if (count <= 0) return;
    if (isContent && this.state === 'data') this.content(this.window.subarray(0, count));
    this.window = this.window.subarray(count);
    this.windowStart += count;
  }

  private content(bytes: Buffer): void {
    const part = this.current!;
    part.length += bytes.length;
    if (!part.sniffed && part.prefixLength < IMAGE_SNIFF_BYTES) {
      const take = bytes.subarray(0, IMAGE_SNIFF_BYTES - part.prefixLength);
      part.prefix.push(Buffer.from(take));
      part.prefixLength += take.length;
      if (part.prefixLength >= IMAGE_SNIFF_BYTES) this.sniff(part);
    }
    this.checkImageSize(part);
  }

  private sniff(part: NonNullable<MultipartLayout['current']>): void {
    part.kind = imageKind(Buffer.concat(part.prefix));
    part.sniffed = true;
    part.prefix = [];
  }

  private checkImageSize(part: NonNullable<MultipartLayout['current']>): void {
    if (part.kind && part.length > this.limits.maxImageBytes) {
      throw imageTooLarge(this.limits.maxImageBytes);
    }
  }

  private finishPart(dataEnd: number): void {
    const part = this.current!;
    if (!part.sniffed) this.sniff(part);
    this.checkImageSize(part);
    this.parts.push({ headerStart: part.headerStart, dataStart: part.dataStart, dataEnd, kind: part.kind });
    this.current = undefined;
  }

  private fail(reason: string): void {
    this.malformed = reason;
    this.state = 'malformed';
    this.window = Buffer.alloc(0);
    this.current = undefined;
  }
}
