import { ERROR_CODES } from '../../pipeline/errors.js';
import type { ReviewItem } from '../item.js';
import { formatDayAndClock, plural } from './html.js';

/*
 * Words for people where the item holds codes: a safeguarding lead reads these pages, and the
 * codes stay in the API and the audit export.
 */

const CMS_NAMES: Record<string, string> = {
  wordpress: 'WordPress',
  ghost: 'Ghost',
  joomla: 'Joomla',
  drupal: 'Drupal',
  moodle: 'Moodle',
  mediawiki: 'MediaWiki',
  dokuwiki: 'DokuWiki',
  multipart: 'a web form',
  'multipart-other': 'a web form',
  'raw-body': 'a direct file upload',
  'text-body': 'a picture pasted into a page',
  edge: 'the edge service',
};

export function cmsName(cms: string): string {
  return CMS_NAMES[cms] ?? cms;
}

/**
 * What a held photo is called on the pages: when and where it was uploaded. Never the uploader's
 * file name (it often names a pupil); the reference stays for the API and the audit log.
 */
export function itemTitle(item: Pick<ReviewItem, 'uploader' | 'createdAt'>): string {
  return `Photo uploaded to ${cmsName(item.uploader.cms)} on ${formatDayAndClock(item.uploader.receivedAt || item.createdAt)}`;
}

export function uploaderWords(item: Pick<ReviewItem, 'uploader'>): string {
  return item.uploader.user ?? 'Uploader not recorded (the site did not say who sent it)';
}

export function faces(n: number): string {
  return plural(n, 'face');
}

export function boxes(n: number): string {
  return `${n} ${n === 1 ? 'box' : 'boxes'}`;
}

const ERROR_WORDS: Partial<Record<keyof typeof ERROR_CODES, string>> = {
  UNSUPPORTED_FORMAT: 'not a photo format Veil accepts',
  FILE_TOO_LARGE: 'file too large',
  PIXEL_LIMIT: 'picture too large in pixels',
  FRAME_LIMIT: 'too many animation frames',
  CORRUPT_IMAGE: 'damaged or unreadable picture',
  EMPTY_FILE: 'empty file',
  TIMEOUT: 'took too long to process',
  QUEUE_UNAVAILABLE: 'Veil\'s queue was down',
  STORAGE_UNAVAILABLE: 'Veil\'s storage was down',
  MODEL_UNAVAILABLE: 'the face detector was not available',
  CANCELLED: 'the uploader went away',
  NOT_FOUND: 'the original was missing',
};

export function errorWords(code: string): string {
  return ERROR_WORDS[code as keyof typeof ERROR_CODES] ?? 'could not be processed';
}
