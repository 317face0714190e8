import sharp from 'sharp';
import type { FaceDecision } from './policy.js';
import type { RawImage } from './types.js';

const PREVIEW_EDGE = 1024;

const COLOURS: Record<FaceDecision['action'], string> = {
  held: '#d7263d',
  uncertain: '#f5a623',
  redacted: '#1b998b',
  allowed: '#2e86de',
  'too-small': '#8a8a8a',
};

/**
 * The reviewer's view of a held photo: metadata already gone, at most 1024 px, each face boxed
 * and numbered in the colour of what Veil would do with it. Stored privately, never published.
 */
export async function renderReviewPreview(image: RawImage, faces: FaceDecision[]): Promise<Buffer> {
  const scale = Math.min(1, PREVIEW_EDGE / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 300));
  const shapes = faces.map((face, i) => {
    const [x, y, w, h] = face.box.map((v) => v * scale) as [number, number, number, number];
    const colour = COLOURS[face.action];
    const label = String(i + 1);
    const fontSize = Math.max(12, Math.round(Math.min(28, h / 2.5)));
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" ` +
      `fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
      `<rect x="${x.toFixed(1)}" y="${Math.max(0, y - fontSize - 4).toFixed(1)}" width="${(fontSize * 0.7 * label.length + 8).toFixed(1)}" ` +
      `height="${fontSize + 4}" fill="${colour}"/>` +
      `<text x="${(x + 4).toFixed(1)}" y="${Math.max(fontSize, y - 4).toFixed(1)}" font-family="sans-serif" font-size="${fontSize}" ` +
      `font-weight="bold" fill="#fff">${label}</text>`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(width, height)
    .flatten({ background: '#ffffff' })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality: 80 })
    .toBuffer();
}
