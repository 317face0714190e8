import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { closeExiftool, nonStructuralTags, readAllTags } from './helpers/exiftool.js';
import { DEMO_PHOTO, FixtureDir, pngBomb } from './helpers/fixtures.js';

const fx = new FixtureDir();
afterAll(async () => {
  fx.remove();
  await closeExiftool();
});

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs bin/veil.js exactly as a user would (compiled by the global setup). */
function veil(args: string[], cwd = process.cwd()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(process.cwd(), 'bin/veil.js'), ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function jsonLines(stdout: string): Record<string, any>[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

describe('veil sanitise', () => {
  it('writes a clean, smaller file with -o and prints a JSON report', async () => {
    const out = fx.path('clean.jpg');
    const run = await veil(['sanitise', DEMO_PHOTO, '-o', out, '--json', '--faces', 'off']);
    expect(run.status).toBe(0);
    const [record] = jsonLines(run.stdout);
    expect(record).toMatchObject({ file: DEMO_PHOTO, output: out, ok: true });
    expect(record!.report.removed.map((f: { kind: string }) => f.kind)).toContain('gps');
    expect(nonStructuralTags(await readAllTags(out))).toEqual([]);
    expect((await sharp(out).metadata()).width).toBe(1600);
  });

  it('names results itself in --out-dir, reports each input, and leaves nothing for a failure', async () => {
    const dir = fx.path('batch');
    const hostile = fx.path(`Jane O'Brien (Year 6) ✓ $(rm -rf).jpg`);
    copyFileSync(DEMO_PHOTO, hostile);
    const lying = fx.write('holiday.jpg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'));
    const bomb = fx.write('bomb.png', pngBomb());
    const truncated = fx.write('cut.jpg', (await sharp(DEMO_PHOTO).jpeg().toBuffer()).subarray(0, 40_000));
    const run = await veil(['sanitise', hostile, lying, bomb, truncated, fx.path('missing.jpg'), '--out-dir', dir, '--json', '--max-edge', '800', '--faces', 'off']);
    expect(run.status).toBe(1);
    const records = jsonLines(run.stdout);
    expect(records.map((r) => r.ok)).toEqual([true, false, false, false, false]);
    expect(records.slice(1).map((r) => r.error.code)).toEqual(['UNSUPPORTED_FORMAT', 'PIXEL_LIMIT', 'CORRUPT_IMAGE', 'NOT_FOUND']);
    expect(records[1]!.error.message).toMatch(/SVG drawing/);
    expect(records[4]!.error.message).toMatch(/No such file/);
    // Exactly one file: the good one, under a generated name; no partial files from the failures.
    const written = readdirSync(dir);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^photo-\d{8}-[0-9a-f]{6}\.jpg$/);
    expect(records[0]!.output).toBe(join(dir, written[0]!));
    expect(records[0]!.report.input.filename).toBe(hostile);
    expect((await sharp(join(dir, written[0]!)).metadata()).width).toBe(800);
  });

  it('holds a photo with identifiable faces under --faces hold: exit 3, nothing written', async () => {
    const out = fx.path('held.jpg');
    const run = await veil(['sanitise', DEMO_PHOTO, '-o', out, '--faces', 'hold', '--json']);
    expect(run.status).toBe(3);
    const [record] = jsonLines(run.stdout);
    expect(record).toMatchObject({ file: DEMO_PHOTO, ok: false, held: true });
    expect(record!.reasons.join(' ')).toMatch(/3 recognisable faces/);
    expect(existsSync(out)).toBe(false);
  });

  it('redacts faces by default and says so in plain words', async () => {
    const out = fx.path('blurred.jpg');
    const run = await veil(['sanitise', DEMO_PHOTO, '-o', out]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/GPS position/);
    expect(run.stdout).toMatch(/faces: 3 faces found, 3 redacted/);
  });

  it('refuses to overwrite the original', async () => {
    const input = fx.path('keep-me.jpg');
    copyFileSync(DEMO_PHOTO, input);
    const run = await veil(['sanitise', input, '-o', input, '--faces', 'off', '--json']);
    expect(run.status).toBe(1);
    expect(jsonLines(run.stdout)[0]!.error.message).toMatch(/Refusing to overwrite/);
    expect((await readAllTags(input))['GPS:GPSLatitude']).toBeDefined();
  });

  it.each([
    [['sanitise'], /at least one image/],
    [['sanitise', DEMO_PHOTO], /either -o OUT/],
    [['sanitise', DEMO_PHOTO, DEMO_PHOTO, '-o', 'x.jpg'], /-o takes one input/],
    [['sanitise', DEMO_PHOTO, '-o', 'x.jpg', '--faces', 'maybe'], /--faces must be one of/],
    [['sanitise', DEMO_PHOTO, '-o', 'x.jpg', '--max-edge', 'big'], /--max-edge must be a number/],
    [['sanitise', DEMO_PHOTO, '-o', 'x.jpg', '--colour'], /Unknown option/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('%j is a usage error (exit 2) that says what is wrong', async (args, message) => {
    const run = await veil(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('veil inspect', () => {
  it('lists what a photo gives away without writing anything', async () => {
    const dir = fx.path('inspect');
    mkdirSync(dir);
    const copy = join(dir, 'sample1.jpg');
    copyFileSync(DEMO_PHOTO, copy);
    const run = await veil(['inspect', copy, '--json']);
    expect(run.status).toBe(0);
    const [record] = jsonLines(run.stdout);
    expect(record).toMatchObject({ file: copy, ok: true, format: 'jpeg', width: 1920, height: 1280 });
    expect(record!.findings.find((f: { kind: string }) => f.kind === 'gps').detail).toMatch(/^37\.3196/);
    expect(record!.identifiableFaces).toBe(3);
    expect(readdirSync(dir)).toEqual(['sample1.jpg']);
  });

  it('prints readable lines without --json', async () => {
    const run = await veil(['inspect', DEMO_PHOTO, '--no-faces']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/JPEG 1920×1280/);
    expect(run.stdout).toMatch(/GPS position \(where the photo was taken\): 37\.3196/);
  });

  it('reports an unreadable file and exits 1', async () => {
    const file = fx.write('notes.txt', Buffer.from('just text'));
    writeFileSync(file, 'just text');
    const run = await veil(['inspect', file, '--json']);
    expect(run.status).toBe(1);
    expect(jsonLines(run.stdout)[0]).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_FORMAT' } });
  });
});
