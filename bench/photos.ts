import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const DEMO = 'node_modules/@vladmandic/face-api/demo';
export const EXIFTOOL = 'node_modules/exiftool-vendored.pl/bin/exiftool';

/**
 * The bench's photo set: the six real demo photos (1920 px, GPS EXIF) and two 12 MP
 * "phone camera" photos made from them, with GPS and camera EXIF written by ExifTool.
 */
export async function preparePhotos(): Promise<{ dir: string; files: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-'));
  const files: string[] = [];
  for (let i = 1; i <= 6; i++) {
    const file = join(dir, `demo-${i}.jpg`);
    copyFileSync(`${DEMO}/sample${i}.jpg`, file);
    files.push(file);
  }
  for (const i of [2, 5]) {
    const file = join(dir, `camera-12mp-${i}.jpg`);
    await sharp(`${DEMO}/sample${i}.jpg`).resize(4032, 3024, { fit: 'cover' }).jpeg({ quality: 92 }).toFile(file);
    execFileSync('perl', [EXIFTOOL, '-q', '-overwrite_original', '-GPSLatitude=51.5', '-GPSLatitudeRef=N', '-GPSLongitude=0.12', '-GPSLongitudeRef=W', '-Make=Apple', '-Model=iPhone 15', '-Orientation#=1', file]);
    files.push(file);
  }
  return { dir, files };
}
