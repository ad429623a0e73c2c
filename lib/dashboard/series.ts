/**
 * One bounded chart series per deployment (keyed `app/deployment`), so the page can chart any
 * deployment of a multi-application service. A deployment that leaves the status (an `apply`
 * removed it) is marked removed and its series is kept until its last point is older than the
 * history window; one that comes back is live again. Time is passed in (no clock).
 *
 * @module
 */
import {
  type DeploymentCounts,
  deploymentCounts,
  type DeploymentPoint,
  type DeploymentRef,
  History,
  type RequestStats,
} from "./shaping.ts";

/** A deployment's series as the page receives it. */
export interface DeploymentSeriesJson {
  /** Name of the application the deployment belongs to. */
  app: string;
  /** Name of the deployment. */
  deployment: string;
  /** Unix ms of the first tick the deployment was missing from the status; null while present. */
  removed_ms: number | null;
  /** Its points, oldest first (at most one per tick, bounded like the request history). */
  points: DeploymentPoint[];
}

/** Options of {@linkcode DeploymentSeriesStore}. */
export interface DeploymentSeriesOptions {
  /** Points kept per series (the request history's capacity). */
  capacity: number;
  /** How far back the charts reach, ms: a removed series goes once its last point is older. */
  historyMs: number;
  /** Series kept at most; beyond it the longest-removed go first (default 64). */
  maxSeries?: number;
}

interface Series {
  app: string;
  deployment: string;
  removedMs: number | null;
  points: History<DeploymentPoint>;
}

/** The per-deployment series of the dashboard; see the module doc. */
export class DeploymentSeriesStore {
  readonly #series = new Map<string, Series>();
  readonly #capacity: number;
  readonly #historyMs: number;
  readonly #maxSeries: number;

  /** An empty store. */
  constructor(options: DeploymentSeriesOptions) {
    this.#capacity = options.capacity;
    this.#historyMs = options.historyMs;
    this.#maxSeries = options.maxSeries ?? 64;
    if (!Number.isInteger(this.#capacity) || this.#capacity < 1) {
      throw new RangeError(`series capacity must be an integer >= 1, got ${options.capacity}`);
    }
    if (!(this.#historyMs > 0)) {
      throw new RangeError(`historyMs must be > 0, got ${options.historyMs}`);
    }
    if (!Number.isInteger(this.#maxSeries) || this.#maxSeries < 1) {
      throw new RangeError(`maxSeries must be an integer >= 1, got ${options.maxSeries}`);
    }
  }

  /**
   * Records the tick at `t`: `current` is every deployment of the status, or null when the
   * service did not answer (then every present deployment gets a null point: a gap, not a 0).
   * `requests` gives the tick's request statistics of the deployments that received requests.
   * Returns the counts recorded for the present deployments (the frame's `deployments`).
   */
  record(
    t: number,
    current: readonly DeploymentRef[] | null,
    options: { requests?: ReadonlyMap<string, RequestStats> } = {},
  ): Record<string, DeploymentCounts> {
    const recorded: Record<string, DeploymentCounts> = {};
    if (current === null) {
      for (const [key, s] of this.#series) {
        if (s.removedMs !== null) continue;
        recorded[key] = deploymentCounts(null);
        s.points.push({ t, ...recorded[key] });
      }
    } else {
      const present = new Set<string>();
      for (const d of current) {
        present.add(d.key);
        let s = this.#series.get(d.key);
        if (!s) {
          s = {
            app: d.app,
            deployment: d.deployment,
            removedMs: null,
            points: new History(this.#capacity),
          };
          this.#series.set(d.key, s);
        }
        s.removedMs = null;
        recorded[d.key] = deploymentCounts(d.dep, options.requests?.get(d.key) ?? null);
        s.points.push({ t, ...recorded[d.key] });
      }
      for (const [key, s] of this.#series) {
        if (!present.has(key) && s.removedMs === null) s.removedMs = t;
      }
    }
    this.#ageOut(t);
    return recorded;
  }

  /** The keys held, in the order the deployments first appeared. */
  keys(): string[] {
    return [...this.#series.keys()];
  }

  /** Every series held (copies), by key. */
  toJson(): Record<string, DeploymentSeriesJson> {
    const out: Record<string, DeploymentSeriesJson> = {};
    for (const [key, s] of this.#series) {
      out[key] = {
        app: s.app,
        deployment: s.deployment,
        removed_ms: s.removedMs,
        points: s.points.toArray(),
      };
    }
    return out;
  }

  #ageOut(t: number): void {
    const removed = [...this.#series].filter(([, s]) => s.removedMs !== null);
    for (const [key, s] of removed) {
      const last = s.points.last()?.t ?? -Infinity;
      if (last < t - this.#historyMs) this.#series.delete(key);
    }
    if (this.#series.size <= this.#maxSeries) return;
    const oldestRemovedFirst = [...this.#series]
      .filter(([, s]) => s.removedMs !== null)
      .sort(([, a], [, b]) => a.removedMs! - b.removedMs!);
    for (const [key] of oldestRemovedFirst) {
      if (this.#series.size <= this.#maxSeries) break;
      this.#series.delete(key);
    }
  }
}
