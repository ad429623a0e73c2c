/**
 * The simulator's `ongoingByReplica()` answer: a live read-only map view of the router's
 * routable list, so the autoscaler's 100 ms tick reads 1,000 replicas without a new map.
 *
 * @module
 */

/** A replica as the view reads it. */
interface Counted {
  readonly id: string;
  readonly ongoing: number;
}

/**
 * Requests ongoing on each routable (RUNNING) replica, read live from the engine's routing list:
 * a `ReadonlyMap` whose entries iterate in list order.
 */
export class RoutableOngoingView {
  readonly #list: readonly Counted[];
  readonly #byId: ReadonlyMap<string, Counted>;

  constructor(list: readonly Counted[], byId: ReadonlyMap<string, Counted>) {
    this.#list = list;
    this.#byId = byId;
  }

  get size(): number {
    return this.#list.length;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  get(id: string): number | undefined {
    return this.#byId.get(id)?.ongoing;
  }

  forEach(
    fn: (ongoing: number, id: string, map: ReadonlyMap<string, number>) => void,
    thisArg?: unknown,
  ): void {
    for (const r of this.#list) fn.call(thisArg, r.ongoing, r.id, this.asMap());
  }

  *entries(): Generator<[string, number]> {
    for (const r of this.#list) yield [r.id, r.ongoing];
  }

  *keys(): Generator<string> {
    for (const r of this.#list) yield r.id;
  }

  *values(): Generator<number> {
    for (const r of this.#list) yield r.ongoing;
  }

  [Symbol.iterator](): Generator<[string, number]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "RoutableOngoingView";
  }

  /** This view typed as the `ReadonlyMap` it behaves as (its iterators are generators). */
  asMap(): ReadonlyMap<string, number> {
    return this as unknown as ReadonlyMap<string, number>;
  }
}
