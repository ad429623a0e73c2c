/**
 * The `Host` request header, checked before anything parses the URL that Deno builds from it:
 * `Deno.serve` forwards any bytes a client puts there (`[`, `a b`, `%`, `a:b:c`, even `a/b`), and
 * `new URL(req.url)` then throws (a 500) or a `/` in the host shifts the path a router sees.
 *
 * @module
 */

/**
 * RFC 3986 `host [ ":" port ]`: an IP literal in brackets, or a reg-name / IPv4 of unreserved
 * characters, sub-delims and `%XX` escapes, then an optional decimal port.
 */
const HOST_HEADER =
  /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]{0,5})?$/;

/**
 * Why a request's `Host` header is malformed, or null when it is well formed (or absent, as
 * HTTP/1.0 allows). The message quotes the value (at most 80 characters) and says what is wrong.
 */
export function hostHeaderProblem(req: Request): string | null {
  const host = req.headers.get("host");
  if (host === null || HOST_HEADER.test(host)) return null;
  return `the Host header ${
    JSON.stringify(host.slice(0, 80))
  } is malformed: expected host[:port] (a name, an IPv4 address or an [IPv6] literal, then ` +
    `an optional decimal port)`;
}
