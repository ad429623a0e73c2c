/**
 * The service's HTTP listener: serves a fetch-style handler (web `Request` -> `Response`) over
 * `node:http`, which gives what `Deno.serve` (2.9.6) does not:
 *
 * - a header deadline (`http_options.header_timeout_s`): a connection that has not sent its
 *   complete request head in time gets `408` and is closed (node's `headersTimeout`);
 * - a cap on connections that have not sent a complete request head yet
 *   (`http_options.max_pending_connections`): past it, new connections are closed at once;
 * - socket control: a response that says `Connection: close` (the 408/413/incomplete-body paths),
 *   or one sent before its request's body was read to the end, closes the connection after it is
 *   written, instead of keeping it open (and reading) for the rest of the body;
 * - `http_options.keep_alive_timeout_s` is honoured for idle keep-alive connections.
 *
 * Request bodies are streamed to the handler as a byte stream (BYOB-readable), one socket chunk
 * at a time with back-pressure: nothing is buffered ahead of the handler's reads, and cancelling the
 * stream stops reading from the socket.
 *
 * Deno's node:http costs more CPU per request than `Deno.serve` (measured in
 * docs/hostile_clients.md), so `http_options.listener: auto` (the default) uses it only on a
 * non-loopback host, where hostile clients can reach the service; `node` or `deno` force one.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { HttpListenerKind, HttpOptions } from "../config/mod.ts";
import { isLoopbackHost } from "./loopback.ts";

/** What the service needs of a running listener (the part of `Deno.HttpServer` it uses). */
export interface HttpListener {
  /** The address actually bound. */
  readonly addr: { hostname: string; port: number };
  /** Stops accepting, lets in-flight requests finish, closes idle connections. */
  shutdown(): Promise<void>;
  /** Resolves once the listener is closed and every connection has ended. */
  readonly finished: Promise<void>;
}

/** Counters of the node listener, for tests and benchmarks. */
export interface ListenerStats {
  /** Connections open that have not sent a complete request head yet. */
  pendingConnections: number;
  /** Connections closed on arrival because `max_pending_connections` were pending. */
  refusedConnections: number;
}

/** Options of {@link serveHttp}: `Deno.serve`'s that the service uses, plus `http_options`. */
export interface ServeHttpOptions {
  hostname: string;
  port: number;
  /** The listener fields of `http_options`. */
  http: Pick<
    HttpOptions,
    "listener" | "header_timeout_s" | "max_pending_connections" | "keep_alive_timeout_s"
  >;
  /** Called with the bound address before {@link serveHttp} resolves. */
  onListen?: (addr: { hostname: string; port: number }) => void;
  /** Answer for a handler that threw. */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** Receives the node listener's counters (not called for `listener: deno`). */
  onStats?: (stats: () => ListenerStats) => void;
}

/** A fetch-style handler. */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

/**
 * The listener `http_options.listener` means on `hostname`: `auto` is `Deno.serve` on a loopback
 * host (the lab's default, where only this machine's clients reach it and speed matters) and the
 * hardened node listener on any other (where hostile clients can reach it).
 */
export function resolveListenerKind(
  kind: HttpListenerKind,
  hostname: string,
): Exclude<HttpListenerKind, "auto"> {
  if (kind !== "auto") return kind;
  return isLoopbackHost(hostname) ? "deno" : "node";
}

/** Starts the listener `options.http.listener` names and resolves once it is bound. */
export function serveHttp(options: ServeHttpOptions, handler: FetchHandler): Promise<HttpListener> {
  if (resolveListenerKind(options.http.listener, options.hostname) === "deno") {
    const { hostname, port, onListen, onError } = options;
    return Promise.resolve(Deno.serve({ hostname, port, onListen, onError }, handler));
  }
  return serveNodeHttp(options, handler);
}

/** The header deadline's check runs this often (node's default, 30 s, would overshoot it). */
function checkIntervalMs(headerTimeoutMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(headerTimeoutMs / 10)));
}

function serveNodeHttp(options: ServeHttpOptions, handler: FetchHandler): Promise<HttpListener> {
  const headerTimeoutMs = options.http.header_timeout_s * 1000;
  const maxPending = options.http.max_pending_connections;
  const onError = options.onError ??
    ((error: unknown) => new Response(`internal error: ${error}`, { status: 500 }));
  const server = createServer({
    headersTimeout: headerTimeoutMs,
    // The body's deadline is the handler's (408 with Connection: close); 0 turns node's off.
    requestTimeout: 0,
    keepAliveTimeout: options.http.keep_alive_timeout_s * 1000,
    connectionsCheckingInterval: checkIntervalMs(headerTimeoutMs),
  });
  /** Connections without a complete request head yet. */
  const pending = new Set<Socket>();
  /** Requests being answered, per connection (idle keep-alive connections are at 0). */
  const active = new Map<Socket, number>();
  let refused = 0;
  let closing = false;
  options.onStats?.(() => ({ pendingConnections: pending.size, refusedConnections: refused }));

  server.on("connection", (socket: Socket) => {
    if (closing || pending.size >= maxPending) {
      refused++;
      socket.destroy();
      return;
    }
    pending.add(socket);
    active.set(socket, 0);
    socket.once("close", () => {
      pending.delete(socket);
      active.delete(socket);
    });
  });

  let origin = "";
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    pending.delete(socket);
    active.set(socket, (active.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const n = (active.get(socket) ?? 1) - 1;
      if (active.has(socket)) active.set(socket, n);
      if (closing && n === 0) socket.destroy();
    });
    answer(req, res, origin, handler, onError, () => closing).catch(() => socket.destroy());
  });

  const finished = new Promise<void>((resolve) => server.once("close", () => resolve()));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      const bound = server.address() as { address: string; port: number };
      const addr = { hostname: bound.address, port: bound.port };
      const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      origin = `http://${host}:${addr.port}`;
      options.onListen?.(addr);
      resolve({
        addr,
        finished,
        shutdown() {
          closing = true;
          server.close();
          for (const [socket, n] of active) if (n === 0) socket.destroy();
          return finished;
        },
      });
    });
  });
}

/** Runs the handler for one request and writes its response. */
async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  origin: string,
  handler: FetchHandler,
  onError: (error: unknown) => Response | Promise<Response>,
  closing: () => boolean,
): Promise<void> {
  const body = hasBody(req) ? new NodeBodySource(req) : null;
  let response: Response;
  const request = toRequest(req, origin, body);
  if (request === null) {
    const detail = `the request target ${
      JSON.stringify(req.url?.slice(0, 80))
    } is not a path or an absolute http URL`;
    response = Response.json({ error: "bad_request_target", detail }, {
      status: 400,
      headers: { connection: "close" },
    });
  } else {
    try {
      response = await handler(request);
    } catch (error) {
      response = await onError(error);
    }
  }
  // A body not read to its end is not drained: the connection closes after the answer.
  const close = closing() || !req.complete ||
    response.headers.get("connection")?.toLowerCase() === "close";
  if (close) {
    body?.stop();
    res.once("finish", () => endSocket(req.socket));
  }
  await writeResponse(res, response, close);
}

/** Ends the connection once what was written has gone out. */
function endSocket(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once("finish", () => socket.destroy());
}

function hasBody(req: IncomingMessage): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined ||
    (length !== undefined && length !== "0");
}

/** The web `Request` for a node request, or null when its target is not a path or a URL. */
function toRequest(
  req: IncomingMessage,
  origin: string,
  body: NodeBodySource | null,
): Request | null {
  const target = req.url ?? "";
  try {
    const headers = new Headers();
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    // The origin is the bound address, not the Host header (the handler checks that one itself).
    const url = target.startsWith("/") ? origin + target : new URL(target).href;
    return new Request(url, {
      method: req.method,
      headers,
      body: body ? body.stream : null,
    });
  } catch {
    return null;
  }
}

/**
 * A node request body as a web byte stream: one socket chunk is copied in per read (a copy, as
 * node's chunk may share its buffer), the socket is paused whenever nobody is reading, and
 * cancelling pauses it for good.
 */
class NodeBodySource {
  readonly stream: ReadableStream<Uint8Array>;
  #stopped = false;
  readonly #req: IncomingMessage;

  constructor(req: IncomingMessage) {
    this.#req = req;
    req.pause();
    this.stream = new ReadableStream({
      type: "bytes",
      start: (controller) => {
        req.on("data", (chunk: Uint8Array) => {
          if (this.#stopped) return;
          controller.enqueue(new Uint8Array(chunk));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once("end", () => {
          if (this.#stopped) return;
          this.#stopped = true;
          controller.close();
          controller.byobRequest?.respond(0);
        });
        req.once("close", () => {
          if (this.#stopped) return;
          this.#stopped = true;
          controller.error(new Error("the client closed the connection before the body ended"));
        });
      },
      pull: () => {
        if (!this.#stopped) req.resume();
      },
      cancel: () => this.stop(),
    });
  }

  /** Reads nothing more from the socket. */
  stop(): void {
    this.#stopped = true;
    this.#req.pause();
  }
}

/** Writes status, headers and body; a body of one chunk gets a Content-Length. */
async function writeResponse(
  res: ServerResponse,
  response: Response,
  close: boolean,
): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (close) res.setHeader("connection", "close");
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const first = await reader.read();
  if (first.done) {
    res.end();
    return;
  }
  const second = await reader.read();
  if (second.done) {
    if (!res.hasHeader("content-length")) res.setHeader("content-length", first.value.byteLength);
    res.end(first.value);
    return;
  }
  let gone = false;
  res.once("close", () => {
    gone = true;
    reader.cancel().catch(() => {});
  });
  const write = async (bytes: Uint8Array) => {
    if (res.write(bytes) || gone) return;
    await new Promise<void>((resolve) => {
      res.once("drain", resolve);
      res.once("close", resolve);
    });
  };
  await write(first.value);
  let chunk: ReadableStreamReadResult<Uint8Array> = second;
  for (; !chunk.done && !gone; chunk = await reader.read()) await write(chunk.value);
  if (!gone) res.end();
}
