import type { FindingKind } from '../pipeline/metadata.js';
import type { UploadJobData, UploadJobResult } from '../queue/jobs.js';

/*
 * What the audit log holds. Records are for governors and inspectors: who decided what, when and
 * why, and what Veil did to each photo. They never hold a metadata value (a GPS position, a
 * caption naming a child) nor an uploaded file name, only the kinds of metadata that were removed.
 */

export type AuditType = 'upload' | 'review' | 'deletion' | 'login';
export const AUDIT_TYPES: readonly AuditType[] = ['upload', 'review', 'deletion', 'login'];

interface RecordBase {
  /** The record's own key in the store, filled in by the log; unique. */
  id: string;
  /** ISO time of the event. */
  at: string;
}

export interface UploadAuditRecord extends RecordBase {
  type: 'upload';
  uploadId: string;
  outcome: 'sanitised' | 'held' | 'refused';
  errorCode?: string | undefined;
  facesFound: number;
  facesRedacted: number;
  /** Kinds only ("gps", "people"), never what they said. */
  metadataRemoved: FindingKind[];
  heldReasons?: string[] | undefined;
  cms: string;
  method: string;
  path: string;
  user?: string | undefined;
  clientIp?: string | undefined;
  sha256: string;
  bytes: number;
}

export type ReviewAuditAction = 'approve' | 'approve-redacted' | 'reject' | 'undo' | 'expire' | 'publish' | 'edit-boxes';

export interface ReviewAuditRecord extends RecordBase {
  type: 'review';
  action: ReviewAuditAction;
  itemId: string;
  actor: string;
  role: 'reviewer' | 'admin' | 'system';
  reason?: string | undefined;
  /** Shared by every decision of one bulk action. */
  bulkId?: string | undefined;
  /** For undo: the decision it reverses. */
  undid?: string | undefined;
  /** Where the approved photo went (CMS media id and URL), or why it did not. */
  delivery?: { mediaId?: string; url?: string; error?: string } | undefined;
  /**
   * A reviewer's change to the face boxes (edit-boxes), or the boxes an approval hid
   * (approve-redacted): counts and sizes in pixels ("60×80"), never where they are nor any pixel.
   */
  boxes?: { added: number; removed: number; total: number; addedSizes: string[]; removedSizes: string[] } | undefined;
  /** How the faces were hidden: blur, pixelate or solid. */
  redaction?: 'blur' | 'pixelate' | 'solid' | undefined;
}

export type DeletedKind = 'original' | 'preview' | 'approved' | 'cms-media' | 'item' | 'sanitised';
export type DeletionWhy = 'rejected' | 'retention' | 'expiry' | 'undo';

export interface DeletionAuditRecord extends RecordBase {
  type: 'deletion';
  key: string;
  kind: DeletedKind;
  why: DeletionWhy;
  /** The person who caused it, or "retention" / "expiry" for scheduled clean-up. */
  by: string;
  itemId?: string | undefined;
}

export interface LoginAuditRecord extends RecordBase {
  type: 'login';
  outcome: 'success' | 'failure' | 'locked' | 'logout';
  /** The name typed in, bounded; never a password. */
  user: string;
  clientIp?: string | undefined;
}

export type AuditRecord = UploadAuditRecord | ReviewAuditRecord | DeletionAuditRecord | LoginAuditRecord;

/** A record as callers write it: the log assigns the id, and the time when none is given. */
export type NewAuditRecord = WithoutIdentity<AuditRecord>;
type WithoutIdentity<R> = R extends AuditRecord ? Omit<R, 'id' | 'at'> & { at?: string } : never;

/** The upload record for one finished job (call from the worker's or the ingest's onResult). */
export function uploadAuditRecord(job: UploadJobData, result: UploadJobResult, at?: Date): NewAuditRecord {
  const report = result.outcome === 'refused' ? undefined : result.report;
  const faces = report?.faces?.faces ?? [];
  return {
    type: 'upload',
    ...(at ? { at: at.toISOString() } : {}),
    uploadId: job.uploadId,
    outcome: result.outcome,
    errorCode: result.outcome === 'refused' ? result.error.code : undefined,
    facesFound: faces.length,
    facesRedacted: report?.faces?.redacted ?? 0,
    metadataRemoved: [...new Set((report?.removed ?? []).map((finding) => finding.kind))],
    heldReasons: result.outcome === 'held' ? result.reasons : undefined,
    cms: job.origin.cms,
    method: job.origin.method,
    path: job.origin.path,
    user: job.origin.user,
    clientIp: job.origin.clientIp,
    sha256: job.sha256,
    bytes: job.bytes,
  };
}
