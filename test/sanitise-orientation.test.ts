import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { sanitiseImage } from '../src/pipeline/sanitise.js';
import { closeExiftool, readAllTags } from './helpers/exiftool.js';
import { FixtureDir, orientedFixture, quadrantAt } from './helpers/fixtures.js';

const fx = new FixtureDir();
afterAll(async () => {
  fx.remove();
  await closeExiftool();
});

/** Samples the middle of each quadrant of the output and compares with the upright reference. */
async function expectUpright(bytes: Uint8Array): Promise<void> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([240, 160]);
  for (const [fx_, fy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
    const x = Math.round(info.width * fx_);
    const y = Math.round(info.height * fy);
    const at = (y * info.width + x) * info.channels;
    const want = quadrantAt(x, y, info.width, info.height);
    for (let c = 0; c < 3; c++) expect(Math.abs(data[at + c]! - want[c]!)).toBeLessThan(24);
  }
}

describe('EXIF orientation is applied to the pixels', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('JPEG with orientation %i comes out upright, with no orientation tag', async (o) => {
    const file = await orientedFixture(fx, o);
    expect((await readAllTags(file))['IFD0:Orientation']).toBe(o);
    const result = await sanitiseImage(readFileSync(file), { faces: null });
    if (result.outcome !== 'sanitised') throw new Error('not sanitised');
    await expectUpright(result.bytes);
    const after = await readAllTags(fx.write(`oriented-${o}.jpg`, result.bytes));
    expect(after['IFD0:Orientation']).toBeUndefined();
    if (o > 1) expect(result.report.changes.join(' ')).toMatch(new RegExp(`EXIF orientation ${o}`));
  });

  it.each(['png', 'webp', 'tiff'] as const)('%s with orientation 6 comes out upright', async (format) => {
    const file = await orientedFixture(fx, 6, format);
    const result = await sanitiseImage(readFileSync(file), { faces: null });
    if (result.outcome !== 'sanitised') throw new Error('not sanitised');
    await expectUpright(result.bytes);
  });
});
