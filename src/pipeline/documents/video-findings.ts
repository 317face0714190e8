/**
 * What a video's metadata gives away, in plain words for the report ("GPS location", "camera make
 * and model"). Only the names of tags are looked at; their values are never kept.
 */

export type VideoFinding =
  | 'GPS location'
  | 'camera make and model'
  | 'software name'
  | 'creation dates'
  | 'XMP'
  | 'title, description or author'
  | 'cover picture'
  | 'timed metadata track'
  | 'attachments'
  | 'chapter names'
  | 'other metadata';

/** QuickTime user-data atoms (udta, ilst) and Apple keys (mdta), by what they say. */
const BY_NAME: [RegExp, VideoFinding][] = [
  [/^(\xa9xyz|loci|gps0?|\xa9gps|location.*)$|location|iso6709|gps|latitude|longitude/i, 'GPS location'],
  [/^(\xa9mak|\xa9mod|manu|modl)$|(^|\.)(make|model)$|camera|lens|serial/i, 'camera make and model'],
  [/^(\xa9swr|\xa9too|\xa9enc|swr|tool)$|software|encoder|writing_?app|muxing_?app/i, 'software name'],
  [/^(\xa9day|date|yrrc)$|creation_?date|creation_?time|date/i, 'creation dates'],
  [/^(XMP_)$|xmp/i, 'XMP'],
  [/^(\xa9nam|\xa9cmt|\xa9des|\xa9inf|\xa9ART|\xa9aut|\xa9wrt|\xa9alb|\xa9prd|\xa9dir|\xa9cpy|titl|dscp|desc|auth|perf|cprt|albm|kywd|rtng|clsf|ldes)$|title|description|comment|author|artist|copyright|keywords|album|displayname|name/i, 'title, description or author'],
  [/^covr$|cover|thumb|artwork/i, 'cover picture'],
];

export function findingForName(name: string): VideoFinding {
  for (const [pattern, finding] of BY_NAME) if (pattern.test(name)) return finding;
  return 'other metadata';
}

/** The report's order: the most telling first. */
const ORDER: VideoFinding[] = ['GPS location', 'camera make and model', 'creation dates', 'software name', 'title, description or author', 'XMP', 'cover picture', 'timed metadata track', 'attachments', 'chapter names', 'other metadata'];

export function orderFindings(found: Iterable<VideoFinding>): VideoFinding[] {
  const set = new Set(found);
  return ORDER.filter((f) => set.has(f));
}

/** Tags ffmpeg reports that describe the stream's layout, not the person or the device. */
const STRUCTURAL_TAGS = /^(language|handler_name|vendor_id|duration|major_brand|minor_version|compatible_brands|alpha_mode|BPS|NUMBER_OF_FRAMES|NUMBER_OF_BYTES|_STATISTICS_.*)$/i;

/** Matroska and MP4 tags as ffprobe reports them (format and streams), by what they say. */
export function findingsForTags(tags: Record<string, unknown> | undefined): VideoFinding[] {
  if (!tags) return [];
  return Object.keys(tags)
    .filter((key) => !STRUCTURAL_TAGS.test(key))
    .map((key) => findingForName(key));
}
