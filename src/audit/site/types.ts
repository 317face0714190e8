/** One picture found by an audit, and what it gives away. */
export interface AuditedImage {
  /** Where it is: a URL for a site, a path relative to the folder for a folder. */
  location: string;
  /** Pages that show it (site audits); empty when no page links it (e.g. an unlinked original). */
  pages: string[];
  /** For a WordPress generated size (`name-300x200.jpg`) or `-scaled` copy, the original it was made from. */
  sizeOf?: string | undefined;
  /** Bytes downloaded or read. */
  bytes: number;
  /** Last-Modified, the WordPress upload date, or the file's mtime. */
  modified?: string | undefined;
  /** Set when the picture could not be checked (too large, damaged, not an image...). */
  error?: { code: string; message: string } | undefined;
  format?: string | undefined;
  width?: number | undefined;
  height?: number | undefined;
  metadata?: MetadataSummary | undefined;
  faces?: FaceCount | undefined;
  /** Why the file name looks like a person's name, or undefined. */
  personName?: string | undefined;
  /** A small JPEG, faces redacted, as a data: URI. */
  thumbnail?: string | undefined;
  /** Why a person should act on it; empty for a clean picture. */
  reasons: Reason[];
  /** After --fix: what was wrong before the picture was rewritten. */
  reasonsBefore?: Reason[] | undefined;
  /** Set by --fix / --dry-run. */
  fix?: FixOutcome | undefined;
}

export interface MetadataSummary {
  /** Coarse only: "51.5, -0.1 (within ~10 km)"; never the exact position. */
  gps?: string | undefined;
  /** Date taken, as the file says. */
  taken?: string | undefined;
  camera?: string | undefined;
  /** Names of people in the photo (XMP/IPTC). The report is the school's own, so names show. */
  people?: string | undefined;
  /** Photographer, owner or copyright names. */
  author?: string | undefined;
  /** A camera or lens serial number is present (the value is not shown). */
  serialNumber?: boolean | undefined;
  /** Place names (city, location) in XMP/IPTC. */
  place?: string | undefined;
  /** Every other kind of metadata present, by label. */
  other: string[];
}

export interface FaceCount {
  /** Faces big enough to identify at the size the picture is served. */
  identifiable: number;
  /** All candidates the detector reported, including small and uncertain ones. */
  found: number;
}

export type Reason = 'gps' | 'names-in-metadata' | 'serial-number' | 'faces' | 'large' | 'person-name' | 'unchecked';

export const REASON_WORDS: Record<Reason, string> = {
  gps: 'GPS position in the file',
  'names-in-metadata': 'names or places in the metadata',
  'serial-number': 'camera serial number',
  faces: 'identifiable faces',
  large: 'larger than the publishing size',
  'person-name': "file name looks like a person's name",
  unchecked: 'could not be checked',
};

export type FixOutcome =
  | { status: 'fixed' | 'would-fix'; changes: string[] }
  | { status: 'not-fixed'; why: string };

export interface AuditSummary {
  target: string;
  kind: 'folder' | 'site';
  startedAt: string;
  finishedAt: string;
  images: number;
  pages: number;
  gps: number;
  faces: number;
  large: number;
  personNames: number;
  needsAction: number;
  unchecked: number;
  fixed: number;
  /** Page or image URLs robots.txt told us not to fetch. */
  skippedByRobots: number;
  /** Pictures on other sites, linked from the pages but not checked (same origin only). */
  offSite: number;
  maxEdge: number;
}

export interface AuditResult {
  summary: AuditSummary;
  images: AuditedImage[];
  /** Notes for the reader: limits hit, pages that failed. */
  notes: string[];
}
