import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

/**
 * Videos made the way phones and editors make them, by Debian's ffmpeg (and ExifTool for Apple's
 * keys and XMP): H.264 + AAC in MP4 and MOV with a location, make, model and dates; a subtitle
 * track naming a pupil; WebM and MKV with tags, chapters and an attachment; a video of the
 * face-api demo photos (real faces) and one of ffmpeg's test pattern (none).
 */

export const LOCATION = '+51.5072-000.1276/';
export const PUPIL = 'Tom Pupil sports day';

export function videoDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'veil-video-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const PHONE_TAGS = ['-metadata', `location=${LOCATION}`, '-metadata', 'make=Apple', '-metadata', 'model=iPhone 15', '-metadata', 'software=17.4.1', '-metadata', `title=${PUPIL}`, '-metadata', 'creation_time=2024-05-01T10:00:00Z'];
const TEST_PATTERN = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
const H264_AAC = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];

/** An MP4 or MOV as a phone writes it: moov after mdat, udta/meta with location, make, model, dates. */
export function phoneVideo(out: string, options: { seconds?: number; subtitle?: boolean } = {}): string {
  const seconds = String(options.seconds ?? 3);
  const subtitle = options.subtitle ? ['-f', 'srt', '-i', srt(out)] : [];
  const maps = options.subtitle ? ['-map', '0:v', '-map', '1:a', '-map', '2:s', '-c:s', 'mov_text'] : [];
  ffmpeg([...TEST_PATTERN, ...subtitle, '-t', seconds, ...maps, ...H264_AAC, ...PHONE_TAGS, '-movflags', 'use_metadata_tags', out]);
  return out;
}

function srt(out: string): string {
  const file = `${out}.srt`;
  execFileSync('sh', ['-c', `printf '1\\n00:00:00,000 --> 00:00:02,000\\n${PUPIL}\\n' > "${file}"`]);
  return file;
}

/** Apple's keys and XMP as ExifTool writes them (a photo app's "add location" does the same). */
export function exiftoolTags(file: string): void {
  // Two runs: ExifTool writes QuickTime Keys and UserData/XMP in separate passes more reliably.
  const run = (args: string[]) => execFileSync('exiftool', ['-q', '-overwrite_original', ...args, file], { stdio: 'ignore' });
  run(['-Keys:GPSCoordinates=51.5072, -0.1276, 11', '-Keys:Make=Apple', '-Keys:Model=iPhone 15', '-Keys:Software=17.4.1', '-Keys:CreationDate=2024:05:01 10:00:00+01:00']);
  run(['-UserData:GPSCoordinates=51.5072, -0.1276', '-XMP-dc:Creator=A Teacher', '-XMP-exif:GPSLatitude=51.5072', '-XMP-exif:GPSLongitude=-0.1276', '-XMP-dc:Title=Tom Pupil']);
}

/** WebM (VP8 + Opus) or MKV (H.264 + AAC) with a title, dates, stream titles, a chapter and (MKV) an attached photo. */
export function matroskaVideo(out: string, kind: 'webm' | 'mkv', attachment?: string): string {
  const codecs = kind === 'webm' ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus'] : H264_AAC;
  const chapters = `${out}.ffmeta`;
  execFileSync('sh', ['-c', `printf ';FFMETADATA1\\ntitle=${PUPIL}\\n[CHAPTER]\\nTIMEBASE=1/1000\\nSTART=0\\nEND=1000\\ntitle=Tom runs\\n' > "${chapters}"`]);
  const attach = kind === 'mkv' && attachment ? ['-attach', attachment, '-metadata:s:t', 'mimetype=image/jpeg', '-metadata:s:t', 'filename=tom.jpg'] : [];
  ffmpeg([
    ...TEST_PATTERN, '-i', chapters, '-map', '0:v', '-map', '1:a', '-map_metadata', '2', '-map_chapters', '2', '-t', '2', ...codecs,
    ...PHONE_TAGS, '-metadata', 'DATE_RECORDED=2024-05-01', '-metadata:s:v', `title=${PUPIL}`, ...attach, out,
  ]);
  return out;
}

const require = createRequire(import.meta.url);
export const FACE_DEMO_DIR = join(require.resolve('@vladmandic/face-api/package.json'), '..', 'demo');

/** Three seconds of the face-api demo group photos (one a second), H.264 in MP4. */
export function facesVideo(out: string): string {
  ffmpeg([
    '-framerate', '1', '-start_number', '1', '-i', join(FACE_DEMO_DIR, 'sample%d.jpg'), '-frames:v', '3',
    '-vf', 'scale=960:540:force_original_aspect_ratio=decrease,pad=960:540:(ow-iw)/2:(oh-ih)/2,fps=10,format=yuv420p',
    '-c:v', 'libx264', '-preset', 'ultrafast', ...PHONE_TAGS, out,
  ]);
  return out;
}

export interface ProbeSummary {
  durationS: number;
  streams: number;
  tags: Record<string, string>;
}

/** ffprobe's view, the independent witness for streams, duration and tags. */
export function probeVideo(file: string): ProbeSummary & { raw: string } {
  const raw = execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-show_chapters', file], { encoding: 'utf8' });
  const parsed = JSON.parse(raw) as { format: { duration: string; nb_streams: number; tags?: Record<string, string> }; streams: { tags?: Record<string, string> }[] };
  const tags: Record<string, string> = { ...parsed.format.tags };
  parsed.streams.forEach((s, i) => Object.entries(s.tags ?? {}).forEach(([k, v]) => { tags[`${i}:${k}`] = v; }));
  return { durationS: Number(parsed.format.duration), streams: parsed.format.nb_streams, tags, raw };
}

/** Decodes every frame of every stream; throws with ffmpeg's complaint if any fails. */
export function decodeAll(file: string): void {
  ffmpeg(['-v', 'error', '-xerror', '-i', file, '-map', '0', '-f', 'null', '-']);
}
