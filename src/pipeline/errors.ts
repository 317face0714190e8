/**
 * Every refusal Veil makes carries a stable code (for scripts, logs and metrics) and a message a
 * school's IT technician or safeguarding lead can act on. Codes never change meaning; add new ones.
 */
export const ERROR_CODES = {
  UNSUPPORTED_FORMAT: 415,
  FILE_TOO_LARGE: 413,
  PIXEL_LIMIT: 413,
  FRAME_LIMIT: 413,
  CORRUPT_IMAGE: 422,
  EMPTY_FILE: 400,
  FACES_HELD: 202,
  MODEL_UNAVAILABLE: 503,
  QUEUE_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  TIMEOUT: 504,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  INTERNAL: 500,
  /** The client went away mid-upload (nginx's 499); nobody sees the answer, logs and metrics do. */
  CANCELLED: 499,
  /** Admin pages and API: not signed in, or a wrong bearer token. */
  UNAUTHORIZED: 401,
  /** Admin pages and API: signed in, but the role may not do this (or the CSRF check failed). */
  FORBIDDEN: 403,
  /** A review decision on an item that is no longer in a state that allows it. */
  CONFLICT: 409,
  /** Too many failed sign-ins from one user name or address. */
  RATE_LIMITED: 429,
  /** The CMS refused or did not answer when Veil published an approved photo. */
  PUBLISH_FAILED: 502,
  /**
   * Veil's processing service could not take the photo: at the edge, unreachable, too slow to
   * connect or answering with an error; on the service, unable to check the call (replay store down).
   */
  INGEST_UNAVAILABLE: 503,
  /** A picture inside a body in a spelling Veil cannot rewrite in place (hex, entities, a picture after padding...). */
  HIDDEN_PICTURE: 415,
  /** A document, archive or video that holds pictures or a location, which Veil cannot yet sanitise. */
  CONTAINS_PICTURES: 415,
  /** A reviewer's face boxes were not usable: outside the photo, too small, too many, not numbers. */
  INVALID_BOXES: 400,
  /** A redaction other than blur, pixelate or solid was asked for. */
  INVALID_REDACTION: 400,
  /** A video whose structure Veil cannot read safely: truncated, boxes that overlap or overrun, loops. */
  VIDEO_UNREADABLE: 422,
  /** A video longer than Veil checks for faces (its sampled frames would leave too much unseen). */
  VIDEO_TOO_LONG: 413,
  /** A video over a stated limit other than length: frame rate, picture size, stream count, index size. */
  VIDEO_LIMIT: 413,
  /** A readable video in a layout Veil does not rewrite (fragmented MP4, data kept in other files). */
  VIDEO_UNSUPPORTED: 415,
  /**
   * An archive (a ZIP, or an Office/OpenDocument file, which are ZIPs) built in a way that could
   * harm the server or fool an unpacker: a zip bomb, too many entries, names that climb out of
   * the folder or repeat, links, overlapping or disagreeing entries, ZIP64, nesting too deep.
   */
  ARCHIVE_UNSAFE: 422,
  /** An archive with password-protected entries: Veil cannot see what is inside. */
  ARCHIVE_ENCRYPTED: 422,
  /** An archive that is cut short or damaged, so it cannot be read to the end. */
  CORRUPT_ARCHIVE: 422,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class VeilError extends Error {
  override readonly name = 'VeilError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The HTTP status a proxy answers with when this error ends an upload. */
  get status(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isVeilError(err: unknown): err is VeilError {
  return err instanceof VeilError;
}

/** Anything thrown that is not already a VeilError becomes INTERNAL, keeping the cause for logs. */
export function toVeilError(err: unknown): VeilError {
  if (isVeilError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new VeilError('INTERNAL', `Unexpected error: ${message}`, { cause: err });
}
