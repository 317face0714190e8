import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';

export interface SitemapEntries {
  /** Page URLs (`<urlset><url><loc>`). */
  pages: string[];
  /** Picture URLs from image sitemaps (`<image:image><image:loc>`). */
  images: string[];
  /** Nested sitemaps (`<sitemapindex><sitemap><loc>`). */
  sitemaps: string[];
}

/** A sitemap may hold 50,000 URLs and unpack to 50 MB (sitemaps.org); more is refused. */
const MAX_UNPACKED = 50 * 1024 * 1024;

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Entities are not expanded: no billion-laughs from a hostile sitemap.
  processEntities: false,
  isArray: (name) => name === 'url' || name === 'sitemap' || name === 'image' || name === 'loc',
});

/** Reads a sitemap or sitemap index, gzipped or not, with fast-xml-parser. */
export function parseSitemap(bytes: Buffer): SitemapEntries {
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED }) : bytes).toString('utf8');
  const doc = parser.parse(text) as Record<string, unknown>;
  const out: SitemapEntries = { pages: [], images: [], sitemaps: [] };
  const urlset = doc.urlset as { url?: Record<string, unknown>[] } | undefined;
  for (const url of urlset?.url ?? []) {
    out.pages.push(...locs(url.loc));
    for (const image of (url.image as Record<string, unknown>[] | undefined) ?? []) out.images.push(...locs(image.loc));
  }
  const index = doc.sitemapindex as { sitemap?: Record<string, unknown>[] } | undefined;
  for (const sitemap of index?.sitemap ?? []) out.sitemaps.push(...locs(sitemap.loc));
  return out;
}

function locs(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  // &amp; is the one entity a sitemap must use in URLs; the others are rare and left as they are.
  return list.filter((v): v is string => typeof v === 'string').map((v) => v.trim().replace(/&amp;/g, '&')).filter(Boolean);
}
