/**
 * Office files made the way schools make them: DOCX with the `docx` package, PPTX with
 * `pptxgenjs` (what web apps and scripts use), and ODT/ODP/XLSX converted by LibreOffice from
 * those, each with GPS-tagged photos of real faces (the face-api demo photos, tagged by ExifTool)
 * and a teacher's name in every place the formats keep one.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AlignmentType, CommentRangeEnd, CommentRangeStart, CommentReference, Document, ImageRun, Packer, Paragraph, TextRun } from 'docx';
import pptxModule from 'pptxgenjs';
import { writeTags } from './exiftool.js';
import { DEMO_DIR, type FixtureDir } from './fixtures.js';

const run = promisify(execFile);

// pptxgenjs's types read as CommonJS under NodeNext while the runtime import is the ES class.
type Pptx = InstanceType<typeof pptxModule.default>;
const PptxGenJS = (pptxModule as unknown as { default?: new () => Pptx }).default ?? (pptxModule as unknown as new () => Pptx);

export const TEACHER = 'Jane Teacherson';
export const SCHOOL = 'St Example Primary';
export const GPS_ARGS = [
  '-GPSLatitude=51.50101', '-GPSLatitudeRef=N', '-GPSLongitude=0.14189', '-GPSLongitudeRef=W',
  `-Artist=${TEACHER}`, `-XMP-dc:Creator=${TEACHER}`, '-Make=Apple', '-Model=iPhone 13',
];

/** The demo photos (1920 px, faces), each tagged with a GPS position and a name. */
export async function gpsPhotos(fx: FixtureDir, samples: number[]): Promise<Buffer[]> {
  const photos: Buffer[] = [];
  for (const n of samples) {
    const file = fx.path(`gps-sample${n}.jpg`);
    copyFileSync(join(DEMO_DIR, `sample${n}.jpg`), file);
    await writeTags(file, GPS_ARGS);
    photos.push(readFileSync(file));
  }
  return photos;
}

export async function makeDocx(photos: Buffer[]): Promise<Buffer> {
  const doc = new Document({
    creator: TEACHER,
    lastModifiedBy: TEACHER,
    title: `Sports day by ${TEACHER}`,
    description: 'Year 3 newsletter',
    comments: { children: [{ id: 0, author: TEACHER, initials: 'JT', date: new Date('2026-06-01'), children: [new Paragraph('Check names with parents')] }] },
    sections: [
      {
        children: [
          new Paragraph({
            children: [new CommentRangeStart(0), new TextRun('Sports day newsletter'), new CommentRangeEnd(0), new TextRun({ children: [new CommentReference(0)] })],
          }),
          ...photos.map(
            (data) =>
              new Paragraph({
                alignment: AlignmentType.CENTER,
                children: [new ImageRun({ type: 'jpg', data, transformation: { width: 480, height: 320 } })],
              }),
          ),
          new Paragraph('Thank you to all the families who came.'),
        ],
      },
    ],
  });
  return Packer.toBuffer(doc);
}

export async function makePptx(photos: Buffer[]): Promise<Buffer> {
  const pres = new PptxGenJS();
  pres.author = TEACHER;
  pres.company = SCHOOL;
  pres.title = `Assembly by ${TEACHER}`;
  for (const photo of photos) {
    const slide = pres.addSlide();
    slide.addText('Our school trip', { x: 0.5, y: 0.2, w: 9, h: 0.8, fontSize: 28 });
    slide.addImage({ data: `image/jpeg;base64,${photo.toString('base64')}`, x: 1, y: 1.1, w: 6, h: 4 });
  }
  return (await pres.write({ outputType: 'nodebuffer' })) as Buffer;
}

export function libreOfficeAvailable(): boolean {
  return existsSync('/usr/bin/soffice');
}

/**
 * LibreOffice headless, with a profile of its own (so parallel runs do not share a lock):
 * converts `input` to `format` ("pdf", "odt", ...) and returns the output path. Throws with
 * LibreOffice's own words when it cannot.
 */
export async function libreOfficeConvert(fx: FixtureDir, input: string, format: string): Promise<string> {
  const outdir = fx.path(`lo-out-${Math.random().toString(36).slice(2)}`);
  mkdirSync(outdir);
  const profile = `file://${fx.path('lo-profile')}`;
  const { stdout, stderr } = await run('soffice', [`-env:UserInstallation=${profile}`, '--headless', '--norestore', '--convert-to', format, '--outdir', outdir, input], { timeout: 180_000 });
  const base = input.slice(input.lastIndexOf('/') + 1).replace(/\.[^.]+$/, '');
  const out = join(outdir, `${base}.${format.split(':')[0]}`);
  if (!existsSync(out)) throw new Error(`LibreOffice did not convert ${base} to ${format}: ${stdout} ${stderr}`);
  return out;
}
