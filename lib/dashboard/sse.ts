/**
 * Server-Sent Events: event encoding and a hub that fans one encoded message out to every
 * connected client (one shared tick for all pages; no per-client timers or polling). Clients
 * that stop reading are dropped instead of buffering without bound.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Encodes one SSE message: `event:` (when not `message`), optional `id:`, and the JSON of `data`
 * on one `data:` line (JSON never contains a raw newline, so one line is always enough).
 */
export function encodeSseEvent(event: string, data: unknown, options: { id?: string } = {}) {
  if (/[\r\n]/.test(event)) throw new TypeError(`SSE event name must be one line, got ${event}`);
  const json = JSON.stringify(data) ?? "null";
  let text = event === "message" ? "" : `event: ${event}\n`;
  if (options.id !== undefined) text += `id: ${options.id.replace(/[\r\n]/g, " ")}\n`;
  return `${text}data: ${json}\n\n`;
}

/** Options of {@linkcode SseHub}. */
export interface SseHubOptions {
  /** Reconnection delay the browser should use after the stream breaks, ms (sent as `retry:`). */
  retryMs?: number;
  /** Messages a client may have unread before it is dropped (default 64). */
  maxQueuedMessages?: number;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

/** A set of open event streams that all receive the same broadcasts. */
export class SseHub {
  readonly #clients = new Set<Client>();
  readonly #retryMs: number;
  readonly #maxQueued: number;
  #closed = false;

  /** A hub with no clients yet. */
  constructor(options: SseHubOptions = {}) {
    this.#retryMs = options.retryMs ?? 1000;
    this.#maxQueued = options.maxQueuedMessages ?? 64;
    if (!(this.#retryMs >= 0)) throw new RangeError(`retryMs must be >= 0, got ${this.#retryMs}`);
    if (!(this.#maxQueued >= 1)) {
      throw new RangeError(`maxQueuedMessages must be >= 1, got ${this.#maxQueued}`);
    }
  }

  /** Number of connected clients. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * A `text/event-stream` response for a new client. `first` (already encoded events, e.g. the
   * history) is sent before any broadcast.
   */
  connect(first: string = ""): Response {
    if (this.#closed) {
      return new Response("dashboard is shutting down\n", {
        status: 503,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    let client!: Client;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller, closed: false };
        this.#clients.add(client);
        controller.enqueue(encoder.encode(`retry: ${this.#retryMs}\n\n${first}`));
      },
      cancel: () => {
        client.closed = true;
        this.#clients.delete(client);
      },
    }, { highWaterMark: this.#maxQueued });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Sends one event to every client (encoded once); returns how many received it. */
  broadcast(event: string, data: unknown): number {
    return this.broadcastRaw(encodeSseEvent(event, data));
  }

  /** Sends already-encoded SSE text to every client; drops clients that stopped reading. */
  broadcastRaw(text: string): number {
    const bytes = encoder.encode(text);
    let sent = 0;
    for (const c of this.#clients) {
      const size = c.controller.desiredSize;
      if (size !== null && size <= 0) {
        this.#drop(c); // more than maxQueuedMessages unread: a stalled page, not a slow one
        continue;
      }
      try {
        c.controller.enqueue(bytes);
        sent++;
      } catch {
        this.#drop(c);
      }
    }
    return sent;
  }

  /** Ends every stream and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients) this.#drop(c);
  }

  #drop(c: Client): void {
    this.#clients.delete(c);
    if (c.closed) return;
    c.closed = true;
    try {
      c.controller.close();
    } catch {
      // already errored or cancelled
    }
  }
}
