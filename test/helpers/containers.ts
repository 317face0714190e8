import { crc32, deflateRawSync, deflateSync } from 'node:zlib';

/**
 * Small documents, archives and videos built byte by byte, the way their formats lay them out, so
 * the tests need no office suite or camera: a PDF with a photo XObject, a DOCX-like ZIP with a
 * photo in word/media/, an MP4 whose udta carries a phone's ©xyz location.
 */

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Deflate the entry (as Office does) rather than store it. */
  deflate?: boolean;
  /** Mark it encrypted (bit 0 of the flags), as a password-protected archive does. */
  encrypted?: boolean;
}

/** A ZIP archive with a central directory, readable by unzip and PHP's ZipArchive. */
export function zipArchive(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const body = entry.deflate ? deflateRawSync(entry.data) : entry.data;
    const crc = crc32(entry.data) >>> 0;
    const flags = entry.encrypted ? 1 : 0;
    const method = entry.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A DOCX's skeleton: content types, the document part, and optionally a photo in word/media/. */
export function docx(photo?: Buffer, photoName = 'word/media/image1.jpeg'): Buffer {
  const entries: ZipEntry[] = [
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="jpeg" ContentType="image/jpeg"/></Types>'), deflate: true },
    { name: 'word/document.xml', data: Buffer.from('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Sports day newsletter</w:t></w:r></w:p></w:body></w:document>'), deflate: true },
    { name: 'docProps/core.xml', data: Buffer.from('<?xml version="1.0"?><cp:coreProperties xmlns:cp="x"><dc:creator xmlns:dc="y">A teacher</dc:creator></cp:coreProperties>'), deflate: true },
  ];
  if (photo) entries.push({ name: photoName, data: photo });
  return zipArchive(entries);
}

/**
 * A one-page PDF with a cross-reference table. With `photo`, the page paints it as an image
 * XObject (DCTDecode: the JPEG's bytes, EXIF and all, inside the stream), as newsletters do.
 * `nameSpelling` writes /Subtype /Image with #xx escapes, which readers accept.
 */
export function pdfDocument(options: { photo?: Buffer; escapedNames?: boolean; inlineImage?: boolean; compressContent?: boolean } = {}): Buffer {
  const objects: Buffer[] = [];
  const image = options.photo;
  const subtypeImage = options.escapedNames ? '/Subtype /#49mage' : '/Subtype /Image';
  const filter = options.escapedNames ? '/Filter /DCT#44ecode' : '/Filter /DCTDecode';
  let content = image ? 'q 100 0 0 80 50 600 cm /Im1 Do Q\nBT /F1 12 Tf 50 560 Td (Sports day) Tj ET\n' : 'BT /F1 12 Tf 50 560 Td (A letter home) Tj ET\n';
  if (options.inlineImage) content = 'q 8 0 0 8 50 600 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x10\x80\x80\x10 EI Q\nBT /F1 12 Tf 50 560 Td (x) Tj ET\n';
  const contentBytes = options.compressContent ? deflateSync(Buffer.from(content, 'latin1')) : Buffer.from(content, 'latin1');
  const resources = image ? '/Resources << /XObject << /Im1 5 0 R >> /Font << /F1 4 0 R >> >>' : '/Resources << /Font << /F1 4 0 R >> >>';
  objects.push(Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'));
  objects.push(Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'));
  objects.push(Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ${resources} /Contents 6 0 R >>`));
  objects.push(Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'));
  objects.push(
    image
      ? Buffer.concat([Buffer.from(`<< /Type /XObject ${subtypeImage} /Width 64 /Height 48 /ColorSpace /DeviceRGB /BitsPerComponent 8 ${filter} /Length ${image.length} >>\nstream\n`), image, Buffer.from('\nendstream')])
      : Buffer.from('<< >>'),
  );
  objects.push(Buffer.concat([Buffer.from(`<< /Length ${contentBytes.length}${options.compressContent ? ' /Filter /FlateDecode' : ''} >>\nstream\n`), contentBytes, Buffer.from('\nendstream')]));
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let length = parts[0]!.length;
  objects.forEach((body, i) => {
    const object = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(length);
    parts.push(object);
    length += object.length;
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(parts);
}

function box(type: string, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

/**
 * The box layout of a phone's MP4 (ftyp, moov with mvhd and udta, mdat), without real frames.
 * `location` adds QuickTime's ©xyz, as iPhones and Android phones write it ("+51.5072-000.1276/").
 */
export function mp4Boxes(options: { location?: string; appleKeys?: boolean; coverArt?: Buffer } = {}): Buffer {
  const udtaChildren: Buffer[] = [];
  if (options.location) {
    const text = Buffer.from(options.location, 'latin1');
    const head = Buffer.alloc(4);
    head.writeUInt16BE(text.length, 0);
    head.writeUInt16BE(0x15c7, 2);
    udtaChildren.push(box('\xa9xyz', head, text));
  }
  const moovChildren = [box('mvhd', Buffer.alloc(100))];
  if (udtaChildren.length > 0) moovChildren.push(box('udta', ...udtaChildren));
  if (options.appleKeys) {
    const key = Buffer.from('com.apple.quicktime.location.ISO6709');
    const keyEntry = Buffer.alloc(8);
    keyEntry.writeUInt32BE(8 + key.length, 0);
    keyEntry.write('mdta', 4);
    const keys = box('keys', Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), keyEntry, key);
    moovChildren.push(box('meta', box('hdlr', Buffer.alloc(25)), keys));
  }
  if (options.coverArt) moovChildren.push(box('udta', box('meta', Buffer.alloc(4), box('hdlr', Buffer.alloc(25)), box('ilst', box('covr', box('data', Buffer.alloc(8), options.coverArt))))));
  return Buffer.concat([box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2mp41', 'latin1')), box('moov', ...moovChildren), box('mdat', Buffer.alloc(4096, 0x11))]);
}
