/**
 * A FIFO of (request id, generation) pairs in a power-of-two ring of typed arrays: the
 * simulator's router queue and timeout lists, allocation-free once grown.
 *
 * @module
 */

/** A FIFO of (request id, generation) pairs in a power-of-two ring. */
export class IdFifo {
  ids = new Int32Array(1024);
  gens = new Int32Array(1024);
  head = 0;
  length = 0;
  mask = 1023;

  push(id: number, gen: number): void {
    if (this.length === this.ids.length) this.#grow();
    const at = (this.head + this.length) & this.mask;
    this.ids[at] = id;
    this.gens[at] = gen;
    this.length++;
  }

  shift(): void {
    this.head = (this.head + 1) & this.mask;
    this.length--;
  }

  #grow(): void {
    const n = this.ids.length * 2;
    const ids = new Int32Array(n), gens = new Int32Array(n);
    for (let i = 0; i < this.length; i++) {
      const j = (this.head + i) & this.mask;
      ids[i] = this.ids[j];
      gens[i] = this.gens[j];
    }
    this.ids = ids;
    this.gens = gens;
    this.head = 0;
    this.mask = n - 1;
  }
}
