/** Where and how a request goes to the CMS: rules every forwarder (node:http, fetch) follows alike. */

/**
 * HTTP/1.1 says a request has a body when it has Content-Length or Transfer-Encoding. A Web
 * Request built in code may carry a stream without either; then it is sent chunked.
 */
export function requestHasBody(req: Request): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || !req.body) return false;
  if (req.headers.has('transfer-encoding') || req.headers.has('content-length')) return true;
  return !['DELETE', 'OPTIONS', 'TRACE'].includes(req.method);
}

/** The upstream base path (if any) followed by the request-target as the client sent it. */
export function upstreamPath(upstream: URL, req: Request, rawTarget: string | undefined): string {
  const base = upstream.pathname.replace(/\/+$/, '');
  let target = rawTarget;
  if (!target || !target.startsWith('/') || /[^\u0021-\u00ff]/.test(target)) {
    const url = new URL(req.url);
    target = url.pathname + url.search;
  }
  return base + target;
}
