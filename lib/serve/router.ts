/**
 * The router: power of two choices over RUNNING replicas, never more than `max_ongoing_requests`
 * on one replica, a FIFO queue when all are full, and immediate back-pressure when
 * `max_queued_requests` requests are already waiting (research/ray-serve.md §4).
 *
 * It only hands out and takes back slots; sending the request is the caller's job. It keeps no
 * timers, so it is tested without any.
 *
 * @module
 */

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

/** What the router needs of a replica. */
export interface RoutableReplica {
  readonly id: string;
  /** Requests assigned and not released; the router increments and decrements it. */
  ongoing: number;
}

interface Waiter<R> {
  resolve: (replica: R) => void;
  reject: (error: unknown) => void;
  done: boolean;
}

/** Options of {@link Router}. */
export interface RouterOptions {
  /** Hard per-replica cap (`max_ongoing_requests`). */
  maxOngoingRequests: number;
  /** `-1` for no limit, else the queue length at which new requests get 503. */
  maxQueuedRequests: number;
  /** Uniform [0,1) source, injectable for tests. */
  random?: () => number;
}

/** Assigns requests to replicas; see the module doc. */
export class Router<R extends RoutableReplica> {
  #replicas: R[] = [];
  #queue: Waiter<R>[] = [];
  #head = 0;
  #queued = 0;
  readonly #maxOngoing: number;
  readonly #maxQueued: number;
  readonly #random: () => number;

  /** Creates a router with no replicas. */
  constructor(options: RouterOptions) {
    this.#maxOngoing = options.maxOngoingRequests;
    this.#maxQueued = options.maxQueuedRequests;
    this.#random = options.random ?? Math.random;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /** Replicas currently routable. */
  get replicas(): readonly R[] {
    return this.#replicas;
  }

  /** Replaces the set of routable (RUNNING) replicas and hands free slots to waiting requests. */
  setReplicas(replicas: readonly R[]): void {
    this.#replicas = [...replicas];
    this.#dispatch();
  }

  /**
   * Gets a slot on a replica (its `ongoing` already incremented). Throws
   * {@link BackPressureError} at once when the queue is full; rejects with `signal.reason` if the
   * signal aborts while waiting. `front: true` (a retry) queues first and skips back-pressure.
   */
  acquire(options: { signal?: AbortSignal; front?: boolean } = {}): Promise<R> {
    const { signal, front = false } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queued === 0) {
      const replica = this.choose();
      if (replica) {
        replica.ongoing++;
        return Promise.resolve(replica);
      }
    }
    if (!front && this.#maxQueued >= 0 && this.#queued >= this.#maxQueued) {
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

  /** Gives a slot back and hands it to the oldest waiting request. */
  release(replica: R): void {
    if (replica.ongoing > 0) replica.ongoing--;
    this.#dispatch();
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

  /**
   * Power of two choices: sample two distinct replicas, take the less loaded one that is under
   * `max_ongoing_requests`; when both are full, take the least loaded replica with room (we know
   * every count exactly, so no probing or backoff is needed). `null` when all are full.
   */
  choose(): R | null {
    const rs = this.#replicas;
    const n = rs.length;
    const max = this.#maxOngoing;
    if (n === 0) return null;
    if (n === 1) return rs[0].ongoing < max ? rs[0] : null;
    const i = Math.floor(this.#random() * n);
    let j = Math.floor(this.#random() * (n - 1));
    if (j >= i) j++;
    const a = rs[i], b = rs[j];
    const aOk = a.ongoing < max, bOk = b.ongoing < max;
    if (aOk && bOk) return b.ongoing < a.ongoing ? b : a;
    if (aOk) return a;
    if (bOk) return b;
    let best: R | null = null;
    for (const r of rs) if (r.ongoing < max && (!best || r.ongoing < best.ongoing)) best = r;
    return best;
  }

  #dispatch(): void {
    while (this.#queued > 0) {
      const replica = this.choose();
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
      replica.ongoing++;
      waiter.resolve(replica);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) this.#compact();
  }

  #compact(): void {
    if (this.#head > 0) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
