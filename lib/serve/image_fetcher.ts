/**
 * Image fetching that cannot be abused (issue 4, item 5): fetches the image a request names by
 * URI for a replica, refusing anything that would let a client reach internal services (SSRF)
 * or tie a replica up.
 *
 * - Only `http:`, `https:` and `data:` URIs; `data:` must be base64 or percent-encoded.
 * - Every host is resolved first (`Deno.resolveDns`, A and AAAA; IP literals as they are, after
 *   the URL parser has turned `2130706433`, `0177.0.0.1` or `0x7f000001` into `127.0.0.1`), and
 *   the host is refused when ANY of its addresses is loopback, private, link-local, CGNAT,
 *   multicast, unspecified, broadcast, reserved, cloud metadata, or an IPv6 form embedding such
 *   an IPv4 address (see `isRefusedAddress`). The connection then goes to the checked address
 *   itself, never to a second resolution, so DNS rebinding cannot swap it (see
 *   _image_fetch_http.ts for how, and for https how SNI and certificate checks still use the
 *   host name).
 * - Redirects are followed by hand, at most `maxRedirects` (5), each hop re-checked (scheme and
 *   address) exactly like the first.
 * - `allowedHosts` entries (`host` or `host:port`, `[v6]:port`) skip the address check for exactly
 *   those hosts (the load test serves its image from 127.0.0.1).
 * - Size limit on `Content-Length` and while streaming (the read stops at `maxBytes + 1`), a
 *   connect timeout (DNS + TCP + TLS of each hop) and a total timeout, content checked by magic
 *   bytes (JPEG, PNG, WebP, GIF), never by `Content-Type`.
 *
 * Known limits: names only listed in /etc/hosts do not resolve (Deno.resolveDns asks the DNS
 * servers; `localhost` works); no HTTP proxy support; HTTP/1.1 only, one connection per request.
 *
 * @module
 */
import { ImageFetchError } from "./_image_fetch_error.ts";
import { effectivePort, http1Get, throwIfAborted } from "./_image_fetch_http.ts";
import { describeFirstBytes, magicImageFormat } from "./_image_fetch_magic.ts";
import { parseIPv4, parseIPv6, refusedReason } from "./_ip_ranges.ts";

export { ImageFetchError } from "./_image_fetch_error.ts";
export type { ImageFetchStatus } from "./_image_fetch_error.ts";

/** Options of `fetchImage`. */
export interface FetchImageOptions {
  /** Largest image accepted, in bytes (user_config.max_image_bytes). */
  maxBytes: number;
  /** Total time allowed for the whole fetch, redirects included, in ms. */
  timeoutMs: number;
  /** Hosts that skip the address check: `host`, `host:port`, `[::1]:port` (allowed_image_hosts). */
  allowedHosts: string[];
  /**
   * Time allowed, per hop, for DNS resolution and again for TCP connect + TLS handshake, in ms
   * (default min(5000, timeoutMs)).
   */
  connectTimeoutMs?: number;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** Cancels the fetch (e.g. the client went away); it then fails with 504 `cancelled`. */
  signal?: AbortSignal;
  /** Extra PEM root certificates for https (a test server's self-signed certificate). */
  caCerts?: string[];
  /** Resolves a host name to IP addresses (default: Deno.resolveDns A + AAAA); for tests. */
  resolveHost?: (hostname: string, signal: AbortSignal) => Promise<string[]>;
}

/** Longest http(s) URI accepted, in characters. */
export const MAX_URI_LENGTH = 8192;
/** Default for `maxRedirects`. */
export const DEFAULT_MAX_REDIRECTS = 5;
/** Default ceiling for `connectTimeoutMs`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/**
 * Why connecting to `ip` is refused ("loopback", "private", "link-local", "cloud metadata",
 * "multicast", "unspecified", "broadcast", "CGNAT", "reserved", "IPv4-mapped IPv6 of loopback
 * (127.0.0.1)", "loopback (127.0.0.1 written as 2130706433)", ...), or `null` for an ordinary
 * public address. Anything that is not an IP address gives "not an IP address".
 */
export function isRefusedAddress(ip: string): string | null {
  return refusedReason(ip);
}

/**
 * Fetches the image `uri` names (http, https or data:) and returns its bytes, checked to start
 * like a JPEG, PNG, WebP or GIF. Throws `ImageFetchError` (400 bad URI or refused address, 413 too
 * large, 415 not an image, 502 upstream failed, 504 timeout); a bad `options` value throws
 * `TypeError` (a programming or config error, not the request's fault).
 */
export async function fetchImage(uri: string, options: FetchImageOptions): Promise<Uint8Array> {
  const { maxBytes, timeoutMs } = options;
  checkPositive("maxBytes", maxBytes);
  checkPositive("timeoutMs", timeoutMs);
  const connectTimeoutMs = options.connectTimeoutMs ??
    Math.min(DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs);
  checkPositive("connectTimeoutMs", connectTimeoutMs);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) {
    throw new TypeError(`fetchImage: maxRedirects must be an integer >= 0, got ${maxRedirects}`);
  }
  const allowed = parseAllowedHosts(options.allowedHosts);

  if (typeof uri !== "string" || uri.trim() === "") {
    throw new ImageFetchError(
      400,
      "bad_uri",
      "image URI is empty; expected an http(s) or data: URI",
    );
  }
  if (/^\s*data:/i.test(uri)) return decodeDataUri(uri.trim(), maxBytes);
  if (uri.length > MAX_URI_LENGTH) {
    throw new ImageFetchError(
      400,
      "uri_too_long",
      `image URI is ${uri.length} characters long, over the limit of ${MAX_URI_LENGTH}`,
    );
  }
  let url = parseHttpUrl(uri, "image URI");

  const total = new Deadline(
    timeoutMs,
    () =>
      new ImageFetchError(
        504,
        "timeout",
        `fetching ${shorten(uri)} took longer than ${timeoutMs} ms`,
      ),
    options.signal,
  );
  try {
    for (let hop = 0;; hop++) {
      const addresses = await checkedAddresses(
        url,
        allowed,
        options,
        connectTimeoutMs,
        total.signal,
      );
      const result = await connectAndGet(url, addresses, options, connectTimeoutMs, total.signal);
      if (result.kind === "image") return result.bytes;
      if (hop >= maxRedirects) {
        throw new ImageFetchError(
          502,
          "too_many_redirects",
          `${shorten(uri)} redirected more than ${maxRedirects} times (last hop ${url.href})`,
        );
      }
      let next: URL;
      try {
        next = new URL(result.location, url);
      } catch {
        throw new ImageFetchError(
          502,
          "bad_redirect",
          `${url.href} redirected to an invalid Location "${shorten(result.location)}"`,
        );
      }
      if (next.href.length > MAX_URI_LENGTH) {
        throw new ImageFetchError(
          502,
          "bad_redirect",
          `${url.href} redirected to a URI of ${next.href.length} characters, over the limit of ` +
            `${MAX_URI_LENGTH}`,
        );
      }
      url = parseHttpUrl(next.href, `redirect target of ${url.href}`);
    }
  } catch (error) {
    if (error instanceof ImageFetchError) throw error;
    if (total.signal.aborted) throw total.signal.reason;
    throw new ImageFetchError(502, "upstream_failed", `fetching ${shorten(uri)} failed: ${error}`, {
      cause: error,
    });
  } finally {
    total.dispose();
  }
}

/** Parses and checks an http(s) URL: scheme, no credentials, a host. */
function parseHttpUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ImageFetchError(
      400,
      "bad_uri",
      `${what} "${shorten(text)}" is not a valid URL; expected http://, https:// or data:`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ImageFetchError(
      400,
      "unsupported_scheme",
      `${what} "${shorten(text)}" uses ${url.protocol} which is not allowed; only http:, https: ` +
        "and data: URIs are fetched",
    );
  }
  if (url.username || url.password) {
    throw new ImageFetchError(
      400,
      "bad_uri",
      `${what} "${shorten(url.origin)}" contains credentials (user:password@), which are not sent`,
    );
  }
  if (!url.hostname) {
    throw new ImageFetchError(400, "bad_uri", `${what} "${shorten(text)}" has no host`);
  }
  return url;
}

interface AllowedHost {
  host: string;
  port: number | null;
}

function parseAllowedHosts(entries: string[]): AllowedHost[] {
  if (!Array.isArray(entries)) {
    throw new TypeError(`fetchImage: allowedHosts must be an array of host names, got ${entries}`);
  }
  return entries.map(parseAllowedHost);
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address -> normalized host + port. */
function parseAllowedHost(entry: string): AllowedHost {
  const bad = () =>
    new TypeError(
      `fetchImage: allowedHosts entry "${entry}" is not a host name or IP address with an ` +
        `optional :port (e.g. "127.0.0.1:8080", "images.example.com", "[::1]:8080")`,
    );
  if (typeof entry !== "string") throw bad();
  const text = entry.trim().toLowerCase();
  let host = text;
  let port: string | undefined;
  const bracketed = /^(\[[^\]]+\])(?::([0-9]+))?$/.exec(text);
  const colons = text.split(":").length - 1;
  if (bracketed) [, host, port] = bracketed;
  else if (colons === 1) [host, port] = text.split(":");
  else if (colons > 1) host = `[${text}]`;
  let normalized: string;
  try {
    normalized = new URL(`http://${host}/`).hostname;
  } catch {
    throw bad();
  }
  if (!normalized || (port !== undefined && !/^[0-9]{1,5}$/.test(port))) throw bad();
  const portNumber = port === undefined ? null : Number(port);
  if (portNumber !== null && (portNumber < 1 || portNumber > 65535)) throw bad();
  return { host: normalized.replace(/\.$/, ""), port: portNumber };
}

function isAllowed(url: URL, allowed: AllowedHost[]): boolean {
  const host = url.hostname.replace(/\.$/, "");
  const port = effectivePort(url);
  return allowed.some((a) => a.host === host && (a.port === null || a.port === port));
}

/** The addresses `url`'s host may be reached at; throws 400 when any of them is refused. */
async function checkedAddresses(
  url: URL,
  allowed: AllowedHost[],
  options: FetchImageOptions,
  connectTimeoutMs: number,
  signal: AbortSignal,
): Promise<string[]> {
  const hostname = url.hostname;
  const literal = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  let addresses: string[];
  if (parseIPv4(literal) || parseIPv6(literal)) {
    addresses = [literal];
  } else {
    const dns = new Deadline(
      connectTimeoutMs,
      () =>
        new ImageFetchError(
          504,
          "connect_timeout",
          `resolving ${hostname} took longer than ${connectTimeoutMs} ms`,
        ),
      signal,
    );
    try {
      // A and AAAA are asked in parallel; when one has answered and the other is still pending at
      // the deadline, the answers at hand are used (only checked addresses are ever connected to).
      addresses = await (options.resolveHost ?? resolveHost)(hostname, dns.signal);
      throwIfAborted(signal);
    } catch (error) {
      throwIfAborted(signal);
      if (dns.signal.aborted) throw dns.signal.reason;
      if (error instanceof ImageFetchError) throw error;
      const why = error instanceof Error ? error.message : String(error);
      throw new ImageFetchError(502, "dns_failure", `could not resolve ${hostname}: ${why}`, {
        cause: error,
      });
    } finally {
      dns.dispose();
    }
    if (addresses.length === 0) {
      throw new ImageFetchError(502, "dns_failure", `${hostname} has no A or AAAA records`);
    }
  }
  if (isAllowed(url, allowed)) return addresses;
  for (const address of addresses) {
    const reason = refusedReason(address);
    if (reason) {
      const via = address === literal ? "" : ` (${hostname} resolves to ${address})`;
      throw new ImageFetchError(
        400,
        "refused_address",
        `image URI host ${hostname}${via} is refused (${reason} address); only public ` +
          `addresses are fetched unless the host is listed in allowed_image_hosts`,
      );
    }
  }
  return addresses;
}

async function resolveHost(hostname: string, signal: AbortSignal): Promise<string[]> {
  const name = hostname.replace(/\.$/, "");
  const lookups = await Promise.allSettled([
    Deno.resolveDns(name, "A", { signal }),
    Deno.resolveDns(name, "AAAA", { signal }),
  ]);
  const found = lookups.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
  if (found.length === 0) {
    const failure = lookups.find((r) =>
      r.status === "rejected" && !(r.reason instanceof Deno.errors.NotFound)
    ) as PromiseRejectedResult | undefined;
    throw new Error(failure ? String(failure.reason) : "no A or AAAA records (no such host)");
  }
  return found;
}

/** Most addresses of one host tried in turn (each with its own connect timeout). */
const MAX_ADDRESSES_TRIED = 4;

/**
 * Tries the checked addresses in order (IPv4 first) until one connects, each within
 * `connectTimeoutMs`, then GETs `url` from it; the total timeout bounds it all.
 */
async function connectAndGet(
  url: URL,
  addresses: string[],
  options: FetchImageOptions,
  connectTimeoutMs: number,
  signal: AbortSignal,
) {
  const candidates = addresses.slice(0, MAX_ADDRESSES_TRIED);
  let lastError: unknown;
  for (const [i, address] of candidates.entries()) {
    const connectDeadline = new Deadline(
      connectTimeoutMs,
      () =>
        new ImageFetchError(
          504,
          "connect_timeout",
          `connecting to ${url.host} (${address}) took longer than ${connectTimeoutMs} ms`,
        ),
      signal,
    );
    try {
      return await http1Get({
        url,
        address,
        maxBytes: options.maxBytes,
        connectSignal: connectDeadline.signal,
        signal,
        caCerts: options.caCerts,
      });
    } catch (error) {
      const connectFailed = error instanceof ImageFetchError &&
        ["connection_refused", "connect_failed", "connect_timeout"].includes(error.code);
      if (!connectFailed || signal.aborted || i === candidates.length - 1) throw error;
      lastError = error;
    } finally {
      connectDeadline.dispose();
    }
  }
  throw lastError;
}

/** An abort signal that fires after `ms` (with `reason()`) or when `parent` fires. */
class Deadline {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #parent?: AbortSignal;
  readonly #onParentAbort = () => {
    const reason = this.#parent!.reason;
    this.#controller.abort(
      reason instanceof ImageFetchError
        ? reason
        : new ImageFetchError(504, "cancelled", "image fetch was cancelled", { cause: reason }),
    );
  };

  constructor(ms: number, reason: () => ImageFetchError, parent?: AbortSignal) {
    // setTimeout fires at once for delays over 2^31-1 ms; clamp (~24.8 days is "never" here).
    this.#timer = setTimeout(() => this.#controller.abort(reason()), Math.min(ms, 2 ** 31 - 1));
    this.#parent = parent;
    if (parent?.aborted) this.#onParentAbort();
    else parent?.addEventListener("abort", this.#onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#parent?.removeEventListener("abort", this.#onParentAbort);
  }
}

/** Decodes a `data:` URI (base64 or percent-encoded) into image bytes. */
function decodeDataUri(uri: string, maxBytes: number): Uint8Array {
  // Percent-encoding takes at most 3 characters per byte, base64 4 per 3: anything longer than
  // this cannot decode to <= maxBytes, so it is refused before any work.
  if (uri.length > maxBytes * 3 + 1024) {
    throw new ImageFetchError(
      413,
      "too_large",
      `data: URI is ${uri.length} characters long, more than an image of at most ${maxBytes} ` +
        "bytes can take",
    );
  }
  const comma = uri.indexOf(",");
  if (comma < 0 || comma > 1024) {
    throw new ImageFetchError(
      400,
      "bad_data_uri",
      `data: URI "${shorten(uri)}" has no "," after its media type; expected ` +
        `data:image/png;base64,<base64 data>`,
    );
  }
  const meta = uri.slice(5, comma);
  let payload = uri.slice(comma + 1);
  const hash = payload.indexOf("#");
  if (hash >= 0) payload = payload.slice(0, hash);
  let bytes: Uint8Array;
  if (/;\s*base64\s*$/i.test(meta)) {
    if (payload.includes("%")) payload = latin1String(percentDecode(payload, Infinity));
    payload = payload.replace(/[\t\n\f\r ]/g, "");
    const body = payload.replace(/={1,2}$/, "");
    if (
      !/^[A-Za-z0-9+/]*$/.test(body) || body.length % 4 === 1 ||
      (body.length !== payload.length && payload.length % 4 !== 0)
    ) {
      throw new ImageFetchError(
        400,
        "bad_data_uri",
        "data: URI says ;base64 but its data is not valid base64 (characters A-Z a-z 0-9 + / " +
          "with = padding)",
      );
    }
    const decodedLength = Math.floor((body.length * 3) / 4);
    if (decodedLength > maxBytes) {
      throw new ImageFetchError(
        413,
        "too_large",
        `data: URI holds ${decodedLength} bytes, over the limit of ${maxBytes} bytes`,
      );
    }
    bytes = base64Decode(body);
  } else {
    bytes = percentDecode(payload, maxBytes);
  }
  if (!magicImageFormat(bytes)) {
    throw new ImageFetchError(
      415,
      "not_an_image",
      `data: URI content is not a JPEG, PNG, WebP or GIF image (${describeFirstBytes(bytes)})`,
    );
  }
  return bytes;
}

/** Percent-decodes `text` to bytes (other characters as their UTF-8 bytes), at most `maxBytes`. */
function percentDecode(text: string, maxBytes: number): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  const out = new Uint8Array(utf8.length);
  let n = 0;
  for (let i = 0; i < utf8.length; i++) {
    let byte = utf8[i];
    if (byte === 0x25) { // %
      const hex = String.fromCharCode(utf8[i + 1] ?? 0, utf8[i + 2] ?? 0);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new ImageFetchError(
          400,
          "bad_data_uri",
          `data: URI has a bad percent-escape at character ${i}; expected %XX with two hex digits`,
        );
      }
      byte = parseInt(hex, 16);
      i += 2;
    }
    if (n >= maxBytes) {
      throw new ImageFetchError(
        413,
        "too_large",
        `data: URI holds more than the limit of ${maxBytes} bytes`,
      );
    }
    out[n++] = byte;
  }
  return out.slice(0, n);
}

function latin1String(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

function base64Decode(text: string): Uint8Array {
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array })
    .fromBase64;
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  if (fromBase64) return fromBase64(padded);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function checkPositive(name: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`fetchImage: ${name} must be a positive number, got ${value}`);
  }
}

function shorten(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}
