/**
 * A minimal HTTP/1.1 GET client for the image fetcher that connects to an address the caller has
 * already checked, never to whatever a host name resolves to at connect time.
 *
 * Why not `fetch()`: fetch resolves the host name itself (so a DNS answer could change between our
 * check and its connect: DNS rebinding), honours HTTP(S)_PROXY from the environment (the proxy
 * would then resolve and connect for us, unchecked), decompresses bodies on its own, and has no
 * separate connect timeout. `Deno.createHttpClient({ proxy: { transport: "tcp" } })` pins the
 * address but sends proxy-style absolute-form request lines. Here the TCP connection goes to the
 * checked IP (`Deno.connect`), and for https the TLS session is started on that connection with
 * `Deno.startTls({ hostname })`, so SNI and certificate verification still use the URL's host name
 * (a certificate for the name is required, exactly as with fetch). Limits: HTTP/1.1 only
 * (`Connection: close`, one request per connection, no keep-alive pooling, no HTTP/2), no
 * `Content-Encoding` (we ask for `identity` and refuse anything else), no proxy support.
 *
 * @module
 */
import { ImageFetchError } from "./_image_fetch_error.ts";
import { describeFirstBytes, MAGIC_BYTES_NEEDED, magicImageFormat } from "./_image_fetch_magic.ts";

/** What one GET needs: the URL, the checked address to connect to, limits and abort signals. */
export interface Http1GetOptions {
  /** The http: or https: URL (its host name is used for Host, SNI and certificate checks). */
  url: URL;
  /** The already-checked IP address to connect to (IPv6 without brackets). */
  address: string;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Aborts the connect phase (TCP connect and TLS handshake); its reason is thrown. */
  connectSignal: AbortSignal;
  /** Aborts the whole exchange; its reason is thrown. */
  signal: AbortSignal;
  /** Extra PEM root certificates for https (tests with a self-signed certificate). */
  caCerts?: string[];
}

/** Result of one GET: a redirect to follow, or the complete body (already magic-checked). */
export type Http1GetResult =
  | { kind: "redirect"; status: number; location: string }
  | { kind: "image"; bytes: Uint8Array; contentType: string | null };

const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;
const READ_CHUNK_BYTES = 64 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CRLF = new Uint8Array([13, 10]);
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const latin1 = new TextDecoder("latin1");

/** The port a URL connects to (its explicit port, else the scheme's default). */
export function effectivePort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** Performs one GET of `options.url` on `options.address`; does not follow redirects. */
export async function http1Get(options: Http1GetOptions): Promise<Http1GetResult> {
  const { url, signal } = options;
  throwIfAborted(signal);
  const conn = await connect(options);
  const closeOnAbort = () => safeClose(conn);
  signal.addEventListener("abort", closeOnAbort, { once: true });
  try {
    return await exchange(conn, options);
  } catch (error) {
    throwIfAborted(signal);
    if (error instanceof ImageFetchError) throw error;
    throw new ImageFetchError(
      502,
      "upstream_failed",
      `reading the answer of ${url.origin} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    signal.removeEventListener("abort", closeOnAbort);
    safeClose(conn);
  }
}

async function connect(options: Http1GetOptions): Promise<Deno.Conn> {
  const { url, address, connectSignal } = options;
  const port = effectivePort(url);
  const where = `${url.hostname} (${address}) port ${port}`;
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname: address, port, signal: connectSignal });
  } catch (error) {
    throwIfAborted(connectSignal);
    const refused = error instanceof Deno.errors.ConnectionRefused;
    throw new ImageFetchError(
      502,
      refused ? "connection_refused" : "connect_failed",
      `could not connect to ${where}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (url.protocol !== "https:") return tcp;
  let tls: Deno.TlsConn | undefined;
  const closeOnAbort = () => safeClose(tls ?? tcp);
  connectSignal.addEventListener("abort", closeOnAbort, { once: true });
  try {
    throwIfAborted(connectSignal);
    tls = await Deno.startTls(tcp, {
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      caCerts: options.caCerts,
      alpnProtocols: ["http/1.1"],
    });
    await tls.handshake();
    throwIfAborted(connectSignal);
    return tls;
  } catch (error) {
    safeClose(tls ?? tcp);
    throwIfAborted(connectSignal);
    throw new ImageFetchError(
      502,
      "tls_failed",
      `TLS handshake with ${where} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    connectSignal.removeEventListener("abort", closeOnAbort);
  }
}

async function exchange(conn: Deno.Conn, options: Http1GetOptions): Promise<Http1GetResult> {
  const { url, maxBytes } = options;
  const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
    `Host: ${url.host}\r\n` +
    "User-Agent: autoscale-lab-image-fetcher/1\r\n" +
    "Accept: image/jpeg, image/png, image/webp, image/gif, */*;q=0.1\r\n" +
    "Accept-Encoding: identity\r\n" +
    "Connection: close\r\n\r\n";
  await writeAll(conn, new TextEncoder().encode(request));

  const reader = new ConnReader(conn);
  let head: ResponseHead;
  do {
    head = parseHead(await reader.readUntil(CRLFCRLF, MAX_HEAD_BYTES, "response head"), url);
  } while (head.status >= 100 && head.status < 200 && head.status !== 101); // skip 100, 103

  if (REDIRECT_STATUSES.has(head.status)) {
    const location = head.single("location");
    if (!location) {
      throw upstream("bad_redirect", `${url.href} answered ${head.status} without a Location`);
    }
    return { kind: "redirect", status: head.status, location };
  }
  if (head.status < 200 || head.status > 299) {
    throw upstream(
      "upstream_status",
      `${url.href} answered ${head.status} ${head.reason}`.trim() + " (expected 2xx)",
    );
  }
  const encoding = head.single("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw upstream(
      "upstream_protocol",
      `${url.href} sent Content-Encoding: ${encoding} although identity was asked for`,
    );
  }
  const contentType = head.single("content-type");
  const sink = new BodySink(maxBytes, url, contentType);
  const transfer = head.all("transfer-encoding").join(",").toLowerCase().split(",")
    .map((s) => s.trim()).filter((s) => s !== "");
  if (transfer.length > 0) {
    if (transfer.some((t) => t !== "chunked")) {
      throw upstream(
        "upstream_protocol",
        `${url.href} sent Transfer-Encoding: ${transfer.join(", ")} (only chunked is supported)`,
      );
    }
    await readChunked(reader, sink, url);
  } else {
    const lengths = [...new Set(head.all("content-length").flatMap((v) => v.split(",")))]
      .map((v) => v.trim());
    if (lengths.length > 1 || (lengths.length === 1 && !/^[0-9]{1,16}$/.test(lengths[0]))) {
      throw upstream(
        "upstream_protocol",
        `${url.href} sent an invalid Content-Length: ${lengths.join(", ")}`,
      );
    }
    if (lengths.length === 1) {
      const length = Number(lengths[0]);
      if (length > maxBytes) {
        throw new ImageFetchError(
          413,
          "too_large",
          `image at ${url.href} is ${length} bytes (Content-Length), over the limit of ${maxBytes} bytes`,
        );
      }
      // Pre-size for the declared length, but not beyond 1 MiB up front: a server that declares
      // 20 MB and sends nothing should not cost 20 MB of memory per request.
      sink.reserve(Math.min(length, 1 << 20));
      let left = length;
      while (left > 0) {
        const chunk = await reader.read(left);
        if (!chunk) {
          throw upstream(
            "upstream_protocol",
            `${url.href} closed the connection after ${length - left} of ${length} bytes`,
          );
        }
        sink.push(chunk);
        left -= chunk.length;
      }
    } else {
      for (let chunk = await reader.read(); chunk; chunk = await reader.read()) sink.push(chunk);
    }
  }
  return { kind: "image", bytes: sink.finish(), contentType };
}

async function readChunked(reader: ConnReader, sink: BodySink, url: URL): Promise<void> {
  for (;;) {
    const line = latin1.decode(await reader.readUntil(CRLF, MAX_CHUNK_LINE_BYTES, "chunk size"));
    const sizeText = line.split(";")[0].trim();
    if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) {
      throw upstream("upstream_protocol", `${url.href} sent a bad chunk size line "${line}"`);
    }
    const size = parseInt(sizeText, 16);
    if (size === 0) return; // trailers are ignored; the connection is closed after this
    sink.expect(size);
    let left = size;
    while (left > 0) {
      const chunk = await reader.read(left);
      if (!chunk) {
        throw upstream("upstream_protocol", `${url.href} closed the connection mid-chunk`);
      }
      sink.push(chunk);
      left -= chunk.length;
    }
    const end = await reader.readUntil(CRLF, 2, "chunk end");
    if (end.length !== 0) throw upstream("upstream_protocol", `${url.href} sent a malformed chunk`);
  }
}

interface ResponseHead {
  status: number;
  reason: string;
  all(name: string): string[];
  single(name: string): string | null;
}

function parseHead(bytes: Uint8Array, url: URL): ResponseHead {
  const lines = latin1.decode(bytes).split("\r\n");
  const statusLine = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: (.*))?$/.exec(lines[0]);
  if (!statusLine) {
    throw upstream(
      "upstream_protocol",
      `${url.origin} did not answer with HTTP/1.x (status line "${lines[0].slice(0, 80)}")`,
    );
  }
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw upstream("upstream_protocol", `${url.origin} sent a malformed header line`);
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(name, values);
  }
  return {
    status: Number(statusLine[1]),
    reason: statusLine[2] ?? "",
    all: (name) => headers.get(name) ?? [],
    single: (name) => headers.get(name)?.[0] ?? null,
  };
}

/** Collects the body, enforcing the size limit and the magic-byte check as bytes arrive. */
class BodySink {
  #buffer = new Uint8Array(0);
  #length = 0;
  #checked = false;

  constructor(
    private readonly maxBytes: number,
    private readonly url: URL,
    private readonly contentType: string | null,
  ) {}

  /** Pre-sizes the buffer for a declared length (already checked against the limit). */
  reserve(bytes: number): void {
    if (bytes > this.#buffer.length) this.#grow(bytes);
  }

  /** Refuses a declared chunk that would take the body over the limit, before reading it. */
  expect(bytes: number): void {
    if (this.#length + bytes > this.maxBytes) this.#tooLarge(this.#length + bytes);
  }

  push(chunk: Uint8Array): void {
    const length = this.#length + chunk.length;
    if (length > this.maxBytes) this.#tooLarge(length);
    if (length > this.#buffer.length) {
      this.#grow(Math.min(this.maxBytes, Math.max(length, this.#buffer.length * 2, 64 * 1024)));
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = length;
    if (!this.#checked && this.#length >= MAGIC_BYTES_NEEDED) this.#check();
  }

  finish(): Uint8Array {
    if (!this.#checked) this.#check();
    return this.#buffer.length === this.#length
      ? this.#buffer
      : this.#buffer.slice(0, this.#length);
  }

  #grow(capacity: number): void {
    const next = new Uint8Array(capacity);
    next.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = next;
  }

  #check(): void {
    this.#checked = true;
    const head = this.#buffer.subarray(0, Math.min(this.#length, MAGIC_BYTES_NEEDED));
    if (magicImageFormat(head)) return;
    const said = this.contentType ? `; the server said Content-Type: ${this.contentType}` : "";
    throw new ImageFetchError(
      415,
      "not_an_image",
      `content at ${this.url.href} is not a JPEG, PNG, WebP or GIF image ` +
        `(${describeFirstBytes(head)}${said})`,
    );
  }

  #tooLarge(atLeast: number): never {
    throw new ImageFetchError(
      413,
      "too_large",
      `image at ${this.url.href} is over the limit of ${this.maxBytes} bytes ` +
        `(stopped reading at ${atLeast} bytes)`,
    );
  }
}

/** Buffered reads from a connection. */
class ConnReader {
  #pending: Uint8Array = new Uint8Array(0);

  constructor(private readonly conn: Deno.Conn) {}

  async #readChunk(): Promise<Uint8Array | null> {
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    const n = await this.conn.read(buffer);
    return n === null ? null : buffer.subarray(0, n);
  }

  /** Bytes up to `delimiter` (consumed, not returned); refuses more than `maxBytes` before it. */
  async readUntil(delimiter: Uint8Array, maxBytes: number, what: string): Promise<Uint8Array> {
    let from = 0;
    for (;;) {
      const at = indexOf(this.#pending, delimiter, from);
      if (at > maxBytes) {
        // Checked here too: one read may bring the limit and the delimiter beyond it at once.
        throw upstream("upstream_protocol", `${what} longer than ${maxBytes} bytes`);
      }
      if (at >= 0) {
        const out = this.#pending.slice(0, at);
        this.#pending = this.#pending.subarray(at + delimiter.length);
        return out;
      }
      if (this.#pending.length > maxBytes + delimiter.length) {
        throw upstream("upstream_protocol", `${what} longer than ${maxBytes} bytes`);
      }
      from = Math.max(0, this.#pending.length - delimiter.length + 1);
      const chunk = await this.#readChunk();
      if (!chunk) throw upstream("upstream_protocol", `connection closed while reading ${what}`);
      const joined = new Uint8Array(this.#pending.length + chunk.length);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.length);
      this.#pending = joined;
    }
  }

  /** Up to `limit` next bytes (a view valid until the next call), or null at end of stream. */
  async read(limit = Infinity): Promise<Uint8Array | null> {
    if (this.#pending.length === 0) {
      const chunk = await this.#readChunk();
      if (!chunk) return null;
      this.#pending = chunk;
    }
    const n = Math.min(limit, this.#pending.length);
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const last = haystack.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

function upstream(code: string, message: string): ImageFetchError {
  return new ImageFetchError(502, code, message);
}

/** Throws the abort reason of `signal` when it has fired. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}

function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
