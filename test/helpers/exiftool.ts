import { exiftool } from 'exiftool-vendored';

/**
 * ExifTool is the independent witness: fixtures are written with it and sanitised files are read
 * back with it, so no check depends only on Veil's own metadata reader.
 */
export type ExifTags = Record<string, unknown>;

/** Every tag ExifTool finds, keyed "Group:Tag" (family 1 groups, duplicates and unknown tags included). */
export async function readAllTags(file: string): Promise<ExifTags> {
  return exiftool.readRaw(file, { readArgs: ['-G1', '-a', '-u', '-U', '-ee', '-n'] }) as Promise<ExifTags>;
}

/** Writes tags with plain ExifTool arguments, e.g. `-GPSLatitude=51.5`. */
export async function writeTags(file: string, args: string[]): Promise<void> {
  await exiftool.write(file, {}, { writeArgs: ['-overwrite_original', ...args] });
}

export async function closeExiftool(): Promise<void> {
  await exiftool.end();
}

/**
 * Groups that describe the file's structure (size, encoding, animation) rather than its
 * content; anything else ExifTool finds in a sanitised file is metadata that should be gone.
 */
const STRUCTURAL_GROUPS = new Set(['ExifTool', 'System', 'File', 'Composite', 'JFIF', 'PNG', 'PNG-pHYs', 'GIF', 'RIFF', 'VP8', 'VP8L', 'VP8X', 'ANMF']);
const STRUCTURAL_TAGS: Record<string, RegExp> = {
  // PNG's IHDR and rendering chunks; text chunks (PNG:Comment, PNG:Author...) are not structural.
  PNG: /^(ImageWidth|ImageHeight|BitDepth|ColorType|Compression|Filter|Interlace|Gamma|SRGBRendering|Palette|Transparency|BackgroundColor|WhitePoint.*|Red.*|Green.*|Blue.*|PixelsPerUnit.|PixelUnits|AnimationFrames|AnimationPlays)$/,
  GIF: /^(GIFVersion|ImageWidth|ImageHeight|HasColorMap|ColorResolutionDepth|BitsPerPixel|BackgroundColor|AnimationIterations|FrameCount|Duration|TransparentColor|PixelAspectRatio)$/,
};

/** The tags in a file that are not structural: what a sanitised file must not have. */
export function nonStructuralTags(tags: ExifTags): string[] {
  return Object.keys(tags).filter((key) => {
    // SourceFile, errors and warnings are exiftool-vendored's own bookkeeping.
    if (key === 'SourceFile' || key === 'errors' || key === 'warnings') return false;
    const [group, tag = ''] = key.includes(':') ? key.split(':', 2) as [string, string] : ['', key];
    if (!STRUCTURAL_GROUPS.has(group)) return true;
    if (group === 'File' && /^(Comment|ExifByteOrder|CurrentIPTCDigest)$/.test(tag)) return true;
    const allowed = STRUCTURAL_TAGS[group];
    return allowed ? !allowed.test(tag) : false;
  });
}
