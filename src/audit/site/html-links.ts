import { Parser } from 'htmlparser2';

export interface PageLinks {
  /** Absolute URLs of links (a, area, iframe), fragments removed. */
  links: string[];
  /** Absolute URLs of pictures the page shows (img src/srcset, picture sources, og:image, icons). */
  images: string[];
}

/** Attributes lazy-loading plugins use instead of src/srcset. */
const LAZY_SRC = ['data-src', 'data-lazy-src', 'data-original', 'data-orig-file', 'data-large-file', 'data-medium-file'];
const LAZY_SRCSET = ['data-srcset', 'data-lazy-srcset'];

/**
 * The links and pictures of one HTML page, read by a real HTML parser (htmlparser2), so comments,
 * scripts and odd quoting are handled the way a browser tokenises them. `<base href>` is honoured.
 */
export function extractLinks(html: string, pageUrl: string): PageLinks {
  let base = pageUrl;
  let baseSeen = false;
  const links: string[] = [];
  const images: string[] = [];
  const add = (list: string[], value: string | undefined) => {
    if (!value) return;
    const url = absolute(value.trim(), base);
    if (url) list.push(url);
  };
  const addSrcset = (value: string | undefined) => {
    if (!value) return;
    // "a.jpg 300w, b.jpg 2x": each candidate's URL is its first token.
    for (const candidate of value.split(',')) add(images, candidate.trim().split(/\s+/)[0]);
  };
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        switch (name) {
          case 'base':
            if (!baseSeen && attrs.href) {
              baseSeen = true;
              base = absolute(attrs.href, pageUrl) ?? pageUrl;
            }
            break;
          case 'a':
          case 'area':
          case 'iframe':
            add(links, name === 'iframe' ? attrs.src : attrs.href);
            break;
          case 'img':
          case 'source':
          case 'input':
            if (name !== 'input' || attrs.type === 'image') add(images, attrs.src);
            addSrcset(attrs.srcset);
            for (const a of LAZY_SRC) add(images, attrs[a]);
            for (const a of LAZY_SRCSET) addSrcset(attrs[a]);
            break;
          case 'meta': {
            const key = (attrs.property ?? attrs.name ?? '').toLowerCase();
            if (key === 'og:image' || key === 'og:image:url' || key === 'twitter:image' || key === 'og:image:secure_url') add(images, attrs.content);
            break;
          }
          case 'link': {
            const rel = (attrs.rel ?? '').toLowerCase().split(/\s+/);
            if (rel.includes('image_src') || rel.includes('icon') || rel.includes('apple-touch-icon') || (rel.includes('preload') && attrs.as === 'image')) add(images, attrs.href);
            break;
          }
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return { links: [...new Set(links)], images: [...new Set(images)] };
}

function absolute(value: string, base: string): string | null {
  try {
    const url = new URL(value, base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    url.hash = '';
    return url.href;
  } catch {
    return null;
  }
}
