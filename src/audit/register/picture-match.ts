/**
 * "Find this picture": matches a suspicious copy found elsewhere against the hashes of what Veil
 * published. A copy may be cropped, resized, re-compressed, mirrored, greyed, brightened, framed,
 * slightly rotated or partly edited. The copy is read several ways (as it is, mirrored, with a
 * frame or screenshot around it cut away, turned back a few degrees) and each reading is compared
 * with every window of each original, so a crop meets the window it came from. The closest pair
 * decides.
 */
import sharp from 'sharp';
import { greyForHashing, hammingDistance, HASH_BITS, mirrored, turned, windowHash, windowHashes, type GreyImage, type HashedWindow, type PictureHash } from './perceptual-hash.js';

/** At or under this many differing bits (of 256), a copy is called a match; chosen on test/register-match.test.ts's copies and unrelated photos. */
export const MATCH_DISTANCE = Math.round(HASH_BITS * 0.3);

export interface PictureFingerprint {
  windows: HashedWindow[];
}

export interface MatchCandidate<T> {
  item: T;
  fingerprint: PictureFingerprint;
}

export interface PictureMatch<T> {
  item: T;
  /** Bits that differ between the copy and the closest window of the original (0 = same). */
  distance: number;
  /** How the copy was read when it matched ("as sent", "mirrored", ...), for the evidence record. */
  via: string;
}

/** The register's record of a published picture: window hashes only. */
export async function fingerprint(picture: Uint8Array): Promise<PictureFingerprint> {
  return { windows: windowHashes(await greyForHashing(picture)) };
}

export interface QueryView {
  via: string;
  hash: PictureHash;
}

/** The readings of a suspicious copy that are compared with each original's windows. */
export async function queryViews(copy: Uint8Array): Promise<QueryView[]> {
  const views: QueryView[] = [];
  const upright = await greyForHashing(copy);
  for (const mirror of [false, true]) {
    const grey = mirror ? mirrored(upright) : upright;
    const name = mirror ? 'mirrored' : 'as sent';
    views.push({ via: name, hash: windowHash(grey, 0, 0, 1, 1) });
    // A screenshot, a frame or a caption around the picture: the picture is the busy box inside.
    const box = pictureBox(grey);
    if (box) views.push({ via: `${name}, frame cut away`, hash: windowHash(grey, box.x, box.y, box.w, box.h) });
    for (const degrees of [-5, 5]) {
      views.push({ via: `${name}, turned ${degrees < 0 ? 'back left' : 'back right'}`, hash: turnedBack(await turned(grey, degrees), degrees) });
    }
  }
  return views;
}

/** Every candidate within `maxDistance`, closest first. */
export function matchPicture<T>(views: QueryView[], candidates: Iterable<MatchCandidate<T>>, maxDistance = MATCH_DISTANCE): PictureMatch<T>[] {
  const matches: PictureMatch<T>[] = [];
  for (const candidate of candidates) {
    let best: { distance: number; via: string } | undefined;
    for (const view of views) {
      for (const window of candidate.fingerprint.windows) {
        const distance = hammingDistance(view.hash, window.hash);
        if (!best || distance < best.distance) best = { distance, via: view.via };
      }
    }
    if (best && best.distance <= maxDistance) matches.push({ item: candidate.item, ...best });
  }
  return matches.sort((a, b) => a.distance - b.distance);
}

/**
 * A copy turned by a few degrees, turned back: the original sits in the middle of a larger canvas.
 * Its size follows from the turn (w·cos + h·sin across), and the middle 80 % of it is hashed so
 * the corners the turns filled in do not count; that matches the original's centred 0.8 window.
 */
function turnedBack(grey: GreyImage, degrees: number): PictureHash {
  const t = (Math.abs(degrees) * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  // The canvas after two turns: W2 = W1·cos + H1·sin, with W1 = w·cos + h·sin (and alike for H).
  // Solving the 2x2 system twice gives the original's share of each side.
  const det = cos * cos - sin * sin;
  const w1 = (grey.width * cos - grey.height * sin) / det;
  const h1 = (grey.height * cos - grey.width * sin) / det;
  const w0 = (w1 * cos - h1 * sin) / det;
  const h0 = (h1 * cos - w1 * sin) / det;
  const fw = Math.min(1, Math.max(0.2, w0 / grey.width));
  const fh = Math.min(1, Math.max(0.2, h0 / grey.height));
  const inset = 0.1;
  return windowHash(grey, (1 - fw) / 2 + fw * inset, (1 - fh) / 2 + fh * inset, fw * (1 - 2 * inset), fh * (1 - 2 * inset));
}

/**
 * The box of rows and columns that are mostly picture: a frame, a status bar or a caption has
 * only a few pixels that differ from the page around them. Undefined when the whole copy is picture.
 */
function pictureBox(grey: GreyImage): { x: number; y: number; w: number; h: number } | undefined {
  const { width, height, data } = grey;
  const page = data[0]!;
  const differs = (i: number) => Math.abs(data[i]! - page) > 16;
  const rows = bandOf(height, (y) => {
    let n = 0;
    for (let x = 0; x < width; x++) if (differs(y * width + x)) n++;
    return n / width;
  });
  if (!rows) return undefined;
  const cols = bandOf(width, (x) => {
    let n = 0;
    for (let y = rows.start; y < rows.end; y++) if (differs(y * width + x)) n++;
    return n / (rows.end - rows.start);
  });
  if (!cols) return undefined;
  const box = { x: cols.start / width, y: rows.start / height, w: (cols.end - cols.start) / width, h: (rows.end - rows.start) / height };
  if (box.w > 0.97 && box.h > 0.97) return undefined;
  if (box.w < 0.2 || box.h < 0.2) return undefined;
  return box;
}

/**
 * The longest run of lines where at least a fifth of the pixels differ from the page (a line of
 * text in a caption or status bar has fewer), bridging short dark stretches of the picture.
 */
function bandOf(length: number, share: (i: number) => number): { start: number; end: number } | undefined {
  const gap = Math.max(2, Math.round(length * 0.03));
  let best: { start: number; end: number } | undefined;
  let start = -1;
  let lastBusy = -1;
  for (let i = 0; i <= length; i++) {
    const busy = i < length && share(i) >= 0.2;
    if (busy) {
      if (start < 0) start = i;
      lastBusy = i;
    } else if (start >= 0 && (i === length || i - lastBusy > gap)) {
      const end = lastBusy + 1;
      if (!best || end - start > best.end - best.start) best = { start, end };
      start = -1;
    }
  }
  return best;
}
