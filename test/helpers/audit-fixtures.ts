/**
 * A WordPress-like uploads folder with planted problems, for the audit tests. Pictures come from
 * the demo photos @vladmandic/face-api ships and the generated face-free set; GPS and names are
 * written with ExifTool, as a phone or a photo tool would.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Reason } from '../../src/audit/site/types.js';
import { faceFreePhotos } from './face-free.js';
import { writeTags } from './exiftool.js';
import { DEMO_DIR, RICH } from './fixtures.js';

export interface Planted {
  /** Path relative to the folder → the reasons the audit must give (empty: clean). */
  expected: Record<string, Reason[]>;
  /** Generated sizes of a flagged upload: not flagged themselves, but --fix rewrites them. */
  sizes: string[];
}

export async function plantUploads(root: string): Promise<Planted> {
  const free = new Map((await faceFreePhotos()).map((p) => [p.name, p.jpeg]));
  const put = async (relative: string, bytes: Buffer): Promise<string> => {
    const file = path.join(root, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    return file;
  };
  const small = (name: string, width = 800) => sharp(free.get(name)!).resize(width);

  // A phone photo of a landscape: GPS, nothing else wrong.
  const gps = await put('2024/06/trip-gps.jpg', await small('landscape').jpeg().toBuffer());
  await writeTags(gps, [`-GPSLatitude=${RICH.latitude}`, '-GPSLatitudeRef=N', `-GPSLongitude=${Math.abs(RICH.longitude)}`, '-GPSLongitudeRef=W']);
  // A group photo with faces, metadata already gone (sharp writes none), published at 1200 px.
  await put('2024/06/sports-day.jpg', await sharp(`${DEMO_DIR}/sample2.jpg`).resize(1200).jpeg().toBuffer());
  // WordPress's thumbnail of it: faces too small to identify, but it is a copy of a flagged upload.
  await put('2024/06/sports-day-80x57.jpg', await sharp(`${DEMO_DIR}/sample2.jpg`).resize(80).jpeg().toBuffer());
  // A 4000 px picture of the hall.
  await put('2024/06/hall-big.jpg', await sharp(free.get('school hall')!).resize(4000).jpeg().toBuffer());
  // A pupil's name in the file name, nothing else.
  await put('2024/06/jane-smith-year6.jpg', await small('gradient', 600).jpeg().toBuffer());
  // A person tagged by name in XMP.
  const tagged = await put('2024/06/art-display.jpg', await small('texture, coarse', 600).jpeg().toBuffer());
  await writeTags(tagged, [`-XMP-iptcExt:PersonInImage=${RICH.person}`]);
  // A camera original: GPS, faces, 1920 px.
  await mkdir(path.join(root, '2023/05'), { recursive: true });
  await copyFile(`${DEMO_DIR}/sample1.jpg`, path.join(root, '2023/05/class-photo.jpg'));
  // Clean ones, in every common format, one with a name that is also a word.
  await put('2024/07/landscape.png', await small('landscape').png().toBuffer());
  await put('2024/07/building-blocks.webp', await small('building-like blocks').webp().toBuffer());
  await put('2024/07/summer-fair.jpg', await small('food-like blobs').jpeg().toBuffer());
  await put('2024/07/texture.gif', await small('texture, fine', 400).gif().toBuffer());
  return {
    expected: {
      '2024/06/trip-gps.jpg': ['gps'],
      '2024/06/sports-day.jpg': ['faces'],
      '2024/06/sports-day-80x57.jpg': [],
      '2024/06/hall-big.jpg': ['large'],
      '2024/06/jane-smith-year6.jpg': ['person-name'],
      '2024/06/art-display.jpg': ['names-in-metadata'],
      '2023/05/class-photo.jpg': ['gps', 'faces', 'large'],
      '2024/07/landscape.png': [],
      '2024/07/building-blocks.webp': [],
      '2024/07/summer-fair.jpg': [],
      '2024/07/texture.gif': [],
    },
    sizes: ['2024/06/sports-day-80x57.jpg'],
  };
}
