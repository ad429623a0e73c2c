/**
 * Turns the load generator's shapes (configs/loadtest/*.yaml, `lib/loadgen` `LoadShape`) into the
 * engine's load model, reusing the load generator's own pure functions: `userCountAt` for the
 * closed loop (Locust's spawn batches, linear ramps), `arrivalTimeS` for the open loop (evenly
 * spaced arrivals, k6 style) and `waitSeconds` for Locust's wait times, fed by the simulator's
 * seeded random stream.
 *
 * @module
 */
import {
  arrivalTimeS,
  type LoadShape,
  parseWaitTime,
  type ShapeStage,
  userCountAt,
  waitSeconds,
  type WaitTime,
} from "../loadgen/mod.ts";
import type { LoadModel } from "./load_model.ts";

/** Wait time used when neither the shape nor the caller names one (the runner's: Locust's). */
export const DEFAULT_SIM_WAIT_TIME: WaitTime = parseWaitTime("constant(0)");

/**
 * Times (s) at which a closed-loop shape's user count can change: every stage start, every
 * spawn batch of a stepped stage, every whole-user crossing of a linear ramp.
 */
export function userChangeTimesS(shape: LoadShape): number[] {
  const times: number[] = [];
  let count = 0;
  const add = (t: number) => times.push(t);
  for (const s of shape.stages) {
    add(s.startS);
    const len = s.endS - s.startS;
    const delta = s.users - count;
    if (delta !== 0 && len > 0) {
      if (s.ramp === "linear") {
        // round(count + delta * f) changes where the line crosses a half-integer.
        const n = Math.abs(delta);
        for (let j = 0; j < n; j++) {
          const f = (j + 0.5) / n;
          add(s.startS + f * len);
        }
      } else if (s.spawnRate !== null && s.spawnRate > 0) {
        const every = s.spawnBatch / s.spawnRate;
        const batches = Math.ceil(Math.abs(delta) / s.spawnBatch);
        for (let k = 1; k < batches; k++) {
          const t = s.startS + k * every;
          if (t >= s.endS) break;
          add(t);
        }
      }
    }
    count = stageEndCount(shape, s);
  }
  times.sort((a, b) => a - b);
  return times.filter((t, i) => i === 0 || t !== times[i - 1]);
}

function stageEndCount(shape: LoadShape, s: ShapeStage): number {
  return userCountAt(shape, Math.max(s.startS, s.endS - 1e-6));
}

/** Options of {@linkcode loadFromShape}. */
export interface LoadFromShapeOptions {
  /** Overrides the shape's `wait_time` (closed loop). */
  waitTime?: WaitTime | null;
  /** Overrides the shape's `max_in_flight` (open loop). */
  maxInFlight?: number | null;
}

/** The engine's load model for a load-generator shape. */
export function loadFromShape(shape: LoadShape, options: LoadFromShapeOptions = {}): LoadModel {
  if (shape.executor === "arrival_rate") {
    return {
      kind: "open",
      durationS: shape.durationS,
      arrivalTimeS: (k) => arrivalTimeS(shape, k),
      maxInFlight: options.maxInFlight !== undefined ? options.maxInFlight : shape.maxInFlight,
    };
  }
  const wait = options.waitTime ?? shape.waitTime ?? DEFAULT_SIM_WAIT_TIME;
  return {
    kind: "closed",
    usersAt: (t) => userCountAt(shape, t),
    changeTimesS: userChangeTimesS(shape),
    durationS: shape.durationS,
    waitTimeS: (rng, taskS) => waitSeconds(wait, taskS, rng.next),
  };
}
