/** The words of a 502 that says what went wrong, for a school's IT technician to act on. */
export function badGatewayText(reason: string): string {
  return `502 Bad Gateway: Veil could not get an answer from the website's server: ${reason}.\n`;
}

export const BAD_GATEWAY_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } as const;

/** A 502 as a Web Response (every forwarder uses it; the Node pass-through writes the same words). */
export function badGateway(reason: string): Response {
  return new Response(badGatewayText(reason), { status: 502, headers: BAD_GATEWAY_HEADERS });
}
