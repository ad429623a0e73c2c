/**
 * The simulator's future-event list: a binary min-heap on (time, insertion order) held in
 * parallel typed arrays, so millions of events cost no per-event allocation. Events that share a
 * time pop in the order they were pushed, which keeps runs deterministic.
 *
 * @module
 */

/** A binary heap of events, each an (time, kind, a, b) tuple. */
export class EventQueue {
  #time: Float64Array;
  #seq: Float64Array;
  #kind: Int32Array;
  #a: Int32Array;
  #b: Int32Array;
  #size = 0;
  #nextSeq = 0;
  /** Kind of the event last popped. */
  kind = 0;
  /** First payload of the event last popped. */
  a = 0;
  /** Second payload of the event last popped. */
  b = 0;
  /** Time of the event last popped (ms). */
  time = 0;

  /** Creates an empty queue with room for `capacity` events (it grows as needed). */
  constructor(capacity = 1024) {
    this.#time = new Float64Array(capacity);
    this.#seq = new Float64Array(capacity);
    this.#kind = new Int32Array(capacity);
    this.#a = new Int32Array(capacity);
    this.#b = new Int32Array(capacity);
  }

  /** Number of pending events. */
  get size(): number {
    return this.#size;
  }

  /** Time of the earliest pending event, or `Infinity` when empty. */
  peekTime(): number {
    return this.#size > 0 ? this.#time[0] : Infinity;
  }

  #grow(): void {
    const capacity = this.#time.length * 2;
    const grow = <T extends Float64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.#time = grow(this.#time, (n) => new Float64Array(n));
    this.#seq = grow(this.#seq, (n) => new Float64Array(n));
    this.#kind = grow(this.#kind, (n) => new Int32Array(n));
    this.#a = grow(this.#a, (n) => new Int32Array(n));
    this.#b = grow(this.#b, (n) => new Int32Array(n));
  }

  /** Adds an event at `timeMs`. */
  push(timeMs: number, kind: number, a: number, b: number): void {
    if (this.#size === this.#time.length) this.#grow();
    const time = this.#time, seqs = this.#seq, kinds = this.#kind, as = this.#a, bs = this.#b;
    const seq = this.#nextSeq++;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = time[parent];
      if (pt < timeMs || (pt === timeMs && seqs[parent] < seq)) break;
      time[i] = pt;
      seqs[i] = seqs[parent];
      kinds[i] = kinds[parent];
      as[i] = as[parent];
      bs[i] = bs[parent];
      i = parent;
    }
    time[i] = timeMs;
    seqs[i] = seq;
    kinds[i] = kind;
    as[i] = a;
    bs[i] = b;
  }

  /** Removes the earliest event into `time`, `kind`, `a`, `b`; returns false when empty. */
  pop(): boolean {
    if (this.#size === 0) return false;
    const time = this.#time, seqs = this.#seq, kinds = this.#kind, as = this.#a, bs = this.#b;
    this.time = time[0];
    this.kind = kinds[0];
    this.a = as[0];
    this.b = bs[0];
    const n = --this.#size;
    if (n === 0) return true;
    const lt = time[n], ls = seqs[n], lk = kinds[n], la = as[n], lb = bs[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        (time[right] < time[child] || (time[right] === time[child] && seqs[right] < seqs[child]))
      ) child = right;
      const ct = time[child];
      if (lt < ct || (lt === ct && ls < seqs[child])) break;
      time[i] = ct;
      seqs[i] = seqs[child];
      kinds[i] = kinds[child];
      as[i] = as[child];
      bs[i] = bs[child];
      i = child;
    }
    time[i] = lt;
    seqs[i] = ls;
    kinds[i] = lk;
    as[i] = la;
    bs[i] = lb;
    return true;
  }
}
