/**
 * Face-free pictures for false-alarm tests, generated here (nothing downloaded): gradients,
 * textures, food-like and pottery-like blobs, building-like blocks, a landscape, and the lower,
 * face-free parts of the demo photos (clothes, hands, furniture).
 */
import sharp from 'sharp';
import { demoGroundTruth } from './faces.js';

const W = 1600;
const H = 1200;

function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

const svg = (body: string): Buffer => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${body}</svg>`);

async function render(body: string): Promise<Buffer> {
  return sharp(svg(body)).jpeg({ quality: 90 }).toBuffer();
}

function noise(seed: number, grain: number): Promise<Buffer> {
  const random = seeded(seed);
  const w = Math.ceil(W / grain);
  const h = Math.ceil(H / grain);
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i += 3) {
    const v = 60 + random() * 140;
    data[i] = v;
    data[i + 1] = v * (0.8 + random() * 0.3);
    data[i + 2] = v * 0.7;
  }
  return sharp(data, { raw: { width: w, height: h, channels: 3 } }).resize(W, H, { kernel: 'cubic' }).jpeg({ quality: 90 }).toBuffer();
}

function blobs(seed: number, colours: string[], count: number, round: boolean): Promise<Buffer> {
  const random = seeded(seed);
  let body = `<rect width="${W}" height="${H}" fill="${colours[0]}"/>`;
  for (let i = 0; i < count; i++) {
    const c = colours[1 + (i % (colours.length - 1))]!;
    const x = random() * W;
    const y = random() * H;
    const r = 20 + random() * 120;
    body += round
      ? `<ellipse cx="${x}" cy="${y}" rx="${r}" ry="${r * (0.6 + random() * 0.6)}" fill="${c}" stroke="#3a2a1a" stroke-width="${1 + random() * 4}"/>`
      : `<rect x="${x}" y="${y}" width="${r}" height="${r * (1 + random() * 2)}" fill="${c}" stroke="#222" stroke-width="2"/>`;
  }
  return render(body);
}

/** The face-free lower part of a demo photo, stretched to W x H. */
async function demoBelowFaces(index: number): Promise<Buffer> {
  const image = demoGroundTruth()[index]!;
  const meta = await sharp(image.file).metadata();
  const top = Math.max(...image.boxes.map((b) => b[1] + b[3] * 1.6));
  return sharp(image.file).extract({ left: 0, top: Math.round(top), width: meta.width!, height: meta.height! - Math.round(top) }).resize(W, H, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
}

export async function faceFreePhotos(): Promise<{ name: string; jpeg: Buffer }[]> {
  const landscape = `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#5b8fd0"/><stop offset="1" stop-color="#dfe9f5"/></linearGradient></defs>
    <rect width="${W}" height="${H}" fill="url(#sky)"/><path d="M0 700 L300 420 L520 640 L800 380 L1100 660 L1400 450 L1600 600 L1600 1200 L0 1200 Z" fill="#4d6b3a"/>
    <path d="M0 900 Q400 820 800 930 T1600 880 L1600 1200 L0 1200 Z" fill="#7a9a4a"/><circle cx="1300" cy="200" r="70" fill="#fff6c0"/>`;
  const hall = `<rect width="${W}" height="${H}" fill="#c8b89a"/>${Array.from({ length: 8 }, (_, i) => `<rect x="${80 + i * 190}" y="200" width="120" height="420" fill="#8fb4d8" stroke="#5a4a3a" stroke-width="10"/>`).join('')}
    <rect y="820" width="${W}" height="380" fill="#9a7a52"/>${Array.from({ length: 30 }, (_, i) => `<rect x="${(i % 10) * 160 + 20}" y="${860 + Math.floor(i / 10) * 110}" width="120" height="60" fill="#6a4a2a"/>`).join('')}`;
  return [
    { name: 'landscape', jpeg: await render(landscape) },
    { name: 'school hall', jpeg: await render(hall) },
    { name: 'gradient', jpeg: await render(`<defs><radialGradient id="g"><stop offset="0" stop-color="#f0d0b0"/><stop offset="1" stop-color="#402010"/></radialGradient></defs><rect width="${W}" height="${H}" fill="url(#g)"/>`) },
    { name: 'texture, fine', jpeg: await noise(3, 4) },
    { name: 'texture, coarse', jpeg: await noise(5, 24) },
    { name: 'food-like blobs', jpeg: await blobs(11, ['#f4efe6', '#d9a066', '#8a4b2a', '#e8c07a', '#5c7a2e', '#c0392b'], 40, true) },
    { name: 'pottery-like shapes', jpeg: await blobs(13, ['#e8e0d0', '#b5651d', '#8b4513', '#d2b48c', '#a0522d'], 25, true) },
    { name: 'building-like blocks', jpeg: await blobs(17, ['#9db4c0', '#7f6a5a', '#c9b79c', '#5a5a5a', '#d8d0c0'], 60, false) },
    { name: 'demo photo 1 below the faces', jpeg: await demoBelowFaces(0) },
    { name: 'demo photo 4 below the faces', jpeg: await demoBelowFaces(3) },
    { name: 'demo photo 5 below the faces', jpeg: await demoBelowFaces(4) },
    { name: 'demo photo 6 below the faces', jpeg: await demoBelowFaces(5) },
  ];
}
