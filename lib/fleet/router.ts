/**
 * The one router of the lab (research/ray-serve.md §4), used by lib/serve with real workers and
 * by lib/sim with simulated replicas: power of two choices over the RUNNING replicas, never more
 * than `max_ongoing_requests` on one replica, and the back-pressure rule for the queue in front
 * of it. It keeps replicas' in-flight counts and a list of the replicas with a free slot, and
 * nothing else: no timers, no promises, no queue of its own (the service queues promises, the
 * simulator request ids, each in FIFO order).
 *
 * @module
 */

/** What the router needs of a replica; the two positions are the router's own bookkeeping. */
export interface RoutedReplica {
  /** Stable id (log lines, metrics). */
  readonly id: string;
  /** Requests assigned and not released; only {@linkcode ReplicaRouter} changes it. */
  ongoing: number;
  /** Position in the router's routable list, -1 when not routable (start at -1). */
  routablePos: number;
  /** Position in the router's list of routable replicas with a free slot, -1 if none. */
  freePos: number;
}

/** Options of {@linkcode ReplicaRouter}. */
export interface ReplicaRouterOptions {
  /** Hard per-replica cap (`max_ongoing_requests`), >= 1. */
  maxOngoingRequests: number;
  /** `-1` for no limit, else the queue length at which new requests are refused. */
  maxQueuedRequests: number;
  /** Uniform [0,1) source (a seeded one in the simulator); default `Math.random`. */
  random?: () => number;
}

/**
 * Picks replicas for requests. Add RUNNING replicas with {@linkcode ReplicaRouter.add}, take a
 * slot with {@linkcode ReplicaRouter.choose} + {@linkcode ReplicaRouter.assign}, give it back
 * with {@linkcode ReplicaRouter.release}.
 *
 * ```ts
 * const router = new ReplicaRouter({ maxOngoingRequests: 2, maxQueuedRequests: -1 });
 * const r = { id: "a", ongoing: 0, routablePos: -1, freePos: -1 };
 * router.add(r);
 * const chosen = router.choose(); // r
 * if (chosen) router.assign(chosen); // r.ongoing === 1
 * ```
 */
export class ReplicaRouter<R extends RoutedReplica> {
  readonly #routable: R[] = [];
  readonly #withFreeSlot: R[] = [];
  #maxOngoing: number;
  #maxQueued: number;
  readonly #random: () => number;
  #version = 0;

  /** A router with no replicas. */
  constructor(options: ReplicaRouterOptions) {
    if (!(Number.isInteger(options.maxOngoingRequests) && options.maxOngoingRequests >= 1)) {
      throw new RangeError(
        `maxOngoingRequests must be an integer >= 1, got ${options.maxOngoingRequests}`,
      );
    }
    this.#maxOngoing = options.maxOngoingRequests;
    this.#maxQueued = options.maxQueuedRequests;
    this.#random = options.random ?? Math.random;
  }

  /** `max_ongoing_requests`. */
  get maxOngoingRequests(): number {
    return this.#maxOngoing;
  }

  /** Routable (RUNNING) replicas, in routing-list order. */
  get replicas(): readonly R[] {
    return this.#routable;
  }

  /**
   * Changes whenever a replica is added or removed, the only changes of the routable list's
   * order (the autoscaler's `replicaSetVersion`).
   */
  get version(): number {
    return this.#version;
  }

  /**
   * Changes `max_ongoing_requests` and `max_queued_requests` in place (a lightweight config
   * update): replicas keep their in-flight requests; a lower cap only stops new assignments.
   */
  setLimits(limits: { maxOngoingRequests: number; maxQueuedRequests: number }): void {
    if (!(Number.isInteger(limits.maxOngoingRequests) && limits.maxOngoingRequests >= 1)) {
      throw new RangeError(
        `maxOngoingRequests must be an integer >= 1, got ${limits.maxOngoingRequests}`,
      );
    }
    this.#maxOngoing = limits.maxOngoingRequests;
    this.#maxQueued = limits.maxQueuedRequests;
    for (const r of this.#routable) this.#updateFreeSlot(r);
  }

  /** Whether some routable replica has a free slot. */
  get hasFreeSlot(): boolean {
    return this.#withFreeSlot.length > 0;
  }

  /** Makes `r` routable (it became RUNNING); a no-op if it already is. */
  add(r: R): void {
    if (r.routablePos >= 0) return;
    r.routablePos = this.#routable.length;
    this.#routable.push(r);
    this.#version++;
    this.#updateFreeSlot(r);
  }

  /** Takes `r` out of routing (it is stopping or died); its in-flight count stays. */
  remove(r: R): void {
    if (r.routablePos < 0) return;
    const last = this.#routable.pop()!;
    if (last !== r) {
      this.#routable[r.routablePos] = last;
      last.routablePos = r.routablePos;
    }
    r.routablePos = -1;
    this.#version++;
    this.#updateFreeSlot(r);
  }

  /**
   * Power of two choices: sample two distinct routable replicas and take the less loaded; when
   * it is full (so both are), sample two of the replicas with a free slot, as Ray's retries with
   * new samples would find them. `null` when every replica is full or none is routable.
   */
  choose(): R | null {
    const routable = this.#routable;
    const n = routable.length;
    const free = this.#withFreeSlot;
    if (n === 0 || free.length === 0) return null;
    const best = n === 1 ? routable[0] : this.#lessLoadedOfTwo(routable);
    if (best.ongoing < this.#maxOngoing) return best;
    return free.length === 1 ? free[0] : this.#lessLoadedOfTwo(free);
  }

  /** Counts one more request on `r`. */
  assign(r: R): void {
    r.ongoing++;
    if (r.freePos >= 0 && r.ongoing >= this.#maxOngoing) this.#updateFreeSlot(r);
  }

  /** Counts one request less on `r` (a finished or abandoned request). */
  release(r: R): void {
    if (r.ongoing > 0) r.ongoing--;
    if (r.freePos < 0 && r.routablePos >= 0) this.#updateFreeSlot(r);
  }

  /** Whether a request that finds `queued` requests waiting is refused (HTTP 503). */
  refuses(queued: number): boolean {
    return this.#maxQueued >= 0 && queued >= this.#maxQueued;
  }

  #lessLoadedOfTwo(list: readonly R[]): R {
    const n = list.length;
    const i = Math.floor(this.#random() * n);
    let j = Math.floor(this.#random() * (n - 1));
    if (j >= i) j++;
    const a = list[i], b = list[j];
    return a.ongoing <= b.ongoing ? a : b;
  }

  #updateFreeSlot(r: R): void {
    const hasSlot = r.routablePos >= 0 && r.ongoing < this.#maxOngoing;
    const free = this.#withFreeSlot;
    if (hasSlot && r.freePos < 0) {
      r.freePos = free.length;
      free.push(r);
    } else if (!hasSlot && r.freePos >= 0) {
      const last = free.pop()!;
      if (last !== r) {
        free[r.freePos] = last;
        last.freePos = r.freePos;
      }
      r.freePos = -1;
    }
  }
}
