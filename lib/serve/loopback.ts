/**
 * Whether a host name or address is this machine's loopback: the one test behind the admin
 * API's write rule, deploy's `--dashboard-host` check and the `auto` HTTP listener.
 *
 * @module
 */

/**
 * True for `localhost`, `::1` (bracketed or not) and any `127.x.y.z`.
 *
 * ```ts
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("[::1]"); // true
 * isLoopbackHost("0.0.0.0"); // false: every interface
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
