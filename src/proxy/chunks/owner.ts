/**
 * Who an assembly belongs to, as a digest (no cookie is kept): the session cookie the protocol
 * names, else the Authorization header, else a per-session token the request carries. A piece
 * sent under another session finds nothing, even with the right id.
 */
export async function ownerKey(headers: Headers, sessionCookie: RegExp, token?: string): Promise<string> {
  const sessions: string[] = [];
  for (const pair of (headers.get('cookie') ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && sessionCookie.test(pair.slice(0, eq).trim())) sessions.push(pair.trim());
  }
  const basis = sessions.length > 0 ? `cookie:${sessions.sort().join(';')}` : headers.has('authorization') ? `auth:${headers.get('authorization')}` : `token:${token ?? ''}`;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(basis));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
