/** A 502 that says what went wrong in words a school's IT technician can act on (every forwarder uses it). */
export function badGateway(reason: string): Response {
  return new Response(`502 Bad Gateway: Veil could not get an answer from the website's server: ${reason}.\n`, {
    status: 502,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  });
}
