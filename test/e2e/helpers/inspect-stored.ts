import { basename } from 'node:path';
import sharp from 'sharp';
import { detectFaces } from '../../../src/pipeline/faces.js';
import type { DetectedFace } from '../../../src/pipeline/types.js';
import { nonStructuralTags, readAllTags } from '../../helpers/exiftool.js';
import type { Box } from '../../helpers/faces.js';
import type { StoredFile } from './wordpress.js';

/** What a parent, or anyone who downloads the picture, could learn from one file WordPress stored. */
export interface StoredFileReport {
  size: string;
  name: string;
  width: number;
  height: number;
  /** ExifTool's tags that are not about the file's structure ("Group:Tag"). */
  metadata: string[];
  /** GPS position as ExifTool reads it, if any. */
  gps?: { latitude: number; longitude: number };
  /** The photographed people whose face the detector finds (at least MIN_FACE_PX tall); undefined when not looked for. */
  facesOnPeople?: number;
  /** Detections elsewhere (clothes, hair, background): the detector's false positives, reported, not judged. */
  otherDetections?: DetectedFace[];
}

/** Veil's rule: no face this tall or taller may stay recognisable (FACE_MIN_PX's default). */
export const MIN_FACE_PX = 16;

/** The uploaded photo's size and its people's face boxes (hand-checked ground truth), in its own pixels. */
export interface People {
  width: number;
  height: number;
  faces: Box[];
}

/**
 * ExifTool on every file, and, when `people` is given, the detector: a detection counts for a
 * person when its centre falls inside that person's face box, mapped onto the file (WordPress
 * scales, and centre-crops the sizes it crops, such as the thumbnail).
 */
export async function inspectStored(files: StoredFile[], people?: People): Promise<StoredFileReport[]> {
  const reports: StoredFileReport[] = [];
  for (const file of files) {
    const tags = await readAllTags(file.path);
    const latitude = tags['GPS:GPSLatitude'] ?? tags['Composite:GPSLatitude'];
    const longitude = tags['GPS:GPSLongitude'] ?? tags['Composite:GPSLongitude'];
    const meta = await sharp(file.path).metadata();
    const report: StoredFileReport = {
      size: file.size,
      name: basename(file.path),
      width: meta.width!,
      height: meta.height!,
      metadata: nonStructuralTags(tags),
      gps: typeof latitude === 'number' && typeof longitude === 'number' ? { latitude, longitude } : undefined,
    };
    if (people) {
      const { data, info } = await sharp(file.path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const detections = await detectFaces({ data, width: info.width, height: info.height, channels: 3 }, { minFaceHeight: MIN_FACE_PX });
      const faces = people.faces.map((box) => mapBox(box, people, info.width, info.height));
      const onPerson = (d: DetectedFace) => faces.some((f) => contains(f, d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2));
      report.facesOnPeople = faces.filter((f) => detections.some((d) => contains(f, d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2))).length;
      report.otherDetections = detections.filter((d) => !onPerson(d));
    }
    reports.push(report);
  }
  return reports;
}

/** A box in the uploaded photo, in a `width`x`height` copy scaled to cover it and cropped at the centre. */
function mapBox([x, y, w, h]: Box, from: { width: number; height: number }, width: number, height: number): Box {
  const scale = Math.max(width / from.width, height / from.height);
  const left = (from.width * scale - width) / 2;
  const top = (from.height * scale - height) / 2;
  return [x * scale - left, y * scale - top, w * scale, h * scale];
}

function contains([x, y, w, h]: Box, px: number, py: number): boolean {
  return px >= x && px <= x + w && py >= y && py <= y + h;
}

/** One line per file, for the notes: name, size, tags, GPS, faces. */
export function describeReports(title: string, reports: StoredFileReport[]): string {
  const lines = reports.map((r) => {
    const gps = r.gps ? `GPS ${r.gps.latitude.toFixed(4)},${r.gps.longitude.toFixed(4)}` : 'no GPS';
    const sample = r.metadata.slice(0, 3).join(' ');
    const tags = `${r.metadata.length} tags${sample ? ` (${sample}${r.metadata.length > 3 ? ' …' : ''})` : ''}`;
    const faces =
      r.facesOnPeople === undefined
        ? ''
        : `; faces found on the people: ${r.facesOnPeople}${r.otherDetections!.length ? `; other detections: ${r.otherDetections!.map((d) => `${Math.round(d.box[3])} px @ ${d.score.toFixed(2)}`).join(', ')}` : ''}`;
    return `  ${r.size.padEnd(13)} ${r.name.padEnd(38)} ${`${r.width}x${r.height}`.padEnd(10)} ${tags}; ${gps}${faces}`;
  });
  return `${title}\n${lines.join('\n')}`;
}
