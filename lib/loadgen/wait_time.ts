/**
 * Locust's wait-time helpers (`locust/user/wait_time.py`), as plain data plus a pure function,
 * so the real runner and the simulator compute the same waits. Seconds throughout; the wait
 * follows each task (request), as in Locust.
 *
 * @module
 */
import { formatNumber } from "./format.ts";

/** A user's wait between tasks. */
export type WaitTime =
  | { kind: "constant"; seconds: number }
  | { kind: "between"; minS: number; maxS: number }
  | { kind: "constant_pacing"; seconds: number }
  | { kind: "constant_throughput"; perSecond: number };

/** Raised for a wait-time text or value that cannot be understood. */
export class WaitTimeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "WaitTimeError";
  }
}

const FORMS = "constant(S), between(MIN,MAX), constant_pacing(S) or constant_throughput(PER_S)";

/**
 * Parses Locust's spelling: `constant(0)`, `between(1, 3)`, `constant_pacing(2)`,
 * `constant_throughput(0.5)`.
 */
export function parseWaitTime(text: string, where = "--wait-time"): WaitTime {
  const m = /^\s*([a-z_]+)\s*\(\s*([^)]*)\)\s*$/.exec(text);
  if (!m) throw new WaitTimeError(`${where}: expected ${FORMS}, got "${text}"`);
  const texts = m[2].trim() === "" ? [] : m[2].split(",").map((a) => a.trim());
  // Number("") is 0: an empty argument (`between(,5)`) must not silently become 0.
  const args = texts.map((a) => a === "" ? NaN : Number(a));
  if (args.some((a) => !Number.isFinite(a) || a < 0)) {
    throw new WaitTimeError(`${where}: arguments must be numbers >= 0, got "${text}"`);
  }
  const need = (n: number) => {
    if (args.length !== n) {
      throw new WaitTimeError(`${where}: ${m[1]}() takes ${n} argument(s), got "${text}"`);
    }
  };
  switch (m[1]) {
    case "constant":
      need(1);
      return { kind: "constant", seconds: args[0] };
    case "between":
      need(2);
      if (args[1] < args[0]) {
        throw new WaitTimeError(`${where}: between(MIN, MAX) needs MIN <= MAX, got "${text}"`);
      }
      return { kind: "between", minS: args[0], maxS: args[1] };
    case "constant_pacing":
      need(1);
      return { kind: "constant_pacing", seconds: args[0] };
    case "constant_throughput":
      need(1);
      if (args[0] === 0) {
        throw new WaitTimeError(`${where}: constant_throughput() needs a rate > 0, got "${text}"`);
      }
      return { kind: "constant_throughput", perSecond: args[0] };
    default:
      throw new WaitTimeError(`${where}: unknown wait time "${m[1]}"; use ${FORMS}`);
  }
}

/** Renders a wait time in Locust's spelling (`constant(0.01)`, not `constant(0.010000000000000002)`). */
export function formatWaitTime(w: WaitTime): string {
  const n = (x: number) => formatNumber(x, { maxDecimals: 4 });
  switch (w.kind) {
    case "constant":
      return `constant(${n(w.seconds)})`;
    case "between":
      return `between(${n(w.minS)}, ${n(w.maxS)})`;
    case "constant_pacing":
      return `constant_pacing(${n(w.seconds)})`;
    case "constant_throughput":
      return `constant_throughput(${n(w.perSecond)})`;
  }
}

/**
 * Seconds to wait after a task that took `taskS` seconds. `random` returns [0, 1)
 * (inject a seeded one for reproducible runs). Pacing and throughput only cap the rate: a task
 * longer than the interval gets 0.
 */
export function waitSeconds(
  w: WaitTime,
  taskS: number,
  random: () => number = Math.random,
): number {
  switch (w.kind) {
    case "constant":
      return w.seconds;
    case "between":
      return w.minS + random() * (w.maxS - w.minS);
    case "constant_pacing":
      return Math.max(0, w.seconds - taskS);
    case "constant_throughput":
      return Math.max(0, 1 / w.perSecond - taskS);
  }
}
