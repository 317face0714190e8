/**
 * The contract every container sanitiser keeps (PDF, Office/OpenDocument, ZIP, video): the same
 * promise as for a photo. What comes out has no metadata, no picture larger than needed and no
 * identifiable face nobody decided to publish, and is still a valid file of the same kind.
 * Pictures inside go through `sanitiseImage` with the caller's options, so faces, sizes and
 * policy mean the same thing inside a newsletter as in a photo upload.
 */
import type { SanitiseOptions, SanitiseResult } from '../sanitise.js';

export type DocumentKind = 'pdf' | 'office' | 'opendocument' | 'zip' | 'video';

/** What was done inside one container: counts and plain words only, never names or metadata values. */
export interface DocumentReport {
  kind: DocumentKind;
  /** For people: "PDF document", "Word document (DOCX)", "MP4 video". */
  typeName: string;
  input: { bytes: number; filename?: string | undefined };
  output?: { filename: string; contentType: string; bytes: number };
  pictures: {
    /** Pictures found inside (image XObjects, media parts, archive entries, sampled video frames). */
    found: number;
    /** Re-encoded through the photo pipeline. */
    sanitised: number;
    /** Made smaller because they were larger than MAX_EDGE allows. */
    downscaled: number;
    facesFound: number;
    facesRedacted: number;
  };
  /** Kinds of metadata removed, in plain words ("author name", "GPS location", "XMP"), never their values. */
  removed: string[];
  /** Anything else that changed, in plain words ("2 attachments removed", "JavaScript removed"). */
  changes: string[];
  /** Documents inside this one (a DOCX inside a ZIP), each with its own report. */
  nested?: DocumentReport[];
  held?: { reasons: string[] };
  /** One line for a teacher: "12 photos inside: 31 faces blurred, 12 downscaled; author name removed". */
  summary: string;
  timings: { totalMs: number };
}

export type DocumentResult =
  | { outcome: 'sanitised'; bytes: Buffer; filename: string; contentType: string; report: DocumentReport }
  | {
      outcome: 'held';
      reasons: string[];
      report: DocumentReport;
      /** JPEG previews with faces boxed (held pictures, pages or frames), for the reviewer only. */
      previews: Buffer[];
    };

/** Re-runs the dispatcher on a document found inside another (a DOCX inside a ZIP). */
export type SanitiseNested = (bytes: Uint8Array, options: DocumentOptions) => Promise<DocumentResult>;

export interface DocumentOptions {
  /** The photo pipeline's options, used for every picture inside. */
  sanitise: SanitiseOptions;
  /** How deep this document sits inside others; 0 for the upload itself. */
  depth?: number;
  /** Given by the dispatcher so a ZIP can sanitise the PDF inside it without importing it. */
  nested?: SanitiseNested;
}

/** The photo step, named so container code reads as what it does. */
export type SanitisePicture = (bytes: Uint8Array, options: SanitiseOptions) => Promise<SanitiseResult>;
