import { unscaledName } from './wp-sizes.js';

/** One picture the WordPress media library lists: every URL it exists at, and when it was uploaded. */
export interface WpMediaFile {
  url: string;
  uploaded?: string | undefined;
  /** The upload this URL is a copy of (a size, or the original behind `-scaled`). */
  sizeOf?: string | undefined;
}

interface WpMediaItem {
  source_url?: unknown;
  mime_type?: unknown;
  media_type?: unknown;
  date_gmt?: unknown;
  media_details?: { sizes?: Record<string, { source_url?: unknown }>; original_image?: unknown };
}

/**
 * The URLs in one page of `/wp/v2/media`: each item's `source_url`, every generated size in
 * `media_details.sizes`, and the unscaled original (`media_details.original_image`, which no page
 * links: WordPress shows the `-scaled` copy but leaves the original public).
 */
export function mediaFiles(items: unknown, origin: string): WpMediaFile[] {
  if (!Array.isArray(items)) return [];
  const out: WpMediaFile[] = [];
  const sameOrigin = (value: unknown): string | null => {
    if (typeof value !== 'string') return null;
    try {
      const url = new URL(value, origin);
      return url.origin === origin ? url.href : null;
    } catch {
      return null;
    }
  };
  for (const item of items as WpMediaItem[]) {
    if (!item || typeof item !== 'object') continue;
    const mime = typeof item.mime_type === 'string' ? item.mime_type : '';
    if (item.media_type !== 'image' && !mime.startsWith('image/')) continue;
    const source = sameOrigin(item.source_url);
    if (!source) continue;
    const uploaded = typeof item.date_gmt === 'string' ? `${item.date_gmt}Z` : undefined;
    const folder = source.slice(0, source.lastIndexOf('/') + 1);
    const originalName = typeof item.media_details?.original_image === 'string' ? item.media_details.original_image : unscaledName(source.slice(folder.length));
    const original = originalName && !originalName.includes('/') ? sameOrigin(folder + encodeURIComponent(originalName)) : null;
    const hasOriginal = original !== null && original !== source;
    out.push({ url: source, uploaded, sizeOf: hasOriginal ? original : undefined });
    if (hasOriginal) out.push({ url: original, uploaded });
    for (const size of Object.values(item.media_details?.sizes ?? {})) {
      const url = sameOrigin(size?.source_url);
      if (url && url !== source) out.push({ url, uploaded, sizeOf: original ?? source });
    }
  }
  return out;
}

/** The two ways to reach the REST API: pretty permalinks, and `?rest_route=` where they are off. */
export function mediaListUrls(origin: string, page: number): string[] {
  const query = `per_page=100&page=${page}`;
  return [`${origin}/wp-json/wp/v2/media?${query}`, `${origin}/?rest_route=/wp/v2/media&${query}`];
}
