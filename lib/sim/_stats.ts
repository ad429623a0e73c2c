/**
 * The simulator engine's own queueing statistics (after the warm-up): counts, time-averaged
 * requests in the system and replica-seconds, as plain numeric fields the hot path bumps.
 *
 * @module
 */
import type { SimQueueStats } from "./engine_types.ts";

/** Counters and time integrals of one run. */
export class EngineStats {
  /** Requests in the system now (queued + at replicas). */
  inSystem = 0;
  /** Replicas holding CPUs now (STARTING, RUNNING, STOPPING). */
  replicaHolding = 0;
  arrivals = 0;
  completed = 0;
  failed = 0;
  rejected = 0;
  timedOut = 0;
  sumWaitMs = 0;
  sumResponseMs = 0;
  maxQueued = 0;
  maxRunning = 0;
  requestsSent = 0;
  #areaInSystem = 0;
  #lastAreaMs = 0;
  #replicaArea = 0;
  #lastReplicaAreaMs = 0;
  readonly #warmupMs: number;

  /** Statistics that ignore what happens before `warmupMs`. */
  constructor(warmupMs: number) {
    this.#warmupMs = warmupMs;
  }

  /** Call before `inSystem` changes: integrates it up to `nowMs`. */
  accumulateArea(nowMs: number): void {
    if (nowMs > this.#warmupMs) {
      const from = Math.max(this.#lastAreaMs, this.#warmupMs);
      this.#areaInSystem += this.inSystem * (nowMs - from);
    }
    this.#lastAreaMs = nowMs;
  }

  /** Call before `replicaHolding` changes: integrates it up to `nowMs`. */
  accumulateReplicaArea(nowMs: number): void {
    this.#replicaArea += this.replicaHolding * (nowMs - this.#lastReplicaAreaMs);
    this.#lastReplicaAreaMs = nowMs;
  }

  /** Replica-seconds so far. */
  get replicaSeconds(): number {
    return this.#replicaArea / 1000;
  }

  /** The queueing figures of a run that ended at `endMs`. */
  queue(endMs: number): SimQueueStats {
    const spanMs = Math.max(1, endMs - this.#warmupMs);
    const c = this.completed;
    return {
      arrivals: this.arrivals,
      completed: c,
      failed: this.failed,
      rejected: this.rejected,
      timedOut: this.timedOut,
      meanWaitMs: c ? this.sumWaitMs / c : 0,
      meanResponseMs: c ? this.sumResponseMs / c : 0,
      meanInSystem: this.#areaInSystem / spanMs,
      arrivalRatePerS: this.arrivals / (spanMs / 1000),
      spanS: spanMs / 1000,
    };
  }
}
