/**
 * Coarse deadlines for many short waits without a timer per wait: one interval, running only
 * while something waits, rejects the waits whose deadline has passed. Used for request bodies,
 * where arming and clearing a `setTimeout` for every request cost several µs on the hot path.
 *
 * @module
 */

interface Waiter {
  deadlineMs: number;
  expire: () => void;
}

/** Expires registered waits within `resolutionMs` after their deadline. */
export class DeadlineSweeper {
  readonly #waiters = new Set<Waiter>();
  readonly #resolutionMs: number;
  #interval: ReturnType<typeof setInterval> | undefined;

  /** `resolutionMs`: how late past its deadline a wait may expire. */
  constructor(resolutionMs: number) {
    this.#resolutionMs = resolutionMs;
  }

  /**
   * Calls `expire` once `timeoutMs` have passed, unless the returned cancel function runs first.
   */
  add(timeoutMs: number, expire: () => void): () => void {
    const waiter: Waiter = { deadlineMs: Date.now() + timeoutMs, expire };
    this.#waiters.add(waiter);
    if (this.#interval === undefined) {
      this.#interval = setInterval(() => this.#sweep(), Math.min(this.#resolutionMs, timeoutMs));
    }
    return () => this.#remove(waiter);
  }

  /** How many waits are registered (for tests). */
  get size(): number {
    return this.#waiters.size;
  }

  #sweep(): void {
    const now = Date.now();
    for (const waiter of this.#waiters) {
      if (waiter.deadlineMs <= now) {
        this.#remove(waiter);
        waiter.expire();
      }
    }
  }

  #remove(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    if (this.#waiters.size === 0 && this.#interval !== undefined) {
      clearInterval(this.#interval);
      this.#interval = undefined;
    }
  }
}
