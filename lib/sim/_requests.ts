/**
 * The simulator's requests as a structure of typed arrays indexed by request id, with a free
 * list: no object per request, so millions of requests allocate nothing once grown.
 *
 * @module
 */

/** Request states. */
export const RQ_FREE = 0, RQ_QUEUED = 1, RQ_WAITING = 2, RQ_EXECUTING = 3;
/** Timed out while queued: its stale ring entry frees it when dequeued (keeps FIFO order exact). */
export const RQ_DEAD = 4;
/** Served; its reply is on its way back and it still holds its replica slot. */
export const RQ_REPLYING = 5;

/** Every request's fields, one typed array each. */
export class RequestTable {
  /** Virtual ms it was sent. */
  start = new Float64Array(1024);
  /** Virtual ms its service began. */
  serviceStart = new Float64Array(1024);
  /** Its overhead outside the replica slot, ms (added to its response time). */
  overheadMs = new Float64Array(1024);
  /** Sending user, -1 for an open-loop arrival. */
  user = new Int32Array(1024);
  /** The user's generation when it sent. */
  userGen = new Int32Array(1024);
  /** Replica index, -1 while not assigned. */
  replica = new Int32Array(1024);
  /** One of the RQ_ states. */
  state = new Uint8Array(1024);
  /** Bumped when the id is freed (stale queue and timeout entries are skipped). */
  gen = new Int32Array(1024);
  /** 1 once its sender gave up (client timeout); the service still works on it. */
  abandoned = new Uint8Array(1024);
  /** Token of its pending completion event (0: none); unique across the run. */
  svcToken = new Int32Array(1024);
  /** 1 once it was retried after its replica was killed. */
  retried = new Uint8Array(1024);
  /** Ids handed out so far (the highest id + 1). */
  next = 0;
  #free: number[] = [];

  /** A free request id. */
  alloc(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    const id = this.next++;
    if (id >= this.start.length) this.#grow(this.start.length * 2);
    return id;
  }

  /** Gives `id` back. */
  free(id: number): void {
    this.state[id] = RQ_FREE;
    this.svcToken[id] = 0;
    this.gen[id]++;
    this.#free.push(id);
  }

  #grow(n: number): void {
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(old: T): T => {
      const x = new (old.constructor as new (n: number) => T)(n);
      x.set(old);
      return x;
    };
    this.start = grow(this.start);
    this.serviceStart = grow(this.serviceStart);
    this.overheadMs = grow(this.overheadMs);
    this.user = grow(this.user);
    this.userGen = grow(this.userGen);
    this.replica = grow(this.replica);
    this.state = grow(this.state);
    this.gen = grow(this.gen);
    this.abandoned = grow(this.abandoned);
    this.svcToken = grow(this.svcToken);
    this.retried = grow(this.retried);
  }
}
