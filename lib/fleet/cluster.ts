/**
 * Logical-CPU accounting as in a Ray cluster: a fixed number of CPUs (the machine's by default,
 * `--num-cpus` overrides, fractions allowed) from which each replica takes its
 * `ray_actor_options.num_cpus` while STARTING, RUNNING or STOPPING.
 *
 * Amounts are kept in thousandths of a CPU so fractional requests add up exactly.
 *
 * @module
 */

const SCALE = 1000;

/** The cluster's logical CPUs and how many are taken. */
export class Cluster {
  readonly #totalMilli: number;
  #usedMilli = 0;
  readonly #freedListeners = new Set<() => void>();

  /** Creates a cluster of `numCpus` logical CPUs (a number >= 0; `Infinity` for no limit). */
  constructor(numCpus: number) {
    if (Number.isNaN(numCpus) || numCpus < 0) {
      throw new RangeError(`num_cpus must be a number >= 0, got ${numCpus}`);
    }
    this.#totalMilli = numCpus === Infinity ? Infinity : Math.round(numCpus * SCALE);
  }

  /** Total logical CPUs. */
  get numCpus(): number {
    return this.#totalMilli / SCALE;
  }

  /** CPUs taken by replicas. */
  get cpusUsed(): number {
    return this.#usedMilli / SCALE;
  }

  /** True when `numCpus` more would fit now. */
  fits(numCpus: number): boolean {
    return this.#usedMilli + Math.round(numCpus * SCALE) <= this.#totalMilli;
  }

  /** Takes `numCpus` if they fit; returns whether it did. */
  tryAllocate(numCpus: number): boolean {
    if (!this.fits(numCpus)) return false;
    this.#usedMilli += Math.round(numCpus * SCALE);
    return true;
  }

  /** Gives `numCpus` back and tells every {@linkcode Cluster.onFreed} listener. */
  free(numCpus: number): void {
    this.#usedMilli = Math.max(0, this.#usedMilli - Math.round(numCpus * SCALE));
    for (const fn of this.#freedListeners) fn();
  }

  /**
   * Calls `fn` whenever CPUs are given back, so that the replica sets of other deployments
   * sharing this cluster can start their pending replicas; returns the unsubscribe function.
   */
  onFreed(fn: () => void): () => void {
    this.#freedListeners.add(fn);
    return () => this.#freedListeners.delete(fn);
  }
}
