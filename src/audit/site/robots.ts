import { createRequire } from 'node:module';

/** robots-parser's rules for one robots.txt (its bundled types do not load under NodeNext, so they are restated here). */
export interface Robots {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}

const require = createRequire(import.meta.url);
const robotsParser = require('robots-parser') as (url: string, contents: string) => Robots;

export function parseRobots(url: string, contents: string): Robots {
  return robotsParser(url, contents);
}
