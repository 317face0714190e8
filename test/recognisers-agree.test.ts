import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffFormat } from '../src/pipeline/sniff.js';
import { looksLikeImage } from '../src/proxy/inspect/looks-like-image.js';

/**
 * Veil has two magic-byte recognisers on purpose: the pipeline's (what it can publish, with words
 * for what it refuses) and the proxy's (wider: what must never pass through unsanitised). The
 * proxy's must know every picture the pipeline accepts, or such a picture could be forwarded
 * untouched. This checks that on real encodings and on many crafted headers.
 */
const accepts = (bytes: Uint8Array): boolean => {
  try {
    sniffFormat(bytes);
    return true;
  } catch {
    return false;
  }
};

function ftyp(major: string, compatible: string[], declaredSize?: number): Uint8Array {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(size + 32);
  box.writeUInt32BE(declaredSize ?? size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'));
  randomBytes(32).copy(box, size);
  return box;
}

describe('the proxy recognises every picture the pipeline accepts', () => {
  it('real encodings from sharp', async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#468' } });
    const files = await Promise.all([
      base.clone().jpeg().toBuffer(),
      base.clone().png().toBuffer(),
      base.clone().webp().toBuffer(),
      base.clone().gif().toBuffer(),
      base.clone().tiff().toBuffer(),
      base.clone().tiff({ bigtiff: true }).toBuffer(),
      base.clone().avif().toBuffer(),
      base.clone().heif({ compression: 'av1' }).toBuffer(),
    ]);
    for (const file of files) {
      expect(accepts(file)).toBe(true);
      expect(looksLikeImage(file)).toBe(true);
    }
  });

  it('crafted ISO-BMFF (HEIF/AVIF) headers: every brand, position and box size the pipeline reads', () => {
    const brands = ['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'msf1', 'miaf'];
    const fillers = ['isom', 'mp41', 'mp42', 'iso8', 'MiHE', 'MiPr', 'miaf'];
    let checked = 0;
    for (const brand of brands) {
      for (let at = 0; at <= 4; at++) {
        const compatible = Array.from({ length: 5 }, (_, i) => (i === at - 1 ? brand : fillers[(i + at) % fillers.length]!));
        const major = at === 0 ? brand : 'isom';
        for (const declared of [undefined, 8, 12, 16, 4096]) {
          const header = ftyp(major, compatible, declared);
          if (!accepts(header)) continue;
          checked += 1;
          expect({ brand, at, declared, proxy: looksLikeImage(header) }).toEqual({ brand, at, declared, proxy: true });
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('a brand far down a long ftyp box (crafted, but the pipeline would decode it)', () => {
    for (const count of [60, 200, 1000, 1100]) {
      const compatible = Array.from({ length: count }, (_, i) => (i === count - 1 ? 'heic' : 'isom'));
      const header = ftyp('isom', compatible);
      if (accepts(header)) expect({ count, proxy: looksLikeImage(header) }).toEqual({ count, proxy: true });
    }
  });

  it('random bytes behind every signature the pipeline accepts', () => {
    const signatures = [[0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [...Buffer.from('GIF87a')], [...Buffer.from('GIF89a')], [0x49, 0x49, 0x2a, 0x00], [0x4d, 0x4d, 0x00, 0x2a], [0x49, 0x49, 0x2b, 0x00], [0x4d, 0x4d, 0x00, 0x2b]];
    for (let round = 0; round < 200; round++) {
      for (const signature of signatures) {
        const bytes = Buffer.concat([Buffer.from(signature), randomBytes(round % 40)]);
        if (accepts(bytes)) expect(looksLikeImage(bytes)).toBe(true);
      }
      const webp = Buffer.concat([Buffer.from('RIFF'), randomBytes(4), Buffer.from('WEBP'), randomBytes(round % 40)]);
      if (accepts(webp)) expect(looksLikeImage(webp)).toBe(true);
    }
  });
});
