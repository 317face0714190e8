import { VeilError } from '../../pipeline/errors.js';
import { intParam, phpName } from './form-params.js';

/**
 * Upload protocols that send a file in pieces, told apart by the fields or headers they add.
 * Those Veil puts together are elsewhere: a CMS's own (MediaWiki's stash chunks, its adapter) and
 * numbered multipart pieces (form-pieces.ts). What is recognised here is refused: pieces
 * announced by headers (tus, a partial Content-Range, Nextcloud), whose servers keep their own
 * record of sizes and offsets that a sanitised file of another size would not match; raw pieces
 * with their fields in the query string; and form pieces form-pieces.ts could not follow. The
 * message says what to change. A file sent whole (one piece of one) is an ordinary upload.
 */
export interface ChunkedUpload {
  protocol: string;
  /** What a site's administrator changes so uploads arrive whole. */
  advice: string;
}

interface FieldProtocol {
  protocol: string;
  /** The field that numbers the piece, and the one that counts them (when the library sends it). */
  index: string;
  count?: string;
  /** The index of the first piece. */
  first: 0 | 1;
  advice: string;
}

const FIELD_PROTOCOLS: FieldProtocol[] = [
  { protocol: 'Plupload', index: 'chunk', count: 'chunks', first: 0, advice: 'turn off chunking in Plupload (chunk_size: 0)' },
  { protocol: 'resumable.js', index: 'resumableChunkNumber', count: 'resumableTotalChunks', first: 1, advice: 'give resumable.js a chunkSize larger than the largest photo' },
  { protocol: 'flow.js', index: 'flowChunkNumber', count: 'flowTotalChunks', first: 1, advice: 'give flow.js a chunkSize larger than the largest photo' },
  { protocol: 'Dropzone', index: 'dzchunkindex', count: 'dztotalchunkcount', first: 0, advice: 'turn off Dropzone\'s "chunking" option' },
  { protocol: 'Fine Uploader', index: 'qqpartindex', count: 'qqtotalparts', first: 0, advice: 'turn off Fine Uploader\'s chunking (chunking.enabled: false)' },
];

/** Pieces announced by headers, before the body is read (tus, Content-Range). */
export function chunkedByHeaders(req: Request): ChunkedUpload | undefined {
  const h = req.headers;
  if (h.has('tus-resumable') || h.has('upload-offset') || /^\s*application\/offset\+octet-stream\b/i.test(h.get('content-type') ?? '')) {
    return { protocol: 'tus', advice: 'turn off resumable (tus) uploads so files are sent in one request' };
  }
  // Nextcloud/ownCloud chunking: v2 PUTs pieces under /remote.php/dav/uploads/, v1 names them `<file>-chunking-<id>-<n>-<i>`.
  if (h.has('oc-total-length') || h.has('oc-chunked') || /\/remote\.php\/dav\/uploads\//i.test(new URL(req.url).pathname) || /-chunking-\d+-\d+-\d+$/.test(new URL(req.url).pathname)) {
    return { protocol: 'Nextcloud chunking', advice: 'raise the desktop and web clients\' chunk size above the largest photo (max_chunk_size), or upload photos through the web page one at a time' };
  }
  const range = h.get('content-range');
  if (range !== null && !isWholeRange(range)) return { protocol: 'Content-Range', advice: 'turn off chunked uploads (for jQuery File Upload: maxChunkSize) so files are sent in one request' };
  return undefined;
}

/** Pieces announced by the request's parameters (query string or form fields, as PHP reads them). */
export function chunkedByParams(params: Readonly<Record<string, string>>): ChunkedUpload | undefined {
  for (const p of FIELD_PROTOCOLS) {
    const index = params[phpName(p.index)];
    if (index === undefined) continue;
    const count = p.count ? intParam(params[phpName(p.count)]) : undefined;
    // Plupload's `chunk` is only Plupload's when `chunks` comes with it (MediaWiki's is a file).
    if (p.protocol === 'Plupload' && count === undefined) continue;
    if (count === 1 && intParam(index) === p.first) continue;
    return { protocol: p.protocol, advice: p.advice };
  }
  if (params.qquuid !== undefined && params.qqtotalparts !== undefined && intParam(params.qqtotalparts) !== 1) return { protocol: 'Fine Uploader', advice: FIELD_PROTOCOLS[4]!.advice };
  return undefined;
}

/** Whether the query string alone announces pieces (flow.js and resumable.js can send raw bodies). */
export function chunkedByQuery(url: URL): ChunkedUpload | undefined {
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) params[phpName(name)] = value;
  return chunkedByParams(params);
}

export function chunkedRefusal(chunked: ChunkedUpload): VeilError {
  return new VeilError(
    'UNSUPPORTED_FORMAT',
    `This file was sent in pieces (${chunked.protocol}), which Veil cannot check, so it was not uploaded. Please upload it again in one piece; the site's administrator can ${chunked.advice}.`,
  );
}

/** `bytes 0-(n-1)/n`: the whole file in one request, which is an ordinary upload. */
function isWholeRange(range: string): boolean {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(range);
  return Boolean(match && match[1] === '0' && Number(match[2]) + 1 === Number(match[3]));
}

export function pictureTailRefusal(): VeilError {
  return new VeilError(
    'UNSUPPORTED_FORMAT',
    "This upload starts in the middle of a picture (a piece of a larger file), which Veil cannot check, so it was not uploaded. Please upload the whole picture in one piece.",
  );
}
