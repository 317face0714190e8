import type { AdminRole } from '../config.js';
import { VeilError } from '../pipeline/errors.js';
import type { FaceDecision } from '../pipeline/policy.js';
import type { Box } from '../pipeline/reviewer-boxes.js';
import type { RedactionMode } from '../pipeline/types.js';
import type { SanitiseReport } from '../pipeline/sanitise.js';
import type { UploadOrigin } from '../queue/jobs.js';

/*
 * One held photo waiting for (or past) a person's decision. `review/<id>/item.json` in the
 * object store is the source of truth, so a restart of Veil or Redis loses nothing.
 */

export type ReviewStatus = 'pending' | 'approved' | 'approved-redacted' | 'rejected' | 'expired';
export const REVIEW_STATUSES: readonly ReviewStatus[] = ['pending', 'approved', 'approved-redacted', 'rejected', 'expired'];

/** Why it was held, as a filterable kind (the reasons themselves are sentences). */
export type ReasonKind = 'faces' | 'uncertain' | 'always-review';
export const REASON_KINDS: readonly ReasonKind[] = ['faces', 'uncertain', 'always-review'];

export type Decision = 'approve' | 'approve-redacted' | 'reject';
export const DECISIONS: readonly Decision[] = ['approve', 'approve-redacted', 'reject'];

export type HistoryAction = Decision | 'undo' | 'expire' | 'delete-now' | 'publish' | 'edit-boxes';

export interface Actor {
  name: string;
  role: AdminRole | 'system';
}

export interface HistoryEntry {
  at: string;
  action: HistoryAction;
  actor: string;
  role: Actor['role'];
  reason?: string | undefined;
  bulkId?: string | undefined;
  /** What happened besides the decision, in words ("published to WordPress as media 42"). */
  note?: string | undefined;
}

export interface ReviewItem {
  version: 1;
  /** The upload id: `YYYYMMDD-HHMMSS-xxxxxxxx`. */
  id: string;
  status: ReviewStatus;
  createdAt: string;
  expiresAt: string;
  reasons: string[];
  reasonKinds: ReasonKind[];
  /** The pipeline's report, with metadata kinds and labels but never their values. */
  report: SanitiseReport;
  /** Every face found, in published-image pixels, with what the policy would do. */
  faces: FaceDecision[];
  /** The published size those pixels are of (absent on items from before it was recorded: MAX_EDGE 1600). */
  publishedSize?: { width: number; height: number } | undefined;
  /**
   * The reviewer's boxes (upright-original pixels) and redaction, once someone edited them;
   * until then the detector's boxes and the site's redaction stand.
   */
  boxEdit?: { boxes: Box[]; redaction: RedactionMode; at: string; actor: string } | undefined;
  uploader: UploadOrigin;
  /** What is needed to finish the upload later. */
  upload: {
    originalKey: string;
    previewKey: string;
    /** As the uploader named it (often a pupil's name): shown to reviewers, never published. */
    originalName?: string | undefined;
    declaredType?: string | undefined;
    sha256: string;
    bytes: number;
  };
  decision?: {
    action: Decision | 'expire';
    at: string;
    actor: string;
    role: Actor['role'];
    reason?: string | undefined;
    /** Until then the decision can be undone. */
    undoUntil?: string | undefined;
  };
  approved?: {
    key: string;
    filename: string;
    contentType: string;
    bytes: number;
    facesRedacted: number;
    /** How the faces were hidden (approve-redacted only). */
    redaction?: RedactionMode | undefined;
  };
  delivery?: {
    publisher: string;
    at: string;
    mediaId?: string | undefined;
    url?: string | undefined;
    error?: string | undefined;
  };
  /** A rejected item's original and preview are deleted at this time (the end of the undo window). */
  purgeAt?: string | undefined;
  originalDeletedAt?: string | undefined;
  previewDeletedAt?: string | undefined;
  history: HistoryEntry[];
}

const ITEM_ID = /^\d{8}-\d{6}-[0-9a-f]{8}$/;

export function isItemId(id: unknown): id is string {
  return typeof id === 'string' && ITEM_ID.test(id);
}

/** Checked before any store key is built from an id that came from a request. */
export function assertItemId(id: unknown): asserts id is string {
  if (!isItemId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id) : 'a non-text value';
    throw new VeilError('NOT_FOUND', `No held photo has the reference ${shown} (references look like 20261126-104512-3f9a2c1b).`);
  }
}

export const itemKeys = (id: string) => {
  assertItemId(id);
  return {
    folder: `review/${id}/`,
    item: `review/${id}/item.json`,
    preview: `review/${id}/preview.jpg`,
    approved: (extension: string) => `review/${id}/approved.${extension}`,
    /** The reviewer's boxes and redaction as the worker reads them (a RedactionPlan). */
    redaction: `review/${id}/redaction.json`,
  };
};

/** Words for a status, so colour is never the only signal. */
export const STATUS_WORDS: Record<ReviewStatus, string> = {
  pending: 'Waiting for a decision',
  approved: 'Approved (faces not blurred)',
  'approved-redacted': 'Approved with faces hidden',
  rejected: 'Rejected',
  expired: 'Rejected automatically (no decision in time)',
};

export const REASON_WORDS: Record<ReasonKind, string> = {
  faces: 'Identifiable faces',
  uncertain: 'Possible faces the detector was unsure about',
  'always-review': 'Always reviewed (upload path)',
};

/** Words for what happened, for the history table (the codes stay in the API and the audit export). */
export const HISTORY_WORDS: Record<HistoryAction, string> = {
  approve: 'Approved with faces visible',
  'approve-redacted': 'Approved with faces hidden',
  reject: 'Rejected',
  undo: 'Decision undone',
  expire: 'Rejected automatically (no decision in time)',
  'delete-now': 'Original deleted',
  publish: 'Publishing tried again',
  'edit-boxes': 'Face boxes changed',
};

export const REDACTION_WORDS: Record<RedactionMode, string> = {
  blur: 'blurred',
  pixelate: 'pixelated',
  solid: 'covered in grey',
};
