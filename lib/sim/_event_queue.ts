/**
 * The simulator's future-event list: a binary min-heap on (time, insertion order). The heap holds
 * only each event's time and a slot number; the payload (kind, a, b) and the insertion number stay
 * in their slot, so a sift moves two numbers per level and millions of events cost no allocation.
 * Events that share a time pop in the order they were pushed, which keeps runs deterministic.
 *
 * @module
 */

/** A binary heap of events, each an (time, kind, a, b) tuple. */
export class EventQueue {
  // Heap order.
  #time: Float64Array;
  #slot: Int32Array;
  // Per slot.
  #seq: Float64Array;
  #kind: Int32Array;
  #a: Int32Array;
  #b: Int32Array;
  #free: Int32Array;
  #freeCount = 0;
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
    this.#slot = new Int32Array(capacity);
    this.#seq = new Float64Array(capacity);
    this.#kind = new Int32Array(capacity);
    this.#a = new Int32Array(capacity);
    this.#b = new Int32Array(capacity);
    this.#free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.#free[i] = capacity - 1 - i;
    this.#freeCount = capacity;
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
    const old = this.#time.length;
    const capacity = old * 2;
    const f64 = (x: Float64Array) => {
      const n = new Float64Array(capacity);
      n.set(x);
      return n;
    };
    const i32 = (x: Int32Array) => {
      const n = new Int32Array(capacity);
      n.set(x);
      return n;
    };
    this.#time = f64(this.#time);
    this.#slot = i32(this.#slot);
    this.#seq = f64(this.#seq);
    this.#kind = i32(this.#kind);
    this.#a = i32(this.#a);
    this.#b = i32(this.#b);
    this.#free = i32(this.#free);
    for (let i = capacity - 1; i >= old; i--) this.#free[this.#freeCount++] = i;
  }

  /** Adds an event at `timeMs`. */
  push(timeMs: number, kind: number, a: number, b: number): void {
    if (this.#freeCount === 0) this.#grow();
    const slot = this.#free[--this.#freeCount];
    const seq = this.#nextSeq++;
    this.#seq[slot] = seq;
    this.#kind[slot] = kind;
    this.#a[slot] = a;
    this.#b[slot] = b;
    const time = this.#time, slots = this.#slot, seqs = this.#seq;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = time[parent];
      if (pt < timeMs || (pt === timeMs && seqs[slots[parent]] < seq)) break;
      time[i] = pt;
      slots[i] = slots[parent];
      i = parent;
    }
    time[i] = timeMs;
    slots[i] = slot;
  }

  /** Removes the earliest event into `time`, `kind`, `a`, `b`; returns false when empty. */
  pop(): boolean {
    if (this.#size === 0) return false;
    const time = this.#time, slots = this.#slot, seqs = this.#seq;
    const top = slots[0];
    this.time = time[0];
    this.kind = this.#kind[top];
    this.a = this.#a[top];
    this.b = this.#b[top];
    this.#free[this.#freeCount++] = top;
    const n = --this.#size;
    if (n === 0) return true;
    const lt = time[n], ls = slots[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      let ct = time[child];
      if (right < n) {
        const rt = time[right];
        if (rt < ct || (rt === ct && seqs[slots[right]] < seqs[slots[child]])) {
          child = right;
          ct = rt;
        }
      }
      if (lt < ct || (lt === ct && seqs[ls] < seqs[slots[child]])) break;
      time[i] = ct;
      slots[i] = slots[child];
      i = child;
    }
    time[i] = lt;
    slots[i] = ls;
    return true;
  }
}
