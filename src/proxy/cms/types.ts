import type { VeilError } from '../../pipeline/errors.js';
import type { ChunkProtocol } from '../chunks/types.js';

/** Why an upload is not forwarded: held for a person to review, or refused. */
export type UploadProblem =
  | { kind: 'held'; uploadId: string; reference: string; message: string }
  | { kind: 'refused'; uploadId?: string; error: VeilError };

/** What an adapter may use to word its answer. */
export interface ProblemDetails {
  url: URL;
  /** Short text fields of the form read before the problem (e.g. WordPress's `action`). */
  fields: Readonly<Record<string, string>>;
  /** The client's name for the file concerned: untrusted, escape before showing it. */
  filename?: string;
  /** The client's Accept header. */
  accept: string | null;
}

/** An adapter's claim on a request: how its body carries files, and how to answer in its CMS's words. */
export interface UploadMatch {
  /**
   * `multipart`: a multipart/form-data body; `raw`: judged by what its bytes are (a picture, text
   * with pictures inside, a document or video, other binary), whatever its type says; `inspect`: a
   * small body (at most maxUploadBytes) read whole and judged by `inspect`, then forwarded unchanged;
   * `embedded`: a body read whole (at most 4/3 of maxUploadBytes, plus room for the text around)
   * whose pictures, carried as text (base64 in JSON, data: URIs), `embedded` finds and puts back
   * sanitised.
   */
  body: 'multipart' | 'raw' | 'inspect' | 'embedded';
  /** For `inspect` bodies: a VeilError refuses the request (e.g. a file hidden in base64). */
  inspect?: (body: Uint8Array) => VeilError | undefined;
  /** For `embedded` bodies: the files inside; throws a VeilError for a body it cannot read. */
  embedded?: (body: Uint8Array) => EmbeddedFiles;
  /** For `multipart` bodies: the CMS's own protocol for files sent in pieces (src/proxy/chunks/). */
  chunked?: ChunkProtocol;
  /** The file's name where a raw body's headers do not say it (DokuWiki's `?qqfile=`): Veil's private report, KEEP_FILENAMES. */
  filename?: string;
  /** Who the request says is uploading (a cookie or Basic auth user): a hint for the audit trail only. */
  user?: string;
  /** The answer the CMS's own uploader shows when an upload fails: same shape, Veil's message. */
  respond(problem: UploadProblem, details: ProblemDetails): Response;
  /**
   * For CMSes that repeat the file's name outside the file (DokuWiki's `?qqfile=` and `mediaid`
   * field): what the rebuilt request carries instead, given the sanitised files' names. `fields`
   * replace the values of text fields of a multipart form; `headers` replace request headers.
   */
  renamed?: (sanitised: readonly { filename: string }[], url: URL) => RenamedRequest;
}

export interface RenamedRequest {
  url?: URL;
  fields?: Readonly<Record<string, string>>;
  headers?: Readonly<Record<string, string>>;
}

/** Pictures carried inside a body as text, and how to put sanitised ones in their place. */
export interface EmbeddedFiles {
  /** Only the pictures: anything else stays as it came. */
  images: { bytes: Uint8Array; filename?: string; declaredType?: string }[];
  /** The body with each picture replaced, in order, by its sanitised version. */
  rebuild(sanitised: { bytes: Uint8Array; filename: string; contentType: string }[]): { body: Uint8Array; contentType?: string };
}

/**
 * Knows one CMS's upload requests. Adapters are tried in order, most specific first; the generic
 * ones (multipart forms, other multipart, text bodies, raw bodies) come last and between them claim
 * every request with a body, so an unknown upload route still has its pictures sanitised (only the
 * answer format is generic). Rebuilding the request follows from `body`: the proxy replaces image
 * parts, pictures inside text, or the raw body the same way for all.
 */
export interface CmsAdapter {
  /** Short name, recorded as UploadContext.cms. */
  readonly name: string;
  /** Decides from method, URL and headers only; the body is not read yet. */
  match(req: Request, url: URL): UploadMatch | undefined;
}
