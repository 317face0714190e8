/**
 * HTML built with a tagged template that escapes every interpolated value unless it is already
 * Html. File names, reasons, user names and paths are typed by people and can be hostile, so
 * nothing reaches a page unescaped by accident.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | HtmlValue[];

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Only http(s) URLs become links: a CMS could answer with `javascript:`. */
export function safeHttpUrl(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

const TIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
const CLOCK = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });

/**
 * "26 Nov 2026, 10:45 UTC", in the server's time zone and naming it: unambiguous for a governor
 * reading the page later. Pages show it in a <time> element that the script turns into the
 * reader's own local time.
 */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return TIME.format(date);
}

/** "2 December 2026 at 08:09", for names of things. */
export function formatDayAndClock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${DAY.format(date)} at ${CLOCK.format(date)}`;
}

/** A time as the page shows it: readable words, and the exact time for the script and for machines. */
export function timeHtml(iso: string | undefined): Html {
  if (!iso) return new Html('');
  return html`<time datetime="${iso}">${formatTime(iso)}</time>`;
}

export { formatBytes } from '../../pipeline/format-bytes.js';

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
