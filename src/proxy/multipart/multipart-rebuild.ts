import type { FormPart, MultipartUpload } from './multipart-form.js';
import type { SpoolSegment } from '../spool/spool.js';

/**
 * What replaces one part: a sanitised picture under the generated name, or (`keepHeaders`) new
 * content for a text part whose pasted pictures were sanitised in place.
 */
export type PartReplacement = { bytes: Uint8Array; filename: string; contentType: string; keepHeaders?: undefined } | { bytes: Uint8Array; keepHeaders: true };

export interface RebuiltBody {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  contentLength: number;
}

/**
 * The form again, in the same order, with a fresh boundary: every other part copied byte for byte
 * from the spool (its own headers included), each replaced part given new headers naming the
 * sanitised file, each text part rewritten in place keeping its headers. Streams from the spool,
 * and takes ownership of it.
 */
export function rebuildMultipart(upload: MultipartUpload, replacements: ReadonlyMap<FormPart, PartReplacement>): RebuiltBody {
  const boundary = `----VeilFormBoundary${randomHex(16)}`;
  const segments: SpoolSegment[] = [];
  for (const part of upload.parts) {
    segments.push(Buffer.from(`--${boundary}\r\n`, 'latin1'));
    const replacement = replacements.get(part);
    if (replacement?.keepHeaders) {
      segments.push({ start: part.headerStart, end: part.dataStart }, replacement.bytes);
    } else if (replacement) {
      segments.push(partHeaders(part.name, replacement), replacement.bytes);
    } else {
      segments.push({ start: part.headerStart, end: part.dataStart }, { start: part.dataStart, end: part.dataEnd });
    }
    segments.push(Buffer.from('\r\n', 'latin1'));
  }
  segments.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  const contentLength = segments.reduce((sum, s) => sum + (s instanceof Uint8Array ? s.byteLength : s.end - s.start), 0);
  return { body: upload.spool.stream(segments), contentType: `multipart/form-data; boundary=${boundary}`, contentLength };
}

/** Header lines (and the blank line) for a replaced part; names escaped as browsers do (HTML spec). */
function partHeaders(name: string, replacement: { filename: string; contentType: string }): Buffer {
  const type = replacement.contentType.replace(/[\r\n]/g, '') || 'application/octet-stream';
  return Buffer.from(
    `Content-Disposition: form-data; name="${escapeFormName(name)}"; filename="${escapeFormName(replacement.filename)}"\r\n` +
      `Content-Type: ${type}\r\n\r\n`,
    'utf8',
  );
}

/** Web Crypto rather than node:crypto, so the rebuild runs unchanged at the edge. */
function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function escapeFormName(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
