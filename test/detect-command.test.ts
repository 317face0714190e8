/**
 * `veil detect`, called as the CLI calls it, on real files: what it prints is what a school's
 * technician or a script comparing detectors would read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCommand } from '../src/commands/detect.js';
import { UsageError } from '../src/commands/io.js';
import { matchFaces } from '../scripts/eval-faces.js';
import { DEFAULT_MIN_SCORE } from '../src/pipeline/faces.js';
import { demoGroundTruth } from './helpers/faces.js';

interface FaceLine {
  file: string;
  width: number;
  height: number;
  faces: { box: [number, number, number, number]; score: number }[];
}

function capture(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture();
  const err = capture();
  const code = await detectCommand(argv, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

const jsonLines = (text: string): unknown[] => text.trim().split('\n').map((l) => JSON.parse(l) as unknown);

describe('veil detect', () => {
  const demo = demoGroundTruth()[0]!; // sample1.jpg, 1920x1280, three faces
  const temp = mkdtempSync(path.join(tmpdir(), 'veil-detect-'));
  const sideways = path.join(temp, 'sideways.jpg');
  const notAnImage = path.join(temp, 'notes.txt');
  beforeAll(async () => {
    // Stored on its side with EXIF orientation 6: the upright picture is the original one.
    writeFileSync(sideways, await sharp(demo.file).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toBuffer());
    writeFileSync(notAnImage, 'Class 3 trip, names: …');
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('--json prints one line per image with the faces Veil acts on, in upright pixels', async () => {
    const { code, stdout } = await run([demo.file, sideways, '--json']);
    expect(code).toBe(0);
    const lines = jsonLines(stdout) as FaceLine[];
    expect(lines.map((l) => l.file)).toEqual([demo.file, sideways]);
    for (const line of lines) {
      expect([line.width, line.height]).toEqual([1920, 1280]);
      expect(Object.keys(line).sort()).toEqual(['faces', 'file', 'height', 'width']);
      expect(matchFaces(line.faces, demo.boxes).found).toEqual([true, true, true]);
      for (const face of line.faces) {
        expect(face.box.every(Number.isInteger)).toBe(true);
        expect(face.score).toBeGreaterThanOrEqual(DEFAULT_MIN_SCORE);
        expect(face.score).toBeLessThanOrEqual(1);
      }
    }
  });

  it('--min-score lists every candidate down to that score, for a precision-recall curve', async () => {
    const operating = (jsonLines((await run([demo.file, '--json'])).stdout)[0] as FaceLine).faces;
    const all = (jsonLines((await run([demo.file, '--json', '--min-score', '0.1'])).stdout)[0] as FaceLine).faces;
    expect(all.length).toBeGreaterThan(operating.length);
    expect(all.every((f) => f.score >= 0.1)).toBe(true);
    expect(all.some((f) => f.score < DEFAULT_MIN_SCORE)).toBe(true);
  });

  it('--max-edge and --face-min-px say which faces matter: none of these are 16 px once shrunk to 100 px', async () => {
    const small = jsonLines((await run([demo.file, '--json', '--max-edge', '100'])).stdout)[0] as FaceLine;
    expect(small.faces).toEqual([]);
    // Shrunk to 400 px the ~230 px faces are ~48 px: asking for 60 px faces drops them, 30 keeps them.
    const strict = jsonLines((await run([demo.file, '--json', '--max-edge', '400', '--face-min-px', '60'])).stdout)[0] as FaceLine;
    const lenient = jsonLines((await run([demo.file, '--json', '--max-edge', '400', '--face-min-px', '30'])).stdout)[0] as FaceLine;
    expect(strict.faces).toEqual([]);
    expect(matchFaces(lenient.faces, demo.boxes).found).toEqual([true, true, true]);
  });

  it('reports a file it cannot read as a JSON error line and exits non-zero, carrying on with the rest', async () => {
    const missing = path.join(temp, 'gone.jpg');
    const { code, stdout } = await run([notAnImage, missing, demo.file, '--json']);
    expect(code).toBe(1);
    const [text, gone, photo] = jsonLines(stdout) as Record<string, unknown>[];
    expect(text).toMatchObject({ file: notAnImage, ok: false, error: { code: 'UNSUPPORTED_FORMAT' } });
    expect(gone).toMatchObject({ file: missing, ok: false, error: { code: 'NOT_FOUND' } });
    for (const line of [text, gone]) expect(typeof (line!.error as { message: unknown }).message).toBe('string');
    expect((photo as unknown as FaceLine).faces).toHaveLength(3);
  });

  it('without --json prints a readable line per image, failures on stderr', async () => {
    const { code, stdout, stderr } = await run([demo.file, notAnImage]);
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`^${demo.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 1920×1280, 3 faces: \\[\\d+, \\d+, \\d+, \\d+\\] 0\\.\\d\\d`));
    expect(stderr).toContain(`FAIL ${notAnImage}: UNSUPPORTED_FORMAT`);
  });

  it('refuses bad arguments as usage errors', async () => {
    await expect(run([])).rejects.toBeInstanceOf(UsageError);
    await expect(run([demo.file, '--min-score', '2'])).rejects.toBeInstanceOf(UsageError);
  });
});
