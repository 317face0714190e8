import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isVideo, sanitiseVideoFile, videoKind } from '../src/pipeline/documents/video.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { decodeAll, exiftoolTags, FACE_DEMO_DIR, matroskaVideo, phoneVideo, probeVideo, PUPIL, videoDir } from './helpers/videos.js';

const work = videoDir();
afterAll(async () => {
  work.cleanup();
  await closeExiftool();
});

const options = { sanitise: { faces: null }, workDir: work.dir };

/** Tags that say where, when, who or with what: in a sanitised video none may carry a value. */
const TELLING = /GPS|Location|Coordinates|Make|Model|Software|Creat|Date|Title|Author|Artist|Creator|Comment|Description|Encoder|Writing|Muxing|Attach/i;
const ZERO_DATE = /^0000:00:00 00:00:00$/;

async function tellingTags(file: string): Promise<string[]> {
  const tags = await readAllTags(file);
  return Object.entries(tags)
    .filter(([key]) => !key.startsWith('File:') && !key.startsWith('System:') && !key.startsWith('ExifTool:') && key !== 'SourceFile')
    .filter(([key, value]) => /^(XMP|Keys|UserData|ItemList|Microsoft|Matroska:Tag)/.test(key) || (TELLING.test(key) && !ZERO_DATE.test(String(value)) && value !== 0))
    .filter(([key]) => !/CompressorName|HandlerDescription|SampleGroupDescription|MuxingApp|WritingApp/.test(key))
    .map(([key, value]) => `${key}=${String(value)}`);
}

/** What must not survive anywhere in the bytes (ExifTool could miss a tag it does not know). */
function leaks(file: string): string[] {
  const text = readFileSync(file).toString('latin1');
  return [PUPIL, 'Tom Pupil', 'iPhone', '51.5072', 'A Teacher', '17.4.1', '2024-05-01', '2024:05:01'].filter((s) => text.includes(s));
}

describe('video metadata', () => {
  it('strips an iPhone-style MOV (ffmpeg udta and keys, ExifTool Keys:GPSCoordinates, ©xyz and XMP) and it still plays', async () => {
    const input = phoneVideo(work.path('phone.mov'));
    exiftoolTags(input);
    const planted = (await tellingTags(input)).join('\n');
    for (const tag of ['Keys:GPSCoordinates', 'Keys:Make', 'UserData:GPSCoordinates', 'XMP-dc:Creator']) expect(planted).toContain(tag);
    const before = probeVideo(input);

    const out = work.path('phone-out.mov');
    const result = await sanitiseVideoFile(input, out, options);

    expect(result.outcome).toBe('sanitised');
    expect(result.report.typeName).toBe('QuickTime video (MOV)');
    expect(result.report.removed).toEqual(expect.arrayContaining(['GPS location', 'camera make and model', 'creation dates', 'XMP']));
    expect(await tellingTags(out)).toEqual([]);
    expect(leaks(out)).toEqual([]);
    const after = probeVideo(out);
    expect(after.raw).not.toMatch(/[^_]location|make|model|creation_time|title|com\.apple/i);
    expect(after.streams).toBe(before.streams);
    expect(after.durationS).toBeCloseTo(before.durationS, 2);
    decodeAll(out);
  });

  it('moves the index in front of the media (faststart), every chunk offset following it', async () => {
    const input = phoneVideo(work.path('late-moov.mp4'));
    const bytes = readFileSync(input);
    expect(bytes.indexOf('moov')).toBeGreaterThan(bytes.indexOf('mdat'));
    const out = work.path('late-moov-out.mp4');
    const result = await sanitiseVideoFile(input, out, options);
    const written = readFileSync(out);
    expect(written.indexOf('moov')).toBeLessThan(written.indexOf('mdat'));
    expect(result.report.changes.join(' ')).toMatch(/moved to the front/);
    // Same frames, bit for bit: nothing was re-encoded.
    const hash = (f: string) => execHash(f);
    expect(hash(out)).toBe(hash(input));
  });

  it('drops a subtitle track naming a pupil and blanks its text in the media data', async () => {
    const input = phoneVideo(work.path('subtitled.mp4'), { subtitle: true });
    expect(readFileSync(input).toString('latin1')).toContain(PUPIL);
    const out = work.path('subtitled-out.mp4');
    const result = await sanitiseVideoFile(input, out, options);
    expect(result.report.removed).toContain('timed metadata track');
    expect(leaks(out)).toEqual([]);
    expect(probeVideo(out).streams).toBe(probeVideo(input).streams - 1);
    decodeAll(out);
  });

  it.each(['webm', 'mkv'] as const)('strips a %s of its tags, chapters and attached photo, streams copied', async (kind) => {
    const input = matroskaVideo(work.path(`tagged.${kind}`), kind, `${FACE_DEMO_DIR}/sample1.jpg`);
    const before = probeVideo(input);
    expect(before.raw).toMatch(new RegExp(PUPIL));
    const out = work.path(`tagged-out.${kind}`);
    const result = await sanitiseVideoFile(input, out, options);
    expect(result.outcome).toBe('sanitised');
    expect(result.report.removed).toEqual(expect.arrayContaining(['title, description or author', 'chapter names', ...(kind === 'mkv' ? ['attachments'] : [])]));
    const after = probeVideo(out);
    expect(after.raw).not.toMatch(/Tom|[^_]location|make|model|creation_time|DATE_|attachment|"title"/i);
    // Only the stream layout is left, and the muxer's bare name (no version, no date).
    expect(Object.entries(after.tags).filter(([k, v]) => !/(^|:)(DURATION|language)$/i.test(k) && !(/encoder$/i.test(k) && v === 'Lavf'))).toEqual([]);
    expect(after.streams).toBe(before.streams - (kind === 'mkv' ? 1 : 0));
    expect(after.durationS).toBeCloseTo(before.durationS, 1);
    expect(await tellingTags(out)).toEqual([]);
    expect(leaks(out)).toEqual([]);
    decodeAll(out);
  });

  it('knows videos by their first bytes, and HEIC, AVIF and M4A are not videos', () => {
    const ftyp = (brand: string) => Buffer.from(`\0\0\0\x18ftyp${brand}\0\0\0\0`, 'latin1');
    expect(videoKind(ftyp('isom'))).toBe('mp4');
    expect(videoKind(ftyp('qt  '))).toBe('mov');
    expect(videoKind(ftyp('M4V '))).toBe('m4v');
    expect(videoKind(ftyp('3gp5'))).toBe('3gp');
    for (const brand of ['heic', 'mif1', 'avif', 'M4A ']) expect(isVideo(ftyp(brand))).toBe(false);
    expect(videoKind(readFileSync(matroskaVideo(work.path('kind.webm'), 'webm')).subarray(0, 64))).toBe('webm');
    expect(isVideo(readFileSync(`${FACE_DEMO_DIR}/sample1.jpg`).subarray(0, 64))).toBe(false);
  });
});


/** ffmpeg's hash of every video and audio packet: equal when no frame changed. */
function execHash(file: string): string {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-map', '0:a', '-c', 'copy', '-f', 'hash', '-hash', 'md5', '-'], { encoding: 'utf8' }).trim();
}
