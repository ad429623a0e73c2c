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

/** Options of {@linkcode VirtualClock}. */
export interface VirtualClockOptions {
  /**
   * Hands every timer to an outside event loop instead of the clock's own list (the simulator's
   * event queue, so timers interleave with its other events). The loop calls
   * {@linkcode VirtualClock.setTime} then {@linkcode VirtualClock.fire} with the id at `atMs`.
   */
  schedule?: (atMs: number, id: TimerId) => void;
}

interface LiveTimer {
  fn: () => void;
  /** -1 for a one-shot timer. */
  periodMs: number;
}

interface DueEntry {
  id: TimerId;
  atMs: number;
}

/**
 * The one virtual clock of the lab: time moves only when its owner moves it, so hours of
 * control loop run in milliseconds and every run is deterministic.
 *
 * Two ways to drive it:
 * - on its own (tests, replay): {@linkcode VirtualClock.advanceTo} runs due timers in time order
 *   (ties in creation order), and `now()` reads each timer's due time while it runs;
 * - from an event loop (the simulator): pass `schedule`; the loop owns the time
 *   ({@linkcode VirtualClock.setTime}) and fires timers ({@linkcode VirtualClock.fire}).
 *
 * ```ts
 * const clock = new VirtualClock(0);
 * clock.setTimeout(() => console.log(clock.now()), 250);
 * clock.advanceTo(1000); // prints 250
 * ```
 */
export class VirtualClock implements Clock {
  #nowMs: number;
  #timers = new Map<TimerId, LiveTimer>();
  /** Self-driven mode: due times sorted by time; cleared timers are skipped lazily. */
  #due: DueEntry[] = [];
  #nextId = 1;
  readonly #schedule: ((atMs: number, id: TimerId) => void) | null;

  /** Starts the clock at `startMs` (default 0). */
  constructor(startMs = 0, options: VirtualClockOptions = {}) {
    if (!Number.isFinite(startMs)) {
      throw new RangeError(`VirtualClock start must be a finite number of ms, got ${startMs}`);
    }
    this.#nowMs = startMs;
    this.#schedule = options.schedule ?? null;
  }

  /** The current virtual time in ms. */
  now(): number {
    return this.#nowMs;
  }

  /** Schedules `fn` at `now() + delayMs` (negative delays count as 0). */
  setTimeout(fn: () => void, delayMs: number): TimerId {
    return this.#add(fn, -1, Math.max(0, delayMs));
  }

  /** Runs `fn` every `intervalMs` (at least 1 ms) until cleared. */
  setInterval(fn: () => void, intervalMs: number): TimerId {
    const periodMs = Math.max(1, intervalMs);
    return this.#add(fn, periodMs, periodMs);
  }

  /** Cancels a pending timer; unknown or fired ids are ignored. */
  clearTimeout(id: TimerId | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  /** Cancels an interval made by {@linkcode VirtualClock.setInterval}. */
  clearInterval(id: TimerId | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  /** Number of timers still pending. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Runs every timer due at or before `targetMs` (including ones they schedule), then sets now. */
  advanceTo(targetMs: number): void {
    if (this.#schedule) {
      throw new Error("VirtualClock.advanceTo: this clock is driven by its event loop (schedule)");
    }
    if (targetMs < this.#nowMs) {
      throw new RangeError(`VirtualClock cannot go back from ${this.#nowMs} ms to ${targetMs} ms`);
    }
    const due = this.#due;
    while (due.length > 0 && due[0].atMs <= targetMs) {
      const entry = due.shift()!;
      this.#nowMs = entry.atMs;
      this.fire(entry.id);
    }
    this.#nowMs = targetMs;
  }

  /** Advances by `deltaMs` (see {@linkcode VirtualClock.advanceTo}). */
  advanceBy(deltaMs: number): void {
    this.advanceTo(this.#nowMs + deltaMs);
  }

  /** Event-loop mode: sets the current time (the loop moves it forward only). */
  setTime(nowMs: number): void {
    this.#nowMs = nowMs;
  }

  /** Runs timer `id` if it is still live (an interval is re-armed first). */
  fire(id: TimerId): void {
    const timer = this.#timers.get(id);
    if (!timer) return;
    if (timer.periodMs < 0) this.#timers.delete(id);
    else this.#arm(id, this.#nowMs + timer.periodMs);
    timer.fn();
  }

  #add(fn: () => void, periodMs: number, delayMs: number): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, { fn, periodMs });
    this.#arm(id, this.#nowMs + delayMs);
    return id;
  }

  #arm(id: TimerId, atMs: number): void {
    if (this.#schedule) {
      this.#schedule(atMs, id);
      return;
    }
    // Keep the list sorted by time, ties in arming order: insertion is usually at the end.
    const due = this.#due;
    let i = due.length;
    while (i > 0 && due[i - 1].atMs > atMs) i--;
    due.splice(i, 0, { id, atMs });
  }
}
