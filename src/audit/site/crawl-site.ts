import { VeilError, isVeilError, toVeilError } from '../../pipeline/errors.js';
import { examineImage, type ExamineOptions } from './examine-image.js';
import { fetchBounded, USER_AGENT, type FetchLimits } from './fetch-bounded.js';
import { extractLinks } from './html-links.js';
import { Polite, crawl } from './polite.js';
import type { Progress } from './progress.js';
import { parseRobots, type Robots } from './robots.js';
import { parseSitemap } from './sitemap.js';
import type { AuditedImage, AuditResult } from './types.js';
import { mediaFiles, mediaListUrls, type WpMediaFile } from './wp-media.js';
import { originalNames, unscaledName } from './wp-sizes.js';

export interface SiteAuditOptions {
  examine: ExamineOptions;
  /** Requests at once (default 2). */
  concurrency: number;
  maxPages: number;
  maxImages: number;
  timeoutMs: number;
  progress: Progress;
}

const PAGE_BYTES = 5 * 1024 * 1024;
const SITEMAP_BYTES = 10 * 1024 * 1024;
const ROBOTS_BYTES = 512 * 1024;
const MAX_SITEMAPS = 50;
const MAX_MEDIA_PAGES = 100;
const MAX_CRAWL_DELAY_S = 10;
const IMAGE_EXT = /\.(jpe?g|png|gif|webp|avif|heic|heif|tiff?)$/i;
/** Links to these are not pages (documents and videos are for a later audit). */
const NOT_PAGE_EXT = /\.(pdf|docx?|xlsx?|pptx?|odt|ods|odp|zip|rar|7z|gz|mp4|mov|m4v|webm|avi|mp3|wav|m4a|ogg|css|js|json|xml|txt|csv|ico|svg|woff2?|ttf|eot)$/i;

interface Found {
  pages: Set<string>;
  uploaded?: string | undefined;
  sizeOf?: string | undefined;
  /** Only a guess (the original a `-scaled` name implies): dropped quietly if it is not there. */
  guessed: boolean;
}

/**
 * Audits what a site publishes: pages from sitemap.xml, robots.txt's sitemaps and links, same
 * origin only and as robots.txt allows; pictures from those pages and from the WordPress media
 * list where it answers. Each picture is downloaded once, within limits, and examined.
 */
export async function auditSite(target: string, options: SiteAuditOptions): Promise<AuditResult> {
  const startedAt = new Date().toISOString();
  const start = new URL(target);
  if (start.protocol !== 'http:' && start.protocol !== 'https:') throw new VeilError('BAD_REQUEST', `${target} is not an http or https address.`);
  start.hash = '';
  const origin = start.origin;
  const notes: string[] = [];
  const limits = (maxBytes: number): FetchLimits => ({ maxBytes, timeoutMs: options.timeoutMs });
  const sameOrigin = (url: string) => new URL(url).origin === origin;

  const robots = await loadRobots(origin, limits(ROBOTS_BYTES), notes);
  let skippedByRobots = 0;
  const allowed = (url: string): boolean => {
    const ok = robots.isAllowed(url, USER_AGENT) !== false;
    if (!ok) skippedByRobots += 1;
    return ok;
  };
  const delay = Math.min(robots.getCrawlDelay(USER_AGENT) ?? 0, MAX_CRAWL_DELAY_S);
  if (delay > 0) notes.push(`robots.txt asks for ${delay} s between requests; the audit waited that long.`);
  const polite = new Polite(options.concurrency, delay * 1000);
  const get = (url: string, maxBytes: number, accept?: string) => polite.run(() => fetchBounded(url, limits(maxBytes), accept));

  const images = new Map<string, Found>();
  let offSite = 0;
  const addImage = (url: string, page: string | null, extra: Partial<Found> = {}): void => {
    if (!sameOrigin(url)) {
      offSite += 1;
      return;
    }
    let found = images.get(url);
    if (!found) images.set(url, (found = { pages: new Set(), guessed: extra.guessed ?? false }));
    else if (extra.guessed === false) found.guessed = false;
    if (page) found.pages.add(page);
    found.uploaded ??= extra.uploaded;
    found.sizeOf ??= extra.sizeOf;
  };

  // Sitemaps: robots.txt's, then the usual places (WordPress's own is wp-sitemap.xml).
  const seeds = [start.href];
  const sitemapQueue = [...new Set([...robots.getSitemaps(), `${origin}/sitemap.xml`, `${origin}/wp-sitemap.xml`])].filter(sameOrigin);
  const sitemapsSeen = new Set(sitemapQueue);
  let sitemapsRead = 0;
  while (sitemapQueue.length > 0 && sitemapsRead < MAX_SITEMAPS) {
    const url = sitemapQueue.shift()!;
    if (!allowed(url)) continue;
    sitemapsRead += 1;
    try {
      const response = await get(url, SITEMAP_BYTES, 'application/xml,text/xml,*/*');
      if (response.status !== 200) continue;
      const entries = parseSitemap(response.bytes);
      seeds.push(...entries.pages.filter(sameOrigin));
      for (const image of entries.images) addImage(image, null);
      for (const next of entries.sitemaps) if (sameOrigin(next) && !sitemapsSeen.has(next)) (sitemapsSeen.add(next), sitemapQueue.push(next));
    } catch (err) {
      notes.push(`Sitemap ${url} could not be read: ${toVeilError(err).message}`);
    }
  }

  options.progress.update('pages', 0, seeds.length);
  let pagesRead = 0;
  let pagesFailed = 0;
  const { leftOver } = await crawl(
    seeds,
    async (url) => {
      if (!allowed(url)) return [];
      try {
        const response = await get(url, PAGE_BYTES, 'text/html,application/xhtml+xml');
        const type = response.headers.get('content-type') ?? '';
        if (response.status !== 200) {
          if (response.status !== 404) pagesFailed += 1;
          return [];
        }
        if (type.startsWith('image/')) {
          addImage(response.url, null);
          return [];
        }
        if (!/html/i.test(type)) return [];
        pagesRead += 1;
        const { links, images: shown } = extractLinks(response.bytes.toString('utf8'), response.url);
        for (const image of shown) addImage(image, response.url);
        const next: string[] = [];
        for (const link of links) {
          if (!sameOrigin(link)) continue;
          const path = new URL(link).pathname;
          if (IMAGE_EXT.test(path)) addImage(link, response.url);
          else if (!NOT_PAGE_EXT.test(path)) next.push(link);
        }
        return next;
      } catch (err) {
        pagesFailed += 1;
        notes.push(`Page ${url} could not be read: ${toVeilError(err).message}`);
        return [];
      } finally {
        options.progress.update('pages', pagesRead, pagesRead + 1);
      }
    },
    { parallel: options.concurrency, max: options.maxPages },
  );
  if (leftOver > 0) notes.push(`Stopped after ${options.maxPages} pages (--max-pages); ${leftOver} more were found and not read.`);
  if (pagesFailed > 0) notes.push(`${pagesFailed} page(s) could not be read.`);

  const media = await listWordPressMedia(origin, get, allowed, notes);
  for (const file of media) addImage(file.url, null, { uploaded: file.uploaded, sizeOf: file.sizeOf });
  if (media.length > 0) notes.push(`The WordPress media library listed ${media.length} picture URLs (sizes and originals included).`);

  // WordPress links `name-scaled.jpg`, and leaves `name.jpg`, the full-size original, beside it.
  for (const url of [...images.keys()]) {
    const name = url.slice(url.lastIndexOf('/') + 1);
    const unscaled = unscaledName(name);
    if (unscaled) addImage(url.slice(0, url.lastIndexOf('/') + 1) + unscaled, null, { guessed: !images.has(url.slice(0, url.lastIndexOf('/') + 1) + unscaled) });
  }
  for (const [url, found] of images) {
    if (found.sizeOf) continue;
    const folder = url.slice(0, url.lastIndexOf('/') + 1);
    found.sizeOf = originalNames(url.slice(folder.length)).map((n) => folder + n).find((u) => images.has(u) && u !== url);
  }

  const examineLock = new Polite(1);
  const list = [...images.entries()].slice(0, options.maxImages);
  if (images.size > options.maxImages) notes.push(`Checked the first ${options.maxImages} of ${images.size} pictures (--max-images).`);
  const audited: AuditedImage[] = [];
  let done = 0;
  options.progress.update('images', 0, list.length);
  await Promise.all(
    list.map(async ([url, found]) => {
      const row = await examineUrl(url, found, allowed, get, examineLock, options.examine);
      if (row) audited.push(row);
      options.progress.update('images', (done += 1), list.length);
    }),
  );
  options.progress.done();
  if (offSite > 0) notes.push(`${offSite} picture link(s) point to other sites; those were not checked.`);
  audited.sort((a, b) => a.location.localeCompare(b.location));
  return {
    images: audited,
    notes,
    summary: summarise(target, 'site', startedAt, audited, { pages: pagesRead, skippedByRobots, offSite, maxEdge: options.examine.maxEdge }),
  };
}

async function examineUrl(
  url: string,
  found: Found,
  allowed: (url: string) => boolean,
  get: (url: string, maxBytes: number, accept?: string) => Promise<{ status: number; headers: Headers; bytes: Buffer }>,
  examineLock: Polite,
  options: ExamineOptions,
): Promise<AuditedImage | null> {
  if (!allowed(url)) return null;
  const row: AuditedImage = { location: url, pages: [...found.pages].sort(), sizeOf: found.sizeOf, bytes: 0, modified: found.uploaded, reasons: [] };
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  try {
    const response = await get(url, options.limits.maxBytes, 'image/*');
    if (response.status !== 200) {
      if (found.guessed) return null;
      throw new VeilError('NOT_FOUND', `The server answered HTTP ${response.status}.`);
    }
    row.bytes = response.bytes.length;
    const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
    if (Number.isFinite(lastModified)) row.modified = new Date(lastModified).toISOString();
    const findings = await examineLock.run(() => examineImage(response.bytes, name, options));
    // A guessed original that turns out to be the server's HTML "not found" page is not a picture.
    if (found.guessed && findings.error?.code === 'UNSUPPORTED_FORMAT') return null;
    return { ...row, ...findings };
  } catch (err) {
    const error = isVeilError(err) ? err : toVeilError(err);
    return { ...row, error: { code: error.code, message: error.message }, reasons: ['unchecked'] };
  }
}

async function loadRobots(origin: string, limits: FetchLimits, notes: string[]): Promise<Robots> {
  const url = `${origin}/robots.txt`;
  try {
    const response = await fetchBounded(url, limits, 'text/plain');
    if (response.status === 200) return parseRobots(url, response.bytes.toString('utf8'));
    if (response.status >= 400 && response.status < 500) return parseRobots(url, '');
    notes.push(`robots.txt answered HTTP ${response.status}; as RFC 9309 asks, nothing else was fetched.`);
  } catch (err) {
    notes.push(`robots.txt could not be read (${toVeilError(err).message}); as RFC 9309 asks, nothing else was fetched.`);
  }
  return parseRobots(url, 'User-agent: *\nDisallow: /\n');
}

async function listWordPressMedia(
  origin: string,
  get: (url: string, maxBytes: number, accept?: string) => Promise<{ status: number; bytes: Buffer }>,
  allowed: (url: string) => boolean,
  notes: string[],
): Promise<WpMediaFile[]> {
  const files: WpMediaFile[] = [];
  let variant: number | null = null;
  for (let page = 1; page <= MAX_MEDIA_PAGES; page++) {
    let items: unknown = null;
    for (const [index, url] of mediaListUrls(origin, page).entries()) {
      if (variant !== null && index !== variant) continue;
      if (!allowed(url)) continue;
      try {
        const response = await get(url, PAGE_BYTES, 'application/json');
        if (response.status !== 200) continue;
        const parsed: unknown = JSON.parse(response.bytes.toString('utf8'));
        if (!Array.isArray(parsed)) continue;
        items = parsed;
        variant = index;
        break;
      } catch {
        // Not WordPress, or its REST API is switched off: the crawl has found what pages show.
      }
    }
    if (!Array.isArray(items) || items.length === 0) break;
    files.push(...mediaFiles(items, origin));
    if (page === MAX_MEDIA_PAGES) notes.push(`Read the first ${MAX_MEDIA_PAGES * 100} items of the media library only.`);
  }
  return files;
}

export function summarise(
  target: string,
  kind: 'folder' | 'site',
  startedAt: string,
  images: AuditedImage[],
  extra: { pages: number; skippedByRobots: number; offSite: number; maxEdge: number },
): AuditResult['summary'] {
  const count = (reason: string) => images.filter((i) => i.reasons.includes(reason as never)).length;
  return {
    target,
    kind,
    startedAt,
    finishedAt: new Date().toISOString(),
    images: images.length,
    gps: count('gps'),
    faces: count('faces'),
    large: count('large'),
    personNames: count('person-name'),
    unchecked: count('unchecked'),
    needsAction: images.filter((i) => i.reasons.length > 0).length,
    fixed: images.filter((i) => i.fix?.status === 'fixed').length,
    ...extra,
  };
}
