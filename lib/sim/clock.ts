/**
 * A virtual clock whose timers are events in the simulator's event queue. Code written against an
 * injected clock (the autoscaler's controller) runs unchanged inside a simulation: time only moves
 * when the simulator pops the next event.
 *
 * @module
 */
import type { EventQueue } from "./_event_queue.ts";

/** Event kind the simulator reserves for clock timers (payload a = timer id). */
export const CLOCK_EVENT_KIND = 1;

interface Timer {
  fn: () => void;
  intervalMs: number;
}

/** Virtual time with timers; `now()` is epoch milliseconds like `Date.now()`. */
export class VirtualClock {
  #queue: EventQueue;
  #timers = new Map<number, Timer>();
  #nextId = 1;
  #epochMs: number;
  /** Virtual milliseconds since the simulation started. */
  elapsedMs = 0;

  /** Creates a clock that starts at `startEpochMs` and schedules timers into `queue`. */
  constructor(queue: EventQueue, startEpochMs: number) {
    this.#queue = queue;
    this.#epochMs = startEpochMs;
  }

  /** Current virtual time, epoch milliseconds. */
  now(): number {
    return this.#epochMs + this.elapsedMs;
  }

  /** Epoch milliseconds at which the simulation started. */
  get startEpochMs(): number {
    return this.#epochMs;
  }

  /** Runs `fn` once, `delayMs` of virtual time from now; returns an id for `clearTimeout`. */
  setTimeout(fn: () => void, delayMs = 0): number {
    const id = this.#nextId++;
    this.#timers.set(id, { fn, intervalMs: -1 });
    this.#queue.push(this.elapsedMs + Math.max(0, delayMs), CLOCK_EVENT_KIND, id, 0);
    return id;
  }

  /** Runs `fn` every `intervalMs` of virtual time (at least 1 ms); returns an id for `clearInterval`. */
  setInterval(fn: () => void, intervalMs: number): number {
    const id = this.#nextId++;
    const period = Math.max(1, intervalMs);
    this.#timers.set(id, { fn, intervalMs: period });
    this.#queue.push(this.elapsedMs + period, CLOCK_EVENT_KIND, id, 0);
    return id;
  }

  /** Cancels a timer made by `setTimeout`; unknown ids are ignored. */
  clearTimeout(id: number | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  /** Cancels a timer made by `setInterval`; unknown ids are ignored. */
  clearInterval(id: number | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  /** Number of live timers (a finished simulation should have none left from its own parts). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Called by the simulator when a clock event pops: runs the timer if it is still live. */
  fire(id: number): void {
    const timer = this.#timers.get(id);
    if (!timer) return;
    if (timer.intervalMs < 0) this.#timers.delete(id);
    else this.#queue.push(this.elapsedMs + timer.intervalMs, CLOCK_EVENT_KIND, id, 0);
    timer.fn();
  }
}
