/**
 * Injected clocks: the only way the autoscaler learns the time or waits.
 *
 * `realClock` reads `Date.now()` and uses real timers; `VirtualClock` keeps its own time and
 * runs due timers only when a test, the replay tool or the simulator advances it, so hours of
 * control loop run in milliseconds and every run is deterministic.
 *
 * @module
 */

/** An opaque handle returned by {@linkcode Clock.setTimeout}. */
export type TimerId = number;

/** A source of time plus a one-shot timer, injected wherever something must wait. */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch (virtual clocks may start anywhere). */
  now(): number;
  /** Runs `fn` once, `delayMs` milliseconds from now. */
  setTimeout(fn: () => void, delayMs: number): TimerId;
  /** Cancels a timer; unknown or already-fired ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The wall clock with the runtime's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  // Deno returns a number at run time; the Node typings pulled in by npm packages say otherwise.
  setTimeout: (fn, delayMs) => setTimeout(fn, Math.max(0, delayMs)) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id),
};

interface VirtualTimer {
  id: TimerId;
  atMs: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in time order (ties in creation order)
 * while {@linkcode VirtualClock.advanceTo} passes their due time, and `now()` reads the due time
 * of the timer being run, so callbacks see exactly the time they were scheduled for.
 */
export class VirtualClock implements Clock {
  #nowMs: number;
  #timers: VirtualTimer[] = [];
  #nextId = 1;
  #seq = 0;

  /** Starts the clock at `startMs` (default 0). */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) {
      throw new RangeError(`VirtualClock start must be a finite number of ms, got ${startMs}`);
    }
    this.#nowMs = startMs;
  }

  /** The current virtual time in ms. */
  now(): number {
    return this.#nowMs;
  }

  /** Schedules `fn` at `now() + delayMs` (negative delays count as 0). */
  setTimeout(fn: () => void, delayMs: number): TimerId {
    const id = this.#nextId++;
    const timer = { id, atMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, fn };
    // Keep the list sorted by (atMs, seq): insertion is usually at the end.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1].atMs > timer.atMs) i--;
    this.#timers.splice(i, 0, timer);
    return id;
  }

  /** Cancels a pending timer. */
  clearTimeout(id: TimerId): void {
    const i = this.#timers.findIndex((t) => t.id === id);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Number of timers still pending. */
  pendingTimers(): number {
    return this.#timers.length;
  }

  /** Runs every timer due at or before `targetMs` (including ones they schedule), then sets now. */
  advanceTo(targetMs: number): void {
    if (targetMs < this.#nowMs) {
      throw new RangeError(`VirtualClock cannot go back from ${this.#nowMs} ms to ${targetMs} ms`);
    }
    while (this.#timers.length > 0 && this.#timers[0].atMs <= targetMs) {
      const timer = this.#timers.shift()!;
      this.#nowMs = timer.atMs;
      timer.fn();
    }
    this.#nowMs = targetMs;
  }

  /** Advances by `deltaMs` (see {@linkcode VirtualClock.advanceTo}). */
  advanceBy(deltaMs: number): void {
    this.advanceTo(this.#nowMs + deltaMs);
  }
}
