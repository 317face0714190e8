import { randomBytes } from 'node:crypto';
import type { OutputFormat } from './types.js';

export const EXTENSIONS: Record<OutputFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif' };
export const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
};

/**
 * A name that says nothing about who is in the photo: `photo-20261126-3f9a2c.jpg`. Names like
 * `jane-smith-year6.jpg` identify children, so the original goes only into the private report.
 */
export function generateFilename(format: OutputFormat, date: Date = new Date(), id: string = randomBytes(3).toString('hex')): string {
  const day = date.toISOString().slice(0, 10).replace(/-/g, '');
  return `photo-${day}-${id}.${EXTENSIONS[format]}`;
}

/**
 * For sites that choose to keep names (KEEP_FILENAMES): the base name only, reduced to safe
 * characters, with the extension of what Veil actually wrote. Never a path, never empty.
 */
export function keptFilename(original: string, format: OutputFormat, fallback: () => string): string {
  const base = original.split(/[\\/]/).pop() ?? '';
  const stem = base
    .replace(/\.[^.]*$/, '')
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
  return stem ? `${stem}.${EXTENSIONS[format]}` : fallback();
}
