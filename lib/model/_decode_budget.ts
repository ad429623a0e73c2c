/**
 * A budget of pixels being decoded at once, so that decode memory stays bounded however many
 * large images arrive together. Each decode reserves its pixel count (capped at the budget);
 * decodes that do not fit wait, first come first served. Small images pass without waiting as
 * long as their sum fits, so the common case is not serialised.
 *
 * @module
 */

interface Waiter {
  pixels: number;
  start: () => void;
}

/** Pixels being decoded at once, up to a capacity; see the module doc. */
export class DecodeBudget {
  #inUse = 0;
  readonly #queue: Waiter[] = [];

  /** Pixels reserved right now (for tests). */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * Runs `fn` once `pixels` (capped at `capacity`) fit in the budget next to the decodes already
   * running; a decode alone always runs.
   */
  async run<T>(pixels: number, capacity: number, fn: () => Promise<T>): Promise<T> {
    const reserved = Math.max(1, Math.min(pixels, capacity));
    if (this.#queue.length > 0 || (this.#inUse > 0 && this.#inUse + reserved > capacity)) {
      await new Promise<void>((start) => {
        this.#queue.push({ pixels: reserved, start });
      });
      // #release() reserved the pixels for us before starting us.
    } else {
      this.#inUse += reserved;
    }
    try {
      return await fn();
    } finally {
      this.#release(reserved, capacity);
    }
  }

  #release(pixels: number, capacity: number): void {
    this.#inUse -= pixels;
    while (this.#queue.length > 0) {
      const next = this.#queue[0];
      if (this.#inUse > 0 && this.#inUse + next.pixels > capacity) break;
      this.#queue.shift();
      this.#inUse += next.pixels;
      next.start();
    }
  }
}
