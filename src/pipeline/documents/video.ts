/**
 * Videos (MP4, MOV, M4V, 3GP; WebM, MKV), files in and files out, never held whole in memory.
 * Metadata is removed without re-encoding: the ISO-BMFF index is rebuilt by hand (video-mp4.ts),
 * Matroska/WebM is remuxed by ffmpeg without tags, chapters or attachments. Faces are looked for
 * on sampled frames; Veil does not blur faces in videos yet, so a video that shows faces is held
 * for a person (under FACE_POLICY=blur and hold), with the frames boxed as previews.
 */
import { randomBytes } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { VeilError, isVeilError } from '../errors.js';
import { DEFAULT_MAX_EDGE } from '../faces.js';
import { MISSED_FACES_WARNING, plural } from '../policy.js';
import type { DocumentOptions, DocumentReport } from './types.js';
import { findFacesInVideo, type SamplingLimits, type VideoFaces } from './video-faces.js';
import { probe, remuxMatroska, type Probe } from './video-ffmpeg.js';
import { findingsForTags, orderFindings, type VideoFinding } from './video-findings.js';
import { stripMp4 } from './video-mp4.js';

export type VideoKind = 'mp4' | 'mov' | 'm4v' | '3gp' | 'webm' | 'mkv';

export interface VideoLimits {
  /** Largest video accepted, in bytes. */
  maxBytes: number;
  /** Longest video accepted: longer ones leave too much unseen between the frames Veil samples. */
  maxDurationS: number;
  maxFrameRate: number;
  /** Largest picture (width × height) of a video stream. */
  maxPixels: number;
  maxStreams: number;
  /** The MP4/MOV index is read into memory. */
  maxMoovBytes: number;
  /** Each ffmpeg/ffprobe run is stopped after this long. */
  timeoutMs: number;
}

export const DEFAULT_VIDEO_LIMITS: VideoLimits = {
  maxBytes: 2 * 1024 ** 3,
  maxDurationS: 20 * 60,
  maxFrameRate: 240,
  maxPixels: 8192 * 4320,
  maxStreams: 16,
  maxMoovBytes: 64 * 1024 ** 2,
  timeoutMs: 10 * 60_000,
};

/** One frame a second, at most 90 (spread evenly over longer videos). */
export const DEFAULT_SAMPLING = { intervalS: 1, maxFrames: 90 } as const;

export interface VideoOptions extends DocumentOptions {
  /** Where frames are sampled to (a private folder the caller cleans up). */
  workDir: string;
  limits?: Partial<VideoLimits>;
  sampling?: Partial<Pick<SamplingLimits, 'intervalS' | 'maxFrames'>>;
}

/** Like DocumentResult, with the sanitised video on disk at `outputPath` instead of in memory. */
export type VideoResult =
  | { outcome: 'sanitised'; outputPath: string; filename: string; contentType: string; report: DocumentReport }
  | {
      outcome: 'held';
      reasons: string[];
      report: DocumentReport;
      /** Sampled frames with the faces boxed, for the reviewer only. */
      previews: Buffer[];
      /** The video with its metadata removed but faces untouched: published only on a reviewer's approval. */
      outputPath: string;
      filename: string;
      contentType: string;
    };

const TYPES: Record<VideoKind, { typeName: string; contentType: string; extension: string }> = {
  mp4: { typeName: 'MP4 video', contentType: 'video/mp4', extension: 'mp4' },
  mov: { typeName: 'QuickTime video (MOV)', contentType: 'video/quicktime', extension: 'mov' },
  m4v: { typeName: 'M4V video', contentType: 'video/x-m4v', extension: 'm4v' },
  '3gp': { typeName: '3GP video', contentType: 'video/3gpp', extension: '3gp' },
  webm: { typeName: 'WebM video', contentType: 'video/webm', extension: 'webm' },
  mkv: { typeName: 'Matroska video (MKV)', contentType: 'video/x-matroska', extension: 'mkv' },
};

/** Brands of still images (HEIC, AVIF) and sound files that share the MP4 layout: not videos. */
const NOT_VIDEO_BRANDS = /^(hei[cmsx]|hev[cmsx]|mif[12]|msf1|avi[fos]|avci|jpeg|jpgs|M4A |M4B |M4P |F4A |F4B |crx )$/;

/** What kind of video these first bytes (16 are enough; 64 for Matroska) begin, if any. */
export function videoKind(head: Uint8Array): VideoKind | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length >= 12 && bytes.toString('latin1', 4, 8) === 'ftyp') {
    const brand = bytes.toString('latin1', 8, 12);
    if (NOT_VIDEO_BRANDS.test(brand)) return undefined;
    return kindOfBrand(brand);
  }
  // QuickTime files from before ftyp start straight with the index, the media or padding.
  if (bytes.length >= 8 && /^(moov|mdat|wide|free|skip)$/.test(bytes.toString('latin1', 4, 8))) return 'mov';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x1a45dfa3) {
    const text = bytes.toString('latin1', 0, Math.min(bytes.length, 64));
    if (text.includes('webm')) return 'webm';
    if (text.includes('matroska')) return 'mkv';
  }
  return undefined;
}

export function isVideo(head: Uint8Array): boolean {
  return videoKind(head) !== undefined;
}

function kindOfBrand(brand: string): VideoKind {
  if (brand === 'qt  ') return 'mov';
  if (brand.startsWith('M4V')) return 'm4v';
  if (brand.startsWith('3g')) return '3gp';
  return 'mp4';
}

export async function sanitiseVideoFile(inputPath: string, outputPath: string, options: VideoOptions): Promise<VideoResult> {
  try {
    return await sanitise(inputPath, outputPath, options);
  } catch (err) {
    // A refused video leaves nothing half-written behind; the input is never touched.
    await rm(outputPath, { force: true });
    throw err;
  }
}

async function sanitise(inputPath: string, outputPath: string, options: VideoOptions): Promise<VideoResult> {
  const started = performance.now();
  const limits = { ...DEFAULT_VIDEO_LIMITS, ...options.limits };
  const { size } = await stat(inputPath);
  if (size === 0) throw new VeilError('EMPTY_FILE', 'The file is empty.');
  if (size > limits.maxBytes) throw new VeilError('FILE_TOO_LARGE', `This video is larger than Veil accepts (${Math.round(limits.maxBytes / 1024 ** 2)} MB), so it was not published. Please upload a shorter or smaller version.`);
  let kind = videoKind(await readHead(inputPath));
  if (!kind) throw new VeilError('UNSUPPORTED_FORMAT', 'This file is not a video Veil can read (MP4, MOV, M4V, 3GP, WebM or MKV).');

  const findings = new Set<VideoFinding>();
  const changes: string[] = [];
  if (kind === 'webm' || kind === 'mkv') {
    const before = await probeOrRefuse(inputPath, limits);
    checkLimits(before, limits);
    noteMatroska(before, findings, changes);
    await remuxMatroska(inputPath, outputPath, kind === 'webm' ? 'webm' : 'matroska', limits.timeoutMs).catch((err: unknown) => {
      throw isVeilError(err) ? err : new VeilError('VIDEO_UNREADABLE', 'This video could not be read safely, so it was not published. Please export it again and try again.', { cause: err });
    });
  } else {
    // The structure is checked by hand before ffprobe sees the file: hostile boxes are refused fast.
    const stripped = await stripMp4(inputPath, outputPath, limits);
    if (stripped.brand) kind = kindOfBrand(stripped.brand);
    for (const f of stripped.findings) findings.add(f);
    changes.push(...stripped.changes);
  }
  // The output is what gets published: its limits are checked and its frames are what is looked at.
  const after = await probeOrRefuse(outputPath, limits);
  checkLimits(after, limits);

  const type = TYPES[kind];
  const filename = outputName(type.extension, options);
  const report: DocumentReport = {
    kind: 'video',
    typeName: type.typeName,
    input: { bytes: size, filename: options.sanitise.originalName },
    pictures: { found: 0, sanitised: 0, downscaled: 0, facesFound: 0, facesRedacted: 0 },
    removed: orderFindings(findings),
    changes,
    summary: '',
    timings: { totalMs: 0 },
  };

  let faces: VideoFaces | undefined;
  const video = after.streams.find((s) => s.codec_type === 'video' && !s.disposition?.['attached_pic']);
  if (!options.sanitise.faces) {
    changes.push('Faces were not checked (face detection is switched off).');
  } else if (video) {
    faces = await findFacesInVideo(outputPath, options.workDir, {
      durationS: durationOf(after),
      videoLongEdge: Math.max(video.width ?? 0, video.height ?? 0),
      faces: options.sanitise.faces,
      limits: { ...DEFAULT_SAMPLING, ...options.sampling, maxEdge: options.sanitise.maxEdge ?? DEFAULT_MAX_EDGE, timeoutMs: limits.timeoutMs },
    });
    report.pictures.found = faces.sampled;
    report.pictures.facesFound = faces.identifiable;
  }

  const holdReasons = [...(options.sanitise.holdReason ? [options.sanitise.holdReason] : []), ...(faces?.hold ? faces.reasons : [])];
  const { size: outputBytes } = await stat(outputPath);
  report.output = { filename, contentType: type.contentType, bytes: outputBytes };
  report.summary = summaryOf(type.typeName, report, faces, holdReasons.length > 0);
  report.timings.totalMs = Math.round(performance.now() - started);
  if (holdReasons.length > 0) {
    report.held = { reasons: holdReasons };
    return { outcome: 'held', reasons: holdReasons, report, previews: faces?.previews ?? [], outputPath, filename, contentType: type.contentType };
  }
  return { outcome: 'sanitised', outputPath, filename, contentType: type.contentType, report };
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await file.read(head, 0, 64, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

async function probeOrRefuse(path: string, limits: VideoLimits): Promise<Probe> {
  try {
    return await probe(path, limits.timeoutMs);
  } catch (err) {
    if (isVeilError(err)) throw err;
    throw new VeilError('VIDEO_UNREADABLE', 'This video could not be read safely, so it was not published. Please export it again from the phone or editing app and try again.', { cause: err });
  }
}

function durationOf(p: Probe): number {
  const seconds = Number(p.format.duration ?? NaN);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

function checkLimits(p: Probe, limits: VideoLimits): void {
  const avs = p.streams.filter((s) => s.codec_type === 'video' || s.codec_type === 'audio');
  if (avs.length === 0) throw new VeilError('VIDEO_UNREADABLE', 'This video holds no picture or sound Veil can read, so it was not published.');
  if (p.streams.length > limits.maxStreams) throw new VeilError('VIDEO_LIMIT', `This video has more than ${limits.maxStreams} streams, more than a normal video, so it was not published.`);
  const duration = durationOf(p);
  if (duration > limits.maxDurationS) {
    throw new VeilError('VIDEO_TOO_LONG', `This video is longer than Veil checks (${Math.round(limits.maxDurationS / 60)} minutes), so it was not published. Please upload a shorter clip, or split it into parts.`);
  }
  for (const s of p.streams.filter((v) => v.codec_type === 'video' && !v.disposition?.['attached_pic'])) {
    const fps = rate(s.avg_frame_rate) || rate(s.r_frame_rate);
    if (fps > limits.maxFrameRate) throw new VeilError('VIDEO_LIMIT', `This video has more than ${limits.maxFrameRate} frames a second, so it was not published. Please export it at a normal frame rate and try again.`);
    if ((s.width ?? 0) * (s.height ?? 0) > limits.maxPixels) throw new VeilError('VIDEO_LIMIT', 'This video\'s picture is larger than Veil accepts (8K), so it was not published. Please export it at a smaller size and try again.');
  }
}

function rate(value: string | undefined): number {
  const [n, d] = (value ?? '').split('/').map(Number);
  return n && d ? n / d : 0;
}

function noteMatroska(p: Probe, findings: Set<VideoFinding>, changes: string[]): void {
  for (const f of findingsForTags(p.format.tags)) findings.add(f);
  for (const s of p.streams) for (const f of findingsForTags(s.tags)) findings.add(f);
  // Attached photos show up as video streams marked attached_pic; other files as attachments.
  const attachments = p.streams.filter((s) => s.codec_type === 'attachment' || s.disposition?.['attached_pic']).length;
  if (attachments > 0) {
    findings.add('attachments');
    changes.push(`${plural(attachments, 'attachment')} removed.`);
  }
  const data = p.streams.filter((s) => s.codec_type === 'data').length;
  if (data > 0) changes.push(`${data === 1 ? '1 data track' : `${data} data tracks`} (not picture or sound) removed.`);
  if (p.chapters.length > 0) {
    findings.add('chapter names');
    changes.push(`${plural(p.chapters.length, 'chapter')} removed.`);
  }
}

function outputName(extension: string, options: VideoOptions): string {
  const s = options.sanitise;
  const stem = s.keepFilename && s.originalName
    ? (s.originalName.split(/[\\/]/).pop() ?? '').replace(/\.[^.]*$/, '').normalize('NFKD').replace(/[^\w.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 80)
    : '';
  if (stem) return `${stem}.${extension}`;
  const day = (s.now ?? new Date()).toISOString().slice(0, 10).replace(/-/g, '');
  return `video-${day}-${randomBytes(3).toString('hex')}.${extension}`;
}

function summaryOf(typeName: string, report: DocumentReport, faces: VideoFaces | undefined, held: boolean): string {
  const removed = report.removed.length > 0 ? `${report.removed.join(', ')} removed` : 'no metadata found';
  if (!faces) return `${typeName}: ${removed}; faces not checked.`;
  const seen = faces.framesWithFaces > 0
    ? `faces seen in ${faces.framesWithFaces} of ${faces.sampled} frames looked at`
    : `no faces seen in ${faces.sampled} frames looked at`;
  const outcome = held ? '; held for a person to check (Veil does not blur faces in videos yet)' : '';
  return `${typeName}: ${removed}; ${seen}${outcome}. ${MISSED_FACES_WARNING.replace('the photo', 'the video')}`;
}
