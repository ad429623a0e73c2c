/**
 * A small, fast HTTP/1.1 client over `Deno.connect`: one keep-alive connection per user (like
 * Locust's FastHttpUser), the request's bytes encoded once and reused, responses parsed with
 * Content-Length, chunked or close-delimited bodies (the body is counted, not kept). Failures
 * are reported with the error text Locust's `HttpUser` (python-requests + urllib3 2.x) writes to
 * `_failures.csv`, so our failure rows read like a real Locust run's.
 *
 * @module
 */

/** Where requests go. */
export interface HttpTarget {
  /** Host name or IP to connect to. */
  hostname: string;
  /** TCP port. */
  port: number;
  /** `Host` header value. */
  hostHeader: string;
  /** `http://host:port` as python-requests prints it (no trailing slash). */
  origin: string;
}

/** Parses a `--host` URL (http only). Throws a TypeError naming what was wrong. */
export function parseTarget(url: string): HttpTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`--host must be a URL like http://127.0.0.1:8000, got "${url}"`);
  }
  if (u.protocol !== "http:") {
    throw new TypeError(
      `--host must use http:// (the built-in client speaks plain HTTP/1.1), got "${url}"`,
    );
  }
  const port = u.port ? Number(u.port) : 80;
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  return {
    hostname,
    port,
    hostHeader: u.port ? `${u.hostname}:${u.port}` : u.hostname,
    origin: `http://${u.hostname}${u.port ? `:${u.port}` : ""}`,
  };
}

/** A request ready to send many times. */
export interface PreparedRequest {
  /** HTTP method. */
  method: string;
  /** Path with query (`/`). */
  path: string;
  /** Stats entry name (Locust's `name=`, default the path); HTTP error texts use it. */
  name: string;
  /** The whole request, encoded once. */
  bytes: Uint8Array;
}

/** Encodes a request (headers as python-requests would send them, plus our User-Agent). */
export function prepareRequest(
  target: HttpTarget,
  request: {
    method: string;
    path: string;
    name?: string;
    body?: Uint8Array | null;
    contentType?: string | null;
  },
): PreparedRequest {
  const body = request.body ?? null;
  let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\n` +
    `User-Agent: autoscale-lab-loadgen\r\nAccept: */*\r\nConnection: keep-alive\r\n`;
  if (body !== null) {
    if (request.contentType) head += `Content-Type: ${request.contentType}\r\n`;
    head += `Content-Length: ${body.byteLength}\r\n`;
  } else if (request.method === "POST" || request.method === "PUT") {
    head += "Content-Length: 0\r\n";
  }
  head += "\r\n";
  const headBytes = new TextEncoder().encode(head);
  const bytes = new Uint8Array(headBytes.byteLength + (body?.byteLength ?? 0));
  bytes.set(headBytes, 0);
  if (body) bytes.set(body, headBytes.byteLength);
  return { method: request.method, path: request.path, name: request.name ?? request.path, bytes };
}

/** The outcome of one request. */
export interface HttpResult {
  /** HTTP status, 0 when no response arrived. */
  status: number;
  /** Response body bytes (0 without a response). */
  contentLength: number;
  /** Locust's error text, or `undefined` on success (2xx/3xx). */
  error?: string;
  /** The kind of failure, for summaries. */
  errorKind?: "http" | "refused" | "timeout" | "reset" | "protocol";
}

const CRLFCRLF = [13, 10, 13, 10];
const latin1 = new TextDecoder("latin1");

function indexOfHeaderEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = Math.max(from, 0); i + 3 < to; i++) {
    if (
      buf[i] === CRLFCRLF[0] && buf[i + 1] === CRLFCRLF[1] && buf[i + 2] === CRLFCRLF[2] &&
      buf[i + 3] === CRLFCRLF[3]
    ) return i;
  }
  return -1;
}

function pyTimeout(seconds: number): string {
  return String(seconds); // 10 -> "10", 2.5 -> "2.5", as Python prints the value given
}

/**
 * Locust's `HttpUser` error texts (locust/clients.py @ 407343d0 with python-requests 2.x and
 * urllib3 2.x). Since Locust 2.14 `raise_for_status()` runs with the URL set to the request's
 * *name*, so HTTP errors read `for url: /`; connection errors are unwrapped down to the first
 * exception that is not a requests/urllib3 wrapper (`ConnectionRefusedError(111, ...)`).
 * Checked against a real Locust run for the 503, timeout and refused cases.
 */
export const locustErrors = {
  /** `raise_for_status()` on a 4xx/5xx response; `name` is the stats entry name (the path). */
  http(_target: HttpTarget, name: string, status: number, reason: string): string {
    const kind = status >= 500 ? "Server Error" : "Client Error";
    const text = `${status} ${kind}: ${reason} for url: ${name}`;
    return `HTTPError(${text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text}'`})`;
  },
  /** Connection refused (unwrapped from ConnectionError > MaxRetryError > NewConnectionError). */
  refused(): string {
    return "ConnectionRefusedError(111, 'Connection refused')";
  },
  /** No response within the timeout (requests' ReadTimeout is not unwrapped). */
  timeout(target: HttpTarget, timeoutS: number): string {
    return `ReadTimeout(ReadTimeoutError("HTTPConnectionPool(host='${target.hostname}', port=${target.port}): ` +
      `Read timed out. (read timeout=${pyTimeout(timeoutS)})"))`;
  },
  /** The server closed the connection before answering (unwrapped from ProtocolError). */
  disconnected(): string {
    return "RemoteDisconnected('Remote end closed connection without response')";
  },
  /** The server reset the connection (unwrapped from ProtocolError). */
  reset(): string {
    return "ConnectionResetError(104, 'Connection reset by peer')";
  },
  /** The body ended before its announced length. */
  prematureEnd(): string {
    return "ChunkedEncodingError(ProtocolError('Response ended prematurely'))";
  },
};

/** Thrown internally when the peer closed before a byte of the response arrived. */
class EarlyEof extends Error {}

/**
 * One keep-alive connection. Not reentrant: one request at a time (a closed-loop user, or one
 * open-loop iteration). {@linkcode HttpConnection.abort} closes it from outside (timeouts).
 */
export class HttpConnection {
  readonly #target: HttpTarget;
  #conn: Deno.TcpConn | null = null;
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  #aborted: "timeout" | "stop" | null = null;

  /** A connection to `target` (opened lazily). */
  constructor(target: HttpTarget) {
    this.#target = target;
  }

  /** Closes the socket; a request in flight fails as a timeout (`reason` "timeout") or silently. */
  abort(reason: "timeout" | "stop"): void {
    this.#aborted = reason;
    this.#close();
  }

  /** Closes the socket for good. */
  close(): void {
    this.#close();
  }

  /** Sends `req` and reads the whole response. Never throws; failures come back in the result. */
  async send(req: PreparedRequest, timeoutS: number): Promise<HttpResult> {
    this.#aborted = null;
    const reused = this.#conn !== null;
    try {
      return await this.#attempt(req);
    } catch (e) {
      if (e instanceof EarlyEof && reused && this.#aborted === null) {
        // A stale keep-alive connection the server had closed: retry once on a fresh one,
        // as urllib3 does.
        this.#close();
        try {
          return await this.#attempt(req);
        } catch (e2) {
          return this.#failure(e2, timeoutS);
        }
      }
      return this.#failure(e, timeoutS);
    }
  }

  #failure(e: unknown, timeoutS: number): HttpResult {
    this.#close();
    const t = this.#target;
    if (this.#aborted === "timeout") {
      return {
        status: 0,
        contentLength: 0,
        error: locustErrors.timeout(t, timeoutS),
        errorKind: "timeout",
      };
    }
    if (e instanceof Deno.errors.ConnectionRefused) {
      return {
        status: 0,
        contentLength: 0,
        error: locustErrors.refused(),
        errorKind: "refused",
      };
    }
    if (e instanceof EarlyEof) {
      return {
        status: 0,
        contentLength: 0,
        error: locustErrors.disconnected(),
        errorKind: "reset",
      };
    }
    if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) {
      return { status: 0, contentLength: 0, error: locustErrors.reset(), errorKind: "reset" };
    }
    if (e instanceof PrematureEnd) {
      return {
        status: e.status,
        contentLength: 0,
        error: locustErrors.prematureEnd(),
        errorKind: "protocol",
      };
    }
    const msg = (e as Error)?.message ?? String(e);
    return {
      status: 0,
      contentLength: 0,
      error: `ConnectionError(${JSON.stringify(msg)})`,
      errorKind: "protocol",
    };
  }

  #close(): void {
    if (this.#conn) {
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
      this.#conn = null;
    }
    this.#start = this.#end = 0;
  }

  async #attempt(req: PreparedRequest): Promise<HttpResult> {
    if (this.#conn === null) {
      this.#conn = await Deno.connect({ hostname: this.#target.hostname, port: this.#target.port });
      this.#conn.setNoDelay(true);
      if (this.#aborted) throw new Error("aborted");
    }
    const conn = this.#conn;
    let off = 0;
    while (off < req.bytes.byteLength) off += await conn.write(req.bytes.subarray(off));
    // Read the head.
    if (this.#start === this.#end) this.#start = this.#end = 0;
    let headerEnd = -1;
    let scanned = 0; // bytes past #start already searched (#fill may move the data)
    let gotAny = this.#end > this.#start;
    while (
      (headerEnd = indexOfHeaderEnd(
        this.#buf,
        Math.max(this.#start, this.#start + scanned - 3),
        this.#end,
      )) < 0
    ) {
      scanned = this.#end - this.#start;
      const n = await this.#fill(conn);
      if (n === null) {
        if (!gotAny) throw new EarlyEof("closed before the response");
        throw new PrematureEnd(0);
      }
      gotAny = true;
    }
    const head = latin1.decode(this.#buf.subarray(this.#start, headerEnd));
    this.#start = headerEnd + 4;
    const lineEnd = head.indexOf("\r\n");
    const statusLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(m[1]);
    const reason = m[2] ?? "";
    let contentLength = -1;
    let chunked = false;
    let close = statusLine.startsWith("HTTP/1.0");
    if (lineEnd >= 0) {
      for (const line of head.slice(lineEnd + 2).split("\r\n")) {
        const c = line.indexOf(":");
        if (c < 0) continue;
        const name = line.slice(0, c).trim().toLowerCase();
        const value = line.slice(c + 1).trim().toLowerCase();
        if (name === "content-length") contentLength = Number(value);
        else if (name === "transfer-encoding") chunked = value.includes("chunked");
        else if (name === "connection") {
          close = value === "close" ? true : value === "keep-alive" ? false : close;
        }
      }
    }
    let bodyBytes = 0;
    if (
      req.method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)
    ) {
      bodyBytes = 0;
    } else if (chunked) {
      bodyBytes = await this.#readChunked(conn, status);
    } else if (contentLength >= 0) {
      bodyBytes = await this.#readFixed(conn, contentLength, status);
    } else {
      // Close-delimited body.
      bodyBytes = this.#end - this.#start;
      this.#start = this.#end = 0;
      while ((await this.#fill(conn)) !== null) {
        bodyBytes += this.#end - this.#start;
        this.#start = this.#end = 0;
      }
      close = true;
    }
    if (close) this.#close();
    const result: HttpResult = { status, contentLength: bodyBytes };
    if (status >= 400) {
      result.error = locustErrors.http(this.#target, req.name, status, reason);
      result.errorKind = "http";
    }
    return result;
  }

  /** Reads more bytes into the buffer; `null` at EOF. */
  async #fill(conn: Deno.TcpConn): Promise<number | null> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.byteLength) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const bigger = new Uint8Array(this.#buf.byteLength * 2);
        bigger.set(this.#buf.subarray(0, this.#end));
        this.#buf = bigger;
      }
    }
    const n = await conn.read(this.#buf.subarray(this.#end));
    if (n === null) return null;
    this.#end += n;
    return n;
  }

  async #readFixed(conn: Deno.TcpConn, length: number, status: number): Promise<number> {
    let remaining = length;
    while (true) {
      const have = this.#end - this.#start;
      if (have >= remaining) {
        this.#start += remaining;
        return length;
      }
      remaining -= have;
      this.#start = this.#end = 0;
      if ((await this.#fill(conn)) === null) throw new PrematureEnd(status);
    }
  }

  async #readLine(conn: Deno.TcpConn, status: number): Promise<string> {
    while (true) {
      for (let i = this.#start; i + 1 < this.#end; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
          const line = latin1.decode(this.#buf.subarray(this.#start, i));
          this.#start = i + 2;
          return line;
        }
      }
      if ((await this.#fill(conn)) === null) throw new PrematureEnd(status);
    }
  }

  async #readChunked(conn: Deno.TcpConn, status: number): Promise<number> {
    let total = 0;
    while (true) {
      const sizeLine = await this.#readLine(conn, status);
      const size = parseInt(sizeLine.split(";")[0].trim(), 16);
      if (!Number.isFinite(size)) throw new PrematureEnd(status);
      if (size === 0) {
        // Trailers until an empty line.
        while ((await this.#readLine(conn, status)) !== "");
        return total;
      }
      await this.#readFixed(conn, size, status);
      total += size;
      await this.#readLine(conn, status); // CRLF after the chunk
    }
  }
}

/** The body ended before it was complete. */
class PrematureEnd extends Error {
  /** Status of the response whose body was cut. */
  status: number;
  /** Creates the error. */
  constructor(status: number) {
    super("response ended prematurely");
    this.status = status;
  }
}
