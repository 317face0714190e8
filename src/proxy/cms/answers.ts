import type { ErrorCode } from '../../pipeline/errors.js';
import type { ProblemDetails, UploadProblem } from './types.js';

/**
 * A held photo is answered 403, not 202 (FACES_HELD's status): uploaders such as the WordPress
 * block editor treat any 2xx as a finished upload and would show a broken image instead of the
 * message. 403 says "refused by the site's policy until a person approves it".
 */
export const HELD_STATUS = 403;

export function problemStatus(problem: UploadProblem): number {
  if (problem.kind === 'held') return HELD_STATUS;
  const status = problem.error.status;
  // A refusal must never look like success to a client.
  return status >= 400 ? status : HELD_STATUS;
}

export function problemCode(problem: UploadProblem): ErrorCode {
  return problem.kind === 'held' ? 'FACES_HELD' : problem.error.code;
}

export function problemMessage(problem: UploadProblem): string {
  if (problem.kind === 'refused') return problem.error.message;
  const message = problem.message.trim() || 'This photo has been held for review by the school before it can be published.';
  return message.includes(problem.reference) ? message : `${message} Reference: ${problem.reference}.`;
}

export const NO_STORE = { 'cache-control': 'no-store' } as const;

/** Plain text, or JSON when the client asks for it: for uploads whose CMS Veil does not know. */
export function genericAnswer(problem: UploadProblem, details: ProblemDetails): Response {
  const status = problemStatus(problem);
  const message = problemMessage(problem);
  if (wantsJson(details.accept)) {
    const error: Record<string, string> = { code: problemCode(problem), message };
    if (problem.uploadId) error.uploadId = problem.uploadId;
    if (problem.kind === 'held') error.reference = problem.reference;
    return jsonResponse({ error }, status, 'application/json; charset=utf-8');
  }
  return new Response(`${message}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...NO_STORE } });
}

export function jsonResponse(value: unknown, status: number, contentType: string, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': contentType, ...NO_STORE, ...extra } });
}

export function wantsJson(accept: string | null): boolean {
  return /\bapplication\/(?:[\w.+-]*\+)?json\b/i.test(accept ?? '');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function isMultipartForm(req: Request): boolean {
  return /^\s*multipart\/form-data\s*(;|$)/i.test(req.headers.get('content-type') ?? '');
}

/** The user named in `Authorization: Basic` (WordPress application passwords, many APIs). */
export function basicAuthUser(headers: Headers): string | undefined {
  const match = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(headers.get('authorization') ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const user = decoded.split(':', 1)[0];
  return user || undefined;
}

/**
 * The path as the CMS's web server will see it: percent-escapes decoded (Apache serves
 * `async%2Dupload.php` as `async-upload.php`), so routes match however they were written.
 */
export function decodedPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname.replace(/%2f/gi, '%252F'));
  } catch {
    return url.pathname;
  }
}
