/**
 * The time source of the load generator's runner: a monotonic clock, the wall clock and timers.
 * The runner takes one (default {@linkcode REAL_CLOCK}), so its unit tests drive it on fake time
 * (`@sinonjs/fake-timers`' `createClock()` fits through {@linkcode fakeTimersClock}) and assert
 * exact counts instead of wall-clock bounds.
 *
 * @module
 */

/** An opaque timer handle, as the clock's `setTimeout`/`setInterval` return it. */
export type TimerHandle = unknown;

/** Time and timers for {@linkcode runLoadTest}. */
export interface RunnerClock {
  /** Monotonic milliseconds (like `performance.now()`). */
  nowMs(): number;
  /** Wall-clock time, Unix milliseconds (like `Date.now()`); stamps the result files. */
  epochMs(): number;
  /** Calls `fn` once after `delayMs`. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** Cancels a {@linkcode RunnerClock.setTimeout}; `undefined` is ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** Calls `fn` every `intervalMs`. */
  setInterval(fn: () => void, intervalMs: number): TimerHandle;
  /** Cancels a {@linkcode RunnerClock.setInterval}; `undefined` is ignored. */
  clearInterval(handle: TimerHandle): void;
}

/** Real time: `performance.now()`, `Date.now()` and the global timers. */
export const REAL_CLOCK: RunnerClock = {
  nowMs: () => performance.now(),
  epochMs: () => Date.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as number | undefined),
  setInterval: (fn, intervalMs) => setInterval(fn, intervalMs),
  clearInterval: (handle) => clearInterval(handle as number | undefined),
};

/** The part of a `@sinonjs/fake-timers` clock that {@linkcode fakeTimersClock} uses. */
export interface FakeTimersLike {
  /** Current fake time, ms. */
  now: number;
  /** Fake timers (handles are opaque). */
  setTimeout(fn: () => void, delayMs: number): unknown;
  /** Cancels a fake timeout. */
  clearTimeout(handle: never): void;
  /** Fake intervals. */
  setInterval(fn: () => void, intervalMs: number): unknown;
  /** Cancels a fake interval. */
  clearInterval(handle: never): void;
}

/**
 * Adapts a `@sinonjs/fake-timers` clock (`FakeTimers.createClock(startMs)`) to a
 * {@linkcode RunnerClock}: both the monotonic and the wall clock read the fake `now`.
 *
 * ```ts
 * import FakeTimers from "@sinonjs/fake-timers";
 * const fake = FakeTimers.createClock(1_700_000_000_000);
 * const run = runLoadTest({ ...options, clock: fakeTimersClock(fake) });
 * await fake.tickAsync(3000);
 * ```
 */
export function fakeTimersClock(fake: FakeTimersLike): RunnerClock {
  return {
    nowMs: () => fake.now,
    epochMs: () => fake.now,
    setTimeout: (fn, delayMs) => fake.setTimeout(fn, delayMs),
    clearTimeout: (handle) => {
      if (handle !== undefined) fake.clearTimeout(handle as never);
    },
    setInterval: (fn, intervalMs) => fake.setInterval(fn, intervalMs),
    clearInterval: (handle) => {
      if (handle !== undefined) fake.clearInterval(handle as never);
    },
  };
}
