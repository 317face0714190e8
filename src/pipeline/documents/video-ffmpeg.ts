/**
 * The one module that runs Debian's ffmpeg and ffprobe: probing a video, remuxing Matroska/WebM
 * without its metadata (stream copy, no re-encoding) and sampling frames for face detection.
 * Every run has a time limit and is killed when it passes it; stderr is kept short and never
 * shown to users (it can name the file).
 */
import { spawn } from 'node:child_process';
import { VeilError } from '../errors.js';

export interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  tags?: Record<string, string>;
  disposition?: Record<string, number>;
}

export interface Probe {
  format: { format_name?: string; duration?: string; nb_streams?: number; tags?: Record<string, string> };
  streams: ProbeStream[];
  chapters: { tags?: Record<string, string> }[];
}

const STDERR_KEEP = 4096;

export async function run(command: 'ffmpeg' | 'ffprobe', args: string[], timeoutMs: number): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += d.toString('utf8').slice(0, STDERR_KEEP - stderr.length);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new VeilError('INTERNAL', `${command} could not be started: is Debian's ffmpeg installed?`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new VeilError('TIMEOUT', 'Veil took too long to process this video, so it was not published.'));
      else if (code !== 0) reject(Object.assign(new Error(`${command} exited with ${code}`), { stderr }));
      else resolve({ stdout: Buffer.concat(out), stderr });
    });
  });
}

export async function probe(path: string, timeoutMs: number): Promise<Probe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-show_chapters', '-i', path], timeoutMs);
  const parsed = JSON.parse(stdout.toString('utf8')) as Partial<Probe>;
  return { format: parsed.format ?? {}, streams: parsed.streams ?? [], chapters: parsed.chapters ?? [] };
}

/**
 * Matroska/WebM without tags, chapters, attachments, title, dates or app names: every video,
 * sound and subtitle stream copied as it is (`V`: videos, not attached pictures, which are photos). `bitexact` stops ffmpeg writing its own name,
 * version and the date into the new file.
 */
export async function remuxMatroska(inputPath: string, outputPath: string, muxer: 'webm' | 'matroska', timeoutMs: number): Promise<void> {
  await run('ffmpeg', [
    '-v', 'error', '-nostdin', '-y', '-i', inputPath,
    '-map', '0:V?', '-map', '0:a?', '-map', '0:s?', '-dn',
    '-c', 'copy', '-map_metadata', '-1', '-map_metadata:s', '-1', '-map_chapters', '-1',
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact',
    '-f', muxer, outputPath,
  ], timeoutMs);
}

/**
 * Up to `count` frames, one every `intervalS` seconds from the start, upright (ffmpeg applies the
 * phone's rotation) and no longer than `maxEdge` on their long side, as PNG files in `dir`.
 */
export async function sampleFrames(inputPath: string, dir: string, options: { intervalS: number; count: number; maxEdge: number; timeoutMs: number }): Promise<void> {
  const e = options.maxEdge;
  const scale = `scale=w='if(gte(iw,ih),min(iw,${e}),-2)':h='if(gte(iw,ih),-2,min(ih,${e}))'`;
  await run('ffmpeg', [
    '-v', 'error', '-nostdin', '-y', '-i', inputPath, '-map', '0:v:0', '-an', '-sn', '-dn',
    '-vf', `fps=1/${options.intervalS}:round=down,${scale}`, '-frames:v', String(options.count),
    '-f', 'image2', '-c:v', 'png', `${dir}/frame-%04d.png`,
  ], options.timeoutMs);
}
