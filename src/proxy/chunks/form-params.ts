import type { MultipartUpload } from '../multipart/multipart-form.js';

/** Longest text field read as a parameter: chunk protocols' fields are short. */
const MAX_PARAM_BYTES = 64 * 1024;

/**
 * The parameters a PHP application sees for a multipart request: the query string, then the
 * form's text fields over it (`$_REQUEST` with the default request_order "GP"), the last of a
 * repeated name winning. Names are kept as sent; PHP's `.`/space to `_` mangling is applied.
 */
export async function phpParams(url: URL, upload: MultipartUpload): Promise<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const [name, value] of url.searchParams) params[phpName(name)] = value;
  for (const part of upload.parts) {
    if (part.isFile || part.dataEnd - part.dataStart > MAX_PARAM_BYTES) continue;
    params[phpName(part.name)] = (await upload.spool.read(part.dataStart, part.dataEnd)).toString('utf8');
  }
  return params;
}

/** PHP turns `.` and spaces in parameter names into `_` (before the first `[`). */
export function phpName(name: string): string {
  const bracket = name.indexOf('[');
  const head = bracket === -1 ? name : name.slice(0, bracket);
  return head.replace(/[. ]/g, '_') + (bracket === -1 ? '' : name.slice(bracket));
}

/** A non-negative integer as PHP's intval-style API parameters take it, or undefined. */
export function intParam(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number(value.trim());
}
