import sharp from 'sharp';
import type { DecodedImage } from './decode.js';
import { hasTransparency } from './decode.js';
import type { ImageFormat, OutputFormat } from './types.js';

/**
 * Keep the format family where browsers and CMSs show it; HEIC, AVIF and TIFF become JPEG (PNG
 * when there is real transparency): browsers cannot show HEIC or TIFF, older CMSs refuse AVIF
 * (WordPress before 6.5), and AVIF encoding is slow.
 */
export function chooseOutputFormat(input: ImageFormat, image: DecodedImage): OutputFormat {
  switch (input) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
      return input;
    default:
      return hasTransparency(image) ? 'png' : 'jpeg';
  }
}

/**
 * Encodes pixels only. Sharp writes no EXIF, XMP, IPTC or ICC unless asked (we never ask), and an
 * encoder starting from raw pixels cannot carry over comments, text chunks, trailing data or
 * anything else from the original file.
 */
export async function encodeImage(image: DecodedImage, format: OutputFormat): Promise<Buffer> {
  const animated = image.frames > 1 && (format === 'gif' || format === 'webp');
  const dropAlpha = image.channels === 4 && (format === 'jpeg' || !hasTransparency(image));
  let pipeline = sharp(image.data, {
    raw: {
      width: image.width,
      height: animated ? image.height : image.frameHeight,
      channels: image.channels,
      ...(animated ? { pageHeight: image.frameHeight } : {}),
    },
  });
  if (dropAlpha) pipeline = pipeline.removeAlpha();
  const animation = animated ? { loop: image.loop ?? 0, ...(image.delay ? { delay: image.delay } : {}) } : {};
  switch (format) {
    case 'jpeg':
      return pipeline.jpeg({ quality: 85, progressive: true, chromaSubsampling: '4:2:0' }).toBuffer();
    case 'png':
      return pipeline.png({ compressionLevel: 7, adaptiveFiltering: true }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality: 82, effort: 4, ...animation }).toBuffer();
    case 'gif':
      return pipeline.gif({ effort: 7, ...animation }).toBuffer();
  }
}
