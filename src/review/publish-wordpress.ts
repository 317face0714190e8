import { VeilError } from '../pipeline/errors.js';
import type { ApprovedFile, PublishedMedia, Publisher } from './publisher.js';

export interface WordPressSettings {
  /** The site's address (WORDPRESS_URL), e.g. https://school.example/ or https://example.org/blog/. */
  url: string;
  user: string;
  /** An application password (Users → Profile → Application Passwords), not the login password. */
  appPassword: string;
  timeoutMs?: number;
  /** For tests against a stub; the global fetch otherwise. */
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Publishes approved photos through the WordPress REST API (`POST /wp-json/wp/v2/media`) with an
 * application password. Sites without "pretty" permalinks only answer `?rest_route=`, so a plain
 * 404 from `/wp-json/` is retried there.
 */
export function createWordPressPublisher(settings: WordPressSettings): Publisher {
  const base = new URL(settings.url.endsWith('/') ? settings.url : `${settings.url}/`);
  const site = `${base.origin}${base.pathname}`;
  const authorization = `Basic ${Buffer.from(`${settings.user}:${settings.appPassword}`, 'utf8').toString('base64')}`;
  const doFetch = settings.fetch ?? fetch;
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const endpoints = (route: string, query: Record<string, string>): URL[] => {
    const pretty = new URL(`wp-json${route}`, base);
    const plain = new URL('index.php', base);
    plain.searchParams.set('rest_route', route);
    for (const url of [pretty, plain]) for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return [pretty, plain];
  };

  const call = async (
    route: string,
    init: { method: string; headers: Record<string, string>; body?: Uint8Array; query?: Record<string, string> },
    action: string,
  ): Promise<Response> => {
    let last: Response | undefined;
    for (const url of endpoints(route, init.query ?? {})) {
      let response: Response;
      try {
        response = await doFetch(url, {
          method: init.method,
          headers: { ...init.headers, Authorization: authorization },
          // A copy typed as ArrayBuffer-backed, which fetch's BodyInit requires.
          ...(init.body ? { body: new Uint8Array(init.body) } : {}),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
        });
      } catch (err) {
        throw new VeilError('PUBLISH_FAILED', `Could not ${action}: WordPress at ${site} did not answer (${networkReason(err)}). Check WORDPRESS_URL.`, { cause: err });
      }
      // WordPress answers its own REST errors as JSON; a plain 404 means this URL form is not served.
      if (response.status === 404 && !isJson(response)) {
        last = response;
        await response.body?.cancel();
        continue;
      }
      return response;
    }
    throw new VeilError('PUBLISH_FAILED', `Could not ${action}: ${site} has no WordPress REST API (HTTP ${last?.status ?? 404} at /wp-json/ and ?rest_route=). Check WORDPRESS_URL.`);
  };

  return {
    description: `WordPress at ${site}`,
    publishes: true,

    async publish(file: ApprovedFile): Promise<PublishedMedia> {
      const filename = safeFilename(file.filename);
      const response = await call(
        '/wp/v2/media',
        {
          method: 'POST',
          headers: {
            'Content-Type': file.contentType,
            'Content-Disposition': `attachment; filename="${filename}"`,
            Accept: 'application/json',
          },
          body: file.bytes,
        },
        'publish the approved photo',
      );
      const body = await readJson(response);
      if (response.status !== 201 && response.status !== 200) throw refusal(response.status, body, 'publish the approved photo', site);
      const id = (body as { id?: unknown } | null)?.id;
      const url = (body as { source_url?: unknown } | null)?.source_url;
      if ((typeof id !== 'number' && typeof id !== 'string') || typeof url !== 'string') {
        throw new VeilError('PUBLISH_FAILED', `WordPress at ${site} accepted the photo but did not say its media id and URL (HTTP ${response.status}).`);
      }
      return { mediaId: String(id), url };
    },

    async withdraw(mediaId: string): Promise<void> {
      if (!/^\d{1,20}$/.test(mediaId)) throw new VeilError('BAD_REQUEST', `"${mediaId.slice(0, 40)}" is not a WordPress media id.`);
      // Media has no trash in WordPress: force=true is required to delete it.
      const response = await call(
        `/wp/v2/media/${mediaId}`,
        { method: 'DELETE', headers: { Accept: 'application/json' }, query: { force: 'true' } },
        `withdraw media ${mediaId}`,
      );
      const body = await readJson(response);
      if (response.status === 404 || response.status === 410) return; // already gone
      if (response.status !== 200) throw refusal(response.status, body, `withdraw media ${mediaId}`, site);
    },
  };
}

function isJson(response: Response): boolean {
  return /\bjson\b/i.test(response.headers.get('content-type') ?? '');
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function refusal(status: number, body: unknown, action: string, site: string): VeilError {
  const said = (body as { message?: unknown } | null)?.message;
  const detail = typeof said === 'string' ? ` WordPress said: "${said.replace(/<[^>]*>/g, '').slice(0, 300)}"` : '';
  const hint =
    status === 401
      ? ' Check WORDPRESS_USER and WORDPRESS_APP_PASSWORD (an application password, not the login password).'
      : status === 403
        ? ' The WordPress user needs a role that may upload files (Author or above).'
        : status === 413
          ? " The photo is larger than WordPress's upload limit (upload_max_filesize in PHP)."
          : status >= 300 && status < 400
            ? ' WordPress redirected the request: check that WORDPRESS_URL is the exact site address (https, www).'
            : '';
  return new VeilError('PUBLISH_FAILED', `Could not ${action}: WordPress at ${site} answered HTTP ${status}.${detail}${hint}`);
}

/** Header-safe: Veil's generated names already are, a kept uploader's name might not be. */
function safeFilename(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 120);
  return cleaned === '' ? 'photo' : cleaned;
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code === 'ENOTFOUND') return 'the host name does not resolve';
  if ((err as Error | null)?.name === 'TimeoutError') return 'no answer in time';
  return err instanceof Error ? err.message : String(err);
}
