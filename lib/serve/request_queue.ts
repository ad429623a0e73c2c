/**
 * The service's side of routing: requests wait here as promises, in FIFO order, for the shared
 * router (lib/fleet) to find them a replica slot; a full queue refuses at once (HTTP 503), and a
 * request whose signal aborts leaves its place. Sending the request is the caller's job.
 *
 * @module
 */
import type { ReplicaRouter, RoutedReplica } from "../fleet/mod.ts";

/** A request was refused because the router queue is full (HTTP 503). */
export class BackPressureError extends Error {
  /** Creates the error with the counts Ray prints. */
  constructor(readonly queued: number, readonly maxQueued: number) {
    super(
      `Request dropped due to backpressure (num_queued_requests=${queued}, ` +
        `max_queued_requests=${maxQueued}).`,
    );
    this.name = "BackPressureError";
  }
}

interface Waiter<R> {
  resolve: (replica: R) => void;
  reject: (error: unknown) => void;
  done: boolean;
}

/**
 * Requests waiting for a replica slot. Call {@linkcode RequestQueue.dispatch} after adding
 * replicas to the router, {@linkcode RequestQueue.release} when a request ends.
 */
export class RequestQueue<R extends RoutedReplica> {
  readonly #router: ReplicaRouter<R>;
  #maxQueued: number;
  #queue: Waiter<R>[] = [];
  #head = 0;
  #queued = 0;

  /** A queue in front of `router`; `maxQueuedRequests` only names the limit in errors. */
  constructor(router: ReplicaRouter<R>, options: { maxQueuedRequests: number }) {
    this.#router = router;
    this.#maxQueued = options.maxQueuedRequests;
  }

  /** Renames the limit in errors after a config update (the router enforces it). */
  set maxQueuedRequests(n: number) {
    this.#maxQueued = n;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Gets a slot on a replica (its `ongoing` already counted). Throws {@link BackPressureError}
   * at once when the queue is full; rejects with `signal.reason` if the signal aborts while
   * waiting. `front: true` (a retry) queues first and skips back-pressure.
   */
  acquire(options: { signal?: AbortSignal; front?: boolean } = {}): Promise<R> {
    const { signal, front = false } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queued === 0) {
      const replica = this.#router.choose();
      if (replica) {
        this.#router.assign(replica);
        return Promise.resolve(replica);
      }
    }
    if (!front && this.#router.refuses(this.#queued)) {
      return Promise.reject(new BackPressureError(this.#queued, this.#maxQueued));
    }
    return new Promise<R>((resolve, reject) => {
      const waiter: Waiter<R> = { resolve, reject, done: false };
      if (signal) {
        const onAbort = () => {
          if (waiter.done) return;
          waiter.done = true;
          this.#queued--;
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.resolve = (r) => {
          signal.removeEventListener("abort", onAbort);
          resolve(r);
        };
      }
      if (front) {
        this.#compact();
        this.#queue.unshift(waiter);
      } else {
        this.#queue.push(waiter);
      }
      this.#queued++;
    });
  }

  /** Gives a slot back and hands free slots to the oldest waiting requests. */
  release(replica: R): void {
    this.#router.release(replica);
    this.dispatch();
  }

  /** Hands free slots to waiting requests (after replicas became routable). */
  dispatch(): void {
    while (this.#queued > 0) {
      const replica = this.#router.choose();
      if (!replica) return;
      let waiter: Waiter<R> | undefined;
      while (this.#head < this.#queue.length) {
        const w = this.#queue[this.#head++];
        if (!w.done) {
          waiter = w;
          break;
        }
      }
      if (!waiter) {
        this.#queued = 0;
        break;
      }
      waiter.done = true;
      this.#queued--;
      this.#router.assign(replica);
      waiter.resolve(replica);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) this.#compact();
  }

  /** Fails every waiting request with `error` (shutdown). */
  rejectAll(error: Error): void {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const w = this.#queue[i];
      if (!w.done) {
        w.done = true;
        w.reject(error);
      }
    }
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
  }

  #compact(): void {
    if (this.#head > 0) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
