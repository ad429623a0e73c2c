/**
 * Reads a request body into one buffer bounded by the size limit, under a deadline.
 *
 * Memory per request is O(limit) however the client chunks the body: a chunked body is read
 * with a BYOB reader straight into a buffer that grows by doubling up to `limit + 1` bytes (one
 * byte over the limit is enough to answer 413). The default reader would allocate a fresh 64 KiB
 * buffer for every chunk the socket yields, so 8,000 one-byte chunks (24 KB on the wire) used to
 * keep ~500 MB alive. Streams that are not byte streams (a `Request` built in-process) are copied
 * chunk by chunk into the same bounded buffer.
 *
 * At the deadline the read is cancelled (nothing more is read) and the caller answers 408 with
 * `Connection: close`, so the server drops the connection instead of draining the rest.
 *
 * @module
 */
import { DeadlineSweeper } from "./_deadline_sweeper.ts";

/** Why a body could not be read; the HTTP layer turns it into its JSON error. */
export class BodyReadError extends Error {
  constructor(
    readonly status: 400 | 408 | 413,
    readonly error: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** Options of {@link readRequestBody}. */
export interface ReadBodyOptions {
  /** Largest accepted body, bytes. */
  limit: number;
  /** What the body is, for messages ("image", "JSON"). */
  what: string;
  /** Deadline for the whole body, ms. */
  timeoutMs: number;
  /** Where the deadline comes from, for the 408 message. */
  timeoutSource: string;
}

/** Counters of the body buffers, for tests and benchmarks. */
export interface BodyBufferStats {
  /** Bytes of body buffers held right now by requests being read. */
  bufferedBytes: number;
  /** Most bytes of body buffers held at once since the last {@link resetBodyBufferPeak}. */
  peakBufferedBytes: number;
  /** Chunked bodies read so far (Content-Length bodies are not counted). */
  chunkedBodies: number;
}

const stats: BodyBufferStats = { bufferedBytes: 0, peakBufferedBytes: 0, chunkedBodies: 0 };

/** A snapshot of the body buffer counters (process-wide). */
export function bodyBufferStats(): BodyBufferStats {
  return { ...stats };
}

/** Starts a new peak measurement at the current level. */
export function resetBodyBufferPeak(): void {
  stats.peakBufferedBytes = stats.bufferedBytes;
}

/** First capacity of a chunked body's buffer; it doubles as the body grows. */
const INITIAL_CAPACITY_BYTES = 16 * 1024;

/** One sweeper for every body deadline: expiry within 250 ms of the deadline is precise enough. */
const bodyDeadlines = new DeadlineSweeper(250);

/** Reads the whole body of `req`; throws {@link BodyReadError} (400, 408, 413). */
export async function readRequestBody(req: Request, options: ReadBodyOptions): Promise<Uint8Array> {
  const { limit, what } = options;
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(what, limit, declared);
  let expired = false;
  let onExpire = () => {};
  let cancelled: Promise<void> = Promise.resolve();
  const cancelDeadline = bodyDeadlines.add(options.timeoutMs, () => {
    expired = true;
    onExpire();
  });
  const late = () =>
    new BodyReadError(
      408,
      "request_timeout",
      `the request body did not arrive within ${options.timeoutMs / 1000} s ` +
        `(${options.timeoutSource}); send the whole body promptly`,
    );
  try {
    if (declared !== null) {
      // Not via req.body: creating the stream object costs more than the read (hot path). The
      // buffer is Content-Length bytes, already checked against the limit.
      const read = req.arrayBuffer();
      const timedOut = new Promise<never>((_, reject) => onExpire = () => reject(late()));
      read.catch(() => {}); // fails once the connection closes after the 408
      try {
        return new Uint8Array(await Promise.race([read, timedOut]));
      } catch (error) {
        if (error instanceof BodyReadError) throw error;
        throw incompleteBody(what, error);
      }
    }
    if (!req.body) return new Uint8Array(0);
    stats.chunkedBodies++;
    const bytes = await readBounded(req.body, { limit, what }, (cancel) => {
      onExpire = () => cancelled = cancel();
      if (expired) onExpire();
    });
    if (expired) throw late();
    return bytes;
  } catch (error) {
    // The cancel must have finished before the answer goes out, or the server keeps the
    // connection open for the rest of the body.
    if (expired) await cancelled;
    throw expired ? late() : error;
  } finally {
    cancelDeadline();
  }
}

/**
 * Reads `body` into one buffer of at most `limit + 1` bytes. `onReader` receives the function that
 * cancels the read (the deadline); a cancelled read ends early and the caller, which cancelled it,
 * answers for it.
 */
async function readBounded(
  body: ReadableStream<Uint8Array>,
  { limit, what }: { limit: number; what: string },
  onReader: (cancel: () => Promise<void>) => void,
): Promise<Uint8Array> {
  const buffer = new GrowingBuffer(Math.min(INITIAL_CAPACITY_BYTES, limit + 1), limit + 1);
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: copy its chunks below.
  }
  try {
    if (byob) {
      const reader = byob;
      onReader(() => reader.cancel().catch(() => {}));
      for (;;) {
        const { done, value } = await byob.read(buffer.freeView()).catch((error) => {
          throw incompleteBody(what, error);
        });
        if (!value) break; // cancelled: the buffer went with the read
        buffer.adopt(value);
        if (done) break;
        if (buffer.length > limit) {
          await byob.cancel().catch(() => {});
          throw tooLarge(what, limit, `more than ${limit}`);
        }
      }
    } else {
      const reader = body.getReader();
      onReader(() => reader.cancel().catch(() => {}));
      for (;;) {
        const { done, value } = await reader.read().catch((error) => {
          throw incompleteBody(what, error);
        });
        if (done) break;
        if (buffer.length + value.length > limit) {
          await reader.cancel().catch(() => {});
          throw tooLarge(what, limit, `more than ${limit}`);
        }
        buffer.append(value);
      }
    }
    return buffer.bytes();
  } finally {
    buffer.release();
  }
}

/** A byte buffer that doubles up to a maximum capacity, counted in {@link stats}. */
class GrowingBuffer {
  #buffer: ArrayBuffer;
  #length = 0;
  /** Bytes counted in the stats (the buffer itself is detached while a BYOB read holds it). */
  #capacity: number;
  readonly #maxCapacity: number;

  constructor(capacity: number, maxCapacity: number) {
    this.#buffer = new ArrayBuffer(capacity);
    this.#capacity = capacity;
    this.#maxCapacity = maxCapacity;
    this.#count(capacity);
  }

  get length(): number {
    return this.#length;
  }

  /** The free tail as a view to read into (the buffer grows first when it is full). */
  freeView(): Uint8Array<ArrayBuffer> {
    if (this.#length === this.#buffer.byteLength) this.#grow(this.#length + 1);
    return new Uint8Array(this.#buffer, this.#length);
  }

  /** Takes back the buffer a BYOB read returned, with `view.byteLength` new bytes. */
  adopt(view: Uint8Array): void {
    this.#buffer = view.buffer as ArrayBuffer;
    this.#length += view.byteLength;
  }

  append(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#buffer.byteLength) {
      this.#grow(this.#length + chunk.length);
    }
    new Uint8Array(this.#buffer).set(chunk, this.#length);
    this.#length += chunk.length;
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.#buffer, 0, this.#length);
  }

  release(): void {
    this.#count(-this.#capacity);
    this.#capacity = 0;
  }

  #grow(needed: number): void {
    let capacity = this.#capacity;
    while (capacity < needed) capacity *= 2;
    capacity = Math.min(capacity, this.#maxCapacity);
    const next = new ArrayBuffer(capacity);
    new Uint8Array(next).set(new Uint8Array(this.#buffer, 0, this.#length));
    this.#count(capacity - this.#capacity);
    this.#capacity = capacity;
    this.#buffer = next;
  }

  #count(deltaBytes: number): void {
    stats.bufferedBytes += deltaBytes;
    if (stats.bufferedBytes > stats.peakBufferedBytes) {
      stats.peakBufferedBytes = stats.bufferedBytes;
    }
  }
}

function tooLarge(what: string, limit: number, n: string): BodyReadError {
  return new BodyReadError(
    413,
    "payload_too_large",
    `the ${what} body is ${n} bytes; the limit is ${limit} bytes`,
  );
}

/**
 * A body that could not be read to its end: the client closed the connection mid-body or sent
 * broken chunked encoding. The client's fault, so a 400 (not a 500 counted as a server error).
 */
function incompleteBody(what: string, error: unknown): BodyReadError {
  if (error instanceof BodyReadError) return error;
  return new BodyReadError(
    400,
    "incomplete_body",
    `the ${what} body could not be read to its end (${
      (error as Error)?.message ?? error
    }); send the whole body, as many bytes as Content-Length says`,
  );
}
