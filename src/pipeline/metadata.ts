import exifr from 'exifr';
import type { ContainerBlocks } from './containers.js';
import { readIptc, type IptcFields } from './iptc.js';
import { xmpValues } from './xmp.js';
import { formatBytes } from './format-bytes.js';

/**
 * What a photo's metadata gives away, in words a safeguarding lead understands. Veil removes all
 * of it; the findings say what there was, so a lead can see why stripping matters.
 */
export type FindingKind =
  | 'gps'
  | 'location'
  | 'capture-time'
  | 'camera'
  | 'serial-number'
  | 'owner'
  | 'people'
  | 'author'
  | 'caption'
  | 'keywords'
  | 'comment'
  | 'thumbnail'
  | 'maker-notes'
  | 'software'
  | 'edit-history'
  | 'content-credentials'
  | 'hidden-data'
  | 'photoshop'
  | 'text'
  | 'colour-profile'
  | 'other-metadata';

export interface MetadataFinding {
  kind: FindingKind;
  /** What this is, for a person: "GPS position". */
  label: string;
  /** The values found, e.g. "51.50101, -0.14189". Never written to the audit log. */
  detail?: string;
}

const LABELS: Record<FindingKind, string> = {
  gps: 'GPS position (where the photo was taken)',
  location: 'Place names',
  'capture-time': 'Date and time taken',
  camera: 'Camera make and model',
  'serial-number': 'Camera or lens serial number (links photos to one device)',
  owner: "Camera owner's name",
  people: 'Names of people in the photo',
  author: 'Photographer, author or copyright holder',
  caption: 'Title, caption or description',
  keywords: 'Keywords or tags',
  comment: 'Comments',
  thumbnail: 'Embedded preview image (can show the unedited original)',
  'maker-notes': "Camera maker's private data (can include serial numbers)",
  software: 'Software used',
  'edit-history': 'Editing history and document identifiers',
  'content-credentials': 'Content credentials (C2PA manifest, can name people and devices)',
  'hidden-data': 'Hidden data after the end of the image',
  photoshop: 'Photoshop data (can hold a preview and captions)',
  text: 'Text fields',
  'colour-profile': 'Colour profile (converted to standard sRGB, then removed)',
  'other-metadata': 'Other technical metadata',
};

export interface MetadataSources {
  blocks: ContainerBlocks;
  /** Blocks sharp extracted, for formats the container walk does not cover (TIFF, HEIF). */
  sharpExif?: Uint8Array | undefined;
  sharpXmp?: Uint8Array | undefined;
  sharpIptc?: Uint8Array | undefined;
  sharpIcc?: boolean;
}

export async function findMetadata(sources: MetadataSources): Promise<MetadataFinding[]> {
  const { blocks } = sources;
  const exifBlocks = [...blocks.exif];
  if (sources.sharpExif && exifBlocks.length === 0) exifBlocks.push(stripExifHeader(sources.sharpExif));
  const xmp = [...blocks.xmp];
  if (sources.sharpXmp && xmp.length === 0) xmp.push(Buffer.from(sources.sharpXmp).toString('utf8'));
  const iptcBlocks = [...blocks.iptc];
  if (sources.sharpIptc && iptcBlocks.length === 0) iptcBlocks.push(sources.sharpIptc);

  const found = new Findings();
  for (const block of exifBlocks) await addExif(found, block);
  for (const text of xmp) addXmp(found, text);
  for (const block of iptcBlocks) addIptc(found, readIptc(block));

  for (const comment of blocks.comments) found.add('comment', clean(comment));
  for (const { keyword, text } of blocks.textChunks) {
    const kind = PNG_TEXT_KINDS[keyword.toLowerCase()] ?? 'text';
    found.add(kind, kind === 'text' ? `${keyword}: ${clean(text)}` : clean(text));
  }
  if (blocks.photoshop) found.flag('photoshop');
  if (blocks.contentCredentials) found.flag('content-credentials');
  if (blocks.trailing) {
    found.add('hidden-data', `${formatBytes(blocks.trailing.bytes)}: ${blocks.trailing.description}`);
  }
  if (blocks.icc || sources.sharpIcc) found.flag('colour-profile');
  return found.list();
}

/** Findings with the same kind are merged and values de-duplicated, in a stable order. */
class Findings {
  private readonly byKind = new Map<FindingKind, Set<string>>();

  /** Records the values found for a kind; empty values are ignored, so nothing is recorded for none. */
  add(kind: FindingKind, ...values: (string | undefined | null)[]): void {
    const normalise = kind === 'capture-time' ? normaliseDate : (v: string) => v;
    const texts = values.map((v) => v?.trim()).filter((v): v is string => Boolean(v)).map(normalise);
    if (texts.length === 0) return;
    const set = this.flag(kind);
    for (const text of texts) set.add(text.length > 200 ? `${text.slice(0, 197)}...` : text);
  }

  /** Records that a kind is present, with no value to show. */
  flag(kind: FindingKind): Set<string> {
    let set = this.byKind.get(kind);
    if (!set) this.byKind.set(kind, (set = new Set()));
    return set;
  }

  list(): MetadataFinding[] {
    const order = Object.keys(LABELS) as FindingKind[];
    return order
      .filter((kind) => this.byKind.has(kind))
      .map((kind) => {
        const values = [...this.byKind.get(kind)!];
        const finding: MetadataFinding = { kind, label: LABELS[kind] };
        if (values.length > 0) finding.detail = values.join('; ');
        return finding;
      });
  }
}

const PNG_TEXT_KINDS: Record<string, FindingKind> = {
  author: 'author',
  copyright: 'author',
  comment: 'comment',
  description: 'caption',
  title: 'caption',
  'creation time': 'capture-time',
  software: 'software',
  source: 'camera',
};

function stripExifHeader(exif: Uint8Array): Uint8Array {
  const head = Buffer.from(exif.subarray(0, 6)).toString('latin1');
  return head === 'Exif\0\0' ? exif.subarray(6) : exif;
}

type Tags = Record<string, unknown>;

async function addExif(found: Findings, tiff: Uint8Array): Promise<void> {
  let parsed: Record<string, Tags | undefined> | undefined;
  try {
    parsed = await exifr.parse(Buffer.from(tiff), {
      tiff: true, ifd0: true, exif: true, gps: true, ifd1: true, interop: false, makerNote: true,
      xmp: false, iptc: false, icc: false, jfif: false, ihdr: false,
      mergeOutput: false, translateValues: false, reviveValues: false, sanitize: false,
    } as never);
  } catch {
    found.add('other-metadata', 'EXIF block (unreadable)');
    return;
  }
  if (!parsed) return;
  const ifd0 = parsed.ifd0 ?? {};
  const exif = parsed.exif ?? {};
  const gps = parsed.gps ?? {};
  const ifd1 = parsed.ifd1 ?? {};
  const all: Tags = { ...ifd0, ...exif };

  const position = describeGps(gps);
  if (position) found.add('gps', position);
  found.add('capture-time', ...['DateTimeOriginal', 'CreateDate', 'DateTimeDigitized', 'ModifyDate', 'DateTime'].map((k) => text(all[k])));
  if (gps.GPSDateStamp) found.add('capture-time', `${text(gps.GPSDateStamp)} (GPS date)`);
  const camera = [text(all.Make), text(all.Model)].filter(Boolean).join(' ');
  const lens = text(all.LensModel) ?? text(all.LensMake);
  if (camera || lens) found.add('camera', [camera, lens && `lens ${lens}`].filter(Boolean).join(', '));
  found.add('serial-number', ...['BodySerialNumber', 'SerialNumber', 'CameraSerialNumber', 'LensSerialNumber', 'InternalSerialNumber'].map((k) => text(all[k])));
  if (all.ImageUniqueID) found.add('serial-number', `unique image id ${text(all.ImageUniqueID)}`);
  found.add('owner', text(all.CameraOwnerName), text(all.OwnerName));
  found.add('author', text(all.Artist), text(all.Copyright), xpText(all.XPAuthor));
  found.add('caption', text(all.ImageDescription), xpText(all.XPTitle), xpText(all.XPSubject));
  found.add('keywords', xpText(all.XPKeywords));
  found.add('comment', userComment(all.UserComment), xpText(all.XPComment));
  found.add('software', text(all.Software), text(all.HostComputer));
  if (all.MakerNote !== undefined || exif.MakerNote !== undefined) found.flag('maker-notes');
  const thumbLength = Number(ifd1.ThumbnailLength ?? ifd1.JPEGInterchangeFormatLength ?? ifd1.StripByteCounts ?? 0);
  if (thumbLength > 0 || ifd1.ThumbnailOffset !== undefined) {
    const size = ifd1.ImageWidth && ifd1.ImageHeight ? `${text(ifd1.ImageWidth)}×${text(ifd1.ImageHeight)}, ` : '';
    found.add('thumbnail', `${size}${formatBytes(thumbLength)} in the EXIF block`);
  }
  found.add('other-metadata', 'EXIF block');
}

function describeGps(gps: Tags): string | null {
  const lat = toDegrees(gps.GPSLatitude, gps.GPSLatitudeRef);
  const lon = toDegrees(gps.GPSLongitude, gps.GPSLongitudeRef);
  if (lat === null || lon === null) return Object.keys(gps).length > 1 ? 'GPS tags present (incomplete position)' : null;
  const altitude = typeof gps.GPSAltitude === 'number' ? `, altitude ${Math.round(gps.GPSAltitude)} m` : '';
  return `${lat.toFixed(5)}, ${lon.toFixed(5)}${altitude}`;
}

function toDegrees(value: unknown, ref: unknown): number | null {
  let degrees: number | null = null;
  if (Array.isArray(value) && value.length >= 1) {
    const [d = 0, m = 0, s = 0] = value.map(Number);
    degrees = d + m / 60 + s / 3600;
  } else if (typeof value === 'number') degrees = value;
  if (degrees === null || !Number.isFinite(degrees)) return null;
  const r = text(ref)?.toUpperCase();
  return r === 'S' || r === 'W' ? -degrees : degrees;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8').replace(/\0+$/, '').trim() || undefined;
  if (Array.isArray(value)) return value.map(String).join(', ');
  const s = String(value).replace(/\0+$/, '').trim();
  return s || undefined;
}

/** Windows XP* tags are UCS-2 byte arrays. */
function xpText(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined;
  if (Array.isArray(value) || value instanceof Uint8Array) {
    return Buffer.from(value as ArrayLike<number>).toString('utf16le').replace(/\0+$/, '').trim() || undefined;
  }
  return undefined;
}

/** EXIF UserComment starts with an 8-byte character-set code. */
function userComment(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (!(value instanceof Uint8Array) && !Array.isArray(value)) return undefined;
  const bytes = Buffer.from(value as ArrayLike<number>);
  const charset = bytes.toString('latin1', 0, 8);
  const body = bytes.subarray(8);
  const decoded = charset.startsWith('UNICODE') ? body.toString('utf16le') : body.toString('utf8');
  return decoded.replace(/\0+/g, '').trim() || undefined;
}

function addXmp(found: Findings, xmp: string): void {
  const get = (...names: string[]) => names.flatMap((n) => xmpValues(xmp, n));
  found.add('people', ...get('Iptc4xmpExt:PersonInImage', 'mwg-rs:Name', 'MP:PersonDisplayName', 'MPReg:PersonDisplayName', 'Iptc4xmpExt:PersonName'));
  found.add('author', ...get('dc:creator', 'dc:rights', 'photoshop:Credit', 'photoshop:CaptionWriter', 'xmpRights:Owner', 'photoshop:AuthorsPosition', 'Iptc4xmpCore:CreatorContactInfo'));
  found.add('caption', ...get('dc:title', 'dc:description', 'photoshop:Headline', 'photoshop:Instructions', 'exif:UserComment'));
  found.add('keywords', ...get('dc:subject', 'lr:hierarchicalSubject'));
  found.add('location', ...get('photoshop:City', 'photoshop:State', 'photoshop:Country', 'Iptc4xmpCore:Location', 'Iptc4xmpExt:Sublocation', 'Iptc4xmpExt:City', 'Iptc4xmpCore:CountryCode'));
  const lat = get('exif:GPSLatitude')[0];
  const lon = get('exif:GPSLongitude')[0];
  if (lat && lon) found.add('gps', `${lat}, ${lon} (in XMP)`);
  found.add('capture-time', ...get('xmp:CreateDate', 'photoshop:DateCreated', 'exif:DateTimeOriginal', 'xmp:ModifyDate'));
  found.add('serial-number', ...get('aux:SerialNumber', 'exifEX:BodySerialNumber', 'aux:LensSerialNumber', 'exifEX:LensSerialNumber'));
  found.add('owner', ...get('aux:OwnerName', 'exifEX:CameraOwnerName'));
  found.add('camera', ...get('tiff:Model', 'aux:Lens'));
  found.add('software', ...get('xmp:CreatorTool'));
  const ids = get('xmpMM:DocumentID', 'xmpMM:OriginalDocumentID', 'xmpMM:InstanceID');
  if (ids.length > 0 || /xmpMM:History/.test(xmp)) found.add('edit-history', `${ids.length} document identifier(s)`);
  found.add('other-metadata', 'XMP block');
}

function addIptc(found: Findings, iptc: IptcFields): void {
  found.add('author', ...iptc.byline, ...iptc.copyright, ...iptc.writer, ...iptc.credit, ...iptc.contacts);
  found.add('caption', ...iptc.caption, ...iptc.headline, ...iptc.objectName);
  found.add('keywords', ...iptc.keywords);
  found.add('location', ...iptc.location);
  found.add('capture-time', ...iptc.dateCreated);
  found.add('other-metadata', 'IPTC block');
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f]+/g, ' ').trim();
}

/** EXIF, XMP and IPTC write the same moment three ways; show it one way so duplicates merge. */
function normaliseDate(value: string): string {
  const m = /^(\d{4})[:-]?(\d{2})[:-]?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2}))?)?/.exec(value);
  if (!m) return value;
  const [, y, mo, d, h, mi, sec] = m;
  return h ? `${y}-${mo}-${d} ${h}:${mi}${sec ? `:${sec}` : ''}` : `${y}-${mo}-${d}`;
}
