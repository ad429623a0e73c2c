/**
 * What drives requests into a simulation: closed-loop users or open-loop arrivals.
 *
 * @module
 */
import type { Rng } from "../duration/mod.ts";

/** Closed-loop load: users who send a request, wait for the answer, then wait `waitTimeS`. */
export interface ClosedLoopLoad {
  /** Closed loop: users waiting for each answer. */
  kind: "closed";
  /** Users that should be running at `elapsedS` (the load generator's `userCountAt`). */
  usersAt: (elapsedS: number) => number;
  /** Sorted times (s) at which `usersAt` may change; the engine re-reads it just after each. */
  changeTimesS: readonly number[];
  /** End of the load, seconds. */
  durationS: number;
  /** Wait after each task, seconds; gets the task's duration (for `constant_pacing`). */
  waitTimeS: (rng: Rng, taskTimeS: number) => number;
}

/** One Poisson stage: until `endS` (seconds since the start), arrivals at `rate`/s. */
export interface RateStage {
  /** End of the stage, seconds since the start. */
  endS: number;
  /** Mean arrivals per second during the stage. */
  rate: number;
}

/** Open-loop load: arrivals that do not wait for responses. */
export interface OpenLoopLoad {
  /** Open loop: arrivals independent of the answers. */
  kind: "open";
  /** End of the load, seconds. */
  durationS: number;
  /** Scheduled arrivals: time (s) of the k-th (k = 0, 1, ...), `null` when done (`arrivalTimeS`). */
  arrivalTimeS?: (k: number) => number | null;
  /** Or Poisson arrivals with piecewise-constant rates. */
  poissonStages?: readonly RateStage[];
  /** An arrival that finds this many requests in flight is dropped (`null`: never). */
  maxInFlight?: number | null;
}

/** A closed loop of `users` from time 0 for `durationS`, each waiting `waitTimeS` between requests. */
export function constantUsersLoad(
  users: number,
  options: { durationS: number; waitTimeS: (rng: Rng, taskTimeS: number) => number },
): ClosedLoopLoad {
  return {
    kind: "closed",
    usersAt: (t) => (t < options.durationS ? users : 0),
    changeTimesS: [0],
    durationS: options.durationS,
    waitTimeS: options.waitTimeS,
  };
}

/** Poisson arrivals at `ratePerS` for `durationS` (the M in M/M/c). */
export function poissonLoad(ratePerS: number, options: { durationS: number }): OpenLoopLoad {
  return {
    kind: "open",
    durationS: options.durationS,
    poissonStages: [{ endS: options.durationS, rate: ratePerS }],
  };
}

/** What drives requests into the simulation. */
export type LoadModel = ClosedLoopLoad | OpenLoopLoad;
