/**
 * The ten kinds of altered copy a safeguarding lead finds elsewhere (issue 15's list), made from
 * a published picture with sharp: what the incident matcher must still trace to its original.
 */
import sharp from 'sharp';

export type CopyKind =
  | 'crop to 60%'
  | 'resize to 30%'
  | 'JPEG quality 30'
  | 'mirror'
  | 'greyscale'
  | 'brightness +20%'
  | 'brightness -20%'
  | 'pasted logo'
  | 'screenshot with a frame'
  | 'rotated 5 degrees'
  | 'face edited out';

export const COPY_KINDS: CopyKind[] = [
  'crop to 60%',
  'resize to 30%',
  'JPEG quality 30',
  'mirror',
  'greyscale',
  'brightness +20%',
  'brightness -20%',
  'pasted logo',
  'screenshot with a frame',
  'rotated 5 degrees',
  'face edited out',
];

/** `region` is a face box [x, y, w, h] in the picture's pixels, used for "face edited out". */
export async function alteredCopy(picture: Uint8Array, kind: CopyKind, region?: [number, number, number, number]): Promise<Buffer> {
  const image = sharp(picture).rotate();
  const { width, height } = await sharp(picture).rotate().toBuffer({ resolveWithObject: true }).then((r) => r.info);
  const jpeg = (s: ReturnType<typeof sharp>) => s.jpeg({ quality: 85 }).toBuffer();
  switch (kind) {
    case 'crop to 60%': {
      const w = Math.round(width * 0.6);
      const h = Math.round(height * 0.6);
      return jpeg(image.extract({ left: Math.round(width * 0.27), top: Math.round(height * 0.13), width: w, height: h }));
    }
    case 'resize to 30%':
      return jpeg(image.resize(Math.round(width * 0.3)));
    case 'JPEG quality 30':
      return image.jpeg({ quality: 30 }).toBuffer();
    case 'mirror':
      return jpeg(image.flop());
    case 'greyscale':
      return jpeg(image.greyscale());
    case 'brightness +20%':
      return jpeg(image.modulate({ brightness: 1.2 }));
    case 'brightness -20%':
      return jpeg(image.modulate({ brightness: 0.8 }));
    case 'pasted logo': {
      const size = Math.round(Math.min(width, height) * 0.22);
      const logo = Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><circle cx="${size / 2}" cy="${size / 2}" r="${size / 2}" fill="#e02020"/><text x="50%" y="58%" font-size="${size / 3}" text-anchor="middle" fill="white">LOGO</text></svg>`,
      );
      return jpeg(image.composite([{ input: logo, left: Math.round(width * 0.05), top: Math.round(height * 0.05) }]));
    }
    case 'screenshot with a frame': {
      // A phone screenshot: the picture smaller, on a dark page with a status bar and a caption.
      const inner = await image.resize(Math.round(width * 0.7)).toBuffer();
      const innerMeta = await sharp(inner).metadata();
      const pageW = Math.round(innerMeta.width! * 1.15);
      const pageH = Math.round(innerMeta.height! * 1.5);
      const bar = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${pageW}" height="${Math.round(pageH * 0.08)}"><rect width="100%" height="100%" fill="#202020"/><text x="10" y="70%" font-size="${Math.round(pageH * 0.04)}" fill="white">12:41  4G  87%</text></svg>`);
      const caption = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${pageW}" height="${Math.round(pageH * 0.1)}"><text x="10" y="60%" font-size="${Math.round(pageH * 0.035)}" fill="#dddddd">Look who it is lol</text></svg>`);
      return sharp({ create: { width: pageW, height: pageH, channels: 3, background: '#111111' } })
        .composite([
          { input: bar, left: 0, top: 0 },
          { input: inner, left: Math.round((pageW - innerMeta.width!) / 2), top: Math.round(pageH * 0.15) },
          { input: caption, left: 0, top: Math.round(pageH * 0.15) + innerMeta.height! + 10 },
        ])
        .jpeg({ quality: 80 })
        .toBuffer();
    }
    case 'rotated 5 degrees':
      return jpeg(image.rotate(5, { background: '#ffffff' }));
    case 'face edited out': {
      const [x, y, w, h] = region ?? [Math.round(width * 0.4), Math.round(height * 0.2), Math.round(width * 0.15), Math.round(height * 0.2)];
      const patch = await sharp(picture).rotate().extract({ left: x, top: y, width: w, height: h }).blur(Math.max(4, w / 4)).modulate({ brightness: 1.1 }).toBuffer();
      return jpeg(image.composite([{ input: patch, left: x, top: y }]));
    }
  }
}
