import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { deflateRawSync, deflateSync } from 'node:zlib';
import type { FixtureDir } from '../helpers/fixtures.js';

/** Documents and videos that carry a picture or a location, built by hand or by Debian's ffmpeg. */

import { zipArchive as zip } from '../helpers/containers.js';

export { zip };

export function docx(jpeg: Buffer, deflate = false): Buffer {
  return zip([
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="jpeg" ContentType="image/jpeg"/></Types>') },
    { name: 'word/document.xml', data: Buffer.from('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Sports day</w:t></w:r></w:p></w:body></w:document>'), deflate: true },
    { name: 'word/media/image1.jpeg', data: jpeg, deflate },
  ]);
}

export function odt(jpeg: Buffer): Buffer {
  return zip([
    { name: 'mimetype', data: Buffer.from('application/vnd.oasis.opendocument.text') },
    { name: 'content.xml', data: Buffer.from('<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>'), deflate: true },
    { name: 'Pictures/10000000000002000000018000000000.jpg', data: jpeg, deflate: true },
  ]);
}

/** A one-page PDF drawing the JPEG, which sits in a DCTDecode stream (or Flate-compressed). */
export function pdf(jpeg: Buffer, flate = false): Buffer {
  const stream = flate ? deflateSync(jpeg) : jpeg;
  const filter = flate ? '[/FlateDecode /DCTDecode]' : '/DCTDecode';
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let length = 0;
  const add = (b: Buffer | string) => {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b, 'latin1');
    parts.push(buf);
    length += buf.length;
  };
  add('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  const obj = (n: number, body: Buffer | string, streamBytes?: Buffer) => {
    offsets[n] = length;
    add(`${n} 0 obj\n`);
    add(body);
    if (streamBytes) {
      add('\nstream\n');
      add(streamBytes);
      add('\nendstream');
    }
    add('\nendobj\n');
  };
  obj(1, '<< /Type /Catalog /Pages 2 0 R >>');
  obj(2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  obj(3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 512 384] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>');
  obj(4, `<< /Type /XObject /Subtype /Image /Width 512 /Height 384 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter ${filter} /Length ${stream.length} >>`, stream);
  const content = Buffer.from('q 512 0 0 384 0 0 cm /Im1 Do Q');
  obj(5, `<< /Length ${content.length} >>`, content);
  const xref = length;
  add(`xref\n0 6\n0000000000 65535 f \n${[1, 2, 3, 4, 5].map((n) => `${String(offsets[n]).padStart(10, '0')} 00000 n \n`).join('')}`);
  add(`trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

/** A short noisy H.264 MP4 whose udta carries a location (©xyz), as phones write it. */
export function mp4WithGps(fx: FixtureDir): Buffer {
  const out = fx.unique('mp4');
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=5', '-t', '1', '-vf', 'noise=alls=60:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-metadata', 'location=+51.5010-000.1419/', '-metadata', 'title=Tom Pupil sports day',
    out,
  ], { stdio: 'ignore' });
  return readFileSync(out);
}
