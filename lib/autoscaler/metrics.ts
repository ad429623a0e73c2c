/**
 * The metrics pipeline behind `total_num_requests` (research/ray-serve.md §3).
 *
 * Sources (the router's queue, each RUNNING replica) are sampled every
 * `min(0.5, metrics_interval_s)` s into windows kept for `look_back_period_s`; every
 * `metrics_interval_s` (and at once on a cold start: 0 running replicas, queued > 0) each window
 * is pushed as a report. The controller side keeps the newest report per source, drops stale
 * ones, merges the series into one instantaneous-total step function and reduces it with the
 * configured aggregation function. Every method takes the time as an argument: nothing here
 * reads a clock.
 *
 * @module
 */
import type { AggregationFunction, AutoscalingConfig } from "../config/mod.ts";
import { type PipelineTiming, pipelineTiming } from "./pipeline_timing.ts";

// Kept importable from here, where the pipeline that uses them lives.
export { type PipelineTiming, pipelineTiming } from "./pipeline_timing.ts";

/** One sample of a step function: `value` holds from `tMs` until the next sample. */
export interface TimedValue {
  /** Sample time in ms. */
  tMs: number;
  /** The value from `tMs` on. */
  value: number;
}

/**
 * A step function in two parallel arrays (times in ms, values), oldest first: how the pipeline's
 * windows hold and push their samples, with no object per sample.
 */
export interface PackedSeries {
  /** Sample times in ms. */
  readonly tMs: Float64Array;
  /** Sample values, `values[i]` from `tMs[i]` on (same length as `tMs`). */
  readonly values: Float64Array;
}

/** What kind of source a report comes from. */
export type SourceKind = "handle" | "replica";

/** One push: a source's window of samples at `pushedAtMs`. */
export interface MetricsReport {
  /** `router` for the caller-side queue, otherwise the replica id. */
  sourceId: string;
  /** `handle` reports carry queued counts, `replica` reports carry ongoing counts. */
  kind: SourceKind;
  /** When the report was pushed; the newest report per source wins. */
  pushedAtMs: number;
  /** Samples clipped to the look-back window, oldest first (the pipeline pushes them packed). */
  series: readonly TimedValue[] | PackedSeries;
}

/** Inputs the pipeline samples on every observation. */
export interface MetricsSample {
  /** Requests waiting in the router queue. */
  queued: number;
  /** Requests executing on each RUNNING replica. */
  ongoingByReplica: ReadonlyMap<string, number>;
  /**
   * Optional: a number that changes whenever the set of replica ids in `ongoingByReplica`, or
   * the order it iterates them in, changes (see {@linkcode MetricsStore.prune}); without it the
   * store checks every report on every observation and every sample looks its window up by id.
   */
  replicaSetVersion?: number;
}

/** Aggregated policy inputs. */
export interface AggregatedMetrics {
  /** Queued plus running, aggregated over the look-back window. */
  totalOngoing: number;
  /** The queued part. */
  queued: number;
  /** The running (on replicas) part. */
  running: number;
}

const ROUND_MS = 10;

/**
 * Merges step-function series into their instantaneous total (Ray's `merge_instantaneous_total`):
 * each series holds its last value until its next sample (0 before its first), timestamps are
 * rounded to 10 ms, and a point is emitted only when the total changes.
 */
export function mergeInstantaneousTotal(
  series: readonly (readonly TimedValue[] | PackedSeries)[],
): TimedValue[] {
  const active: PackedSeries[] = [];
  for (const s of series) {
    const packed = packSeries(s);
    if (packed.tMs.length > 0) active.push(packed);
  }
  if (active.length === 0) return [];
  if (active.length === 1) return dedupe(active[0]);
  return mergeSortedSeries(active) ?? mergeBySort(active);
}

/** `s` as a {@linkcode PackedSeries} (itself when it already is one). */
function packSeries(s: readonly TimedValue[] | PackedSeries): PackedSeries {
  if (!Array.isArray(s)) return s as PackedSeries;
  const points = s as readonly TimedValue[];
  const tMs = new Float64Array(points.length);
  const values = new Float64Array(points.length);
  for (let i = 0; i < points.length; i++) {
    tMs[i] = points[i].tMs;
    values[i] = points[i].value;
  }
  return { tMs, values };
}

function roundMs(tMs: number): number {
  return Math.round(tMs / ROUND_MS) * ROUND_MS;
}

/**
 * The merge for series that are each in time order (the pipeline's windows always are): a sweep
 * over the distinct rounded times, applying at each time every series' points in (series, position)
 * order, which is exactly the stable sort's order of {@linkcode mergeBySort}, so it produces the
 * same points from the same arithmetic. Returns null (and the caller sorts) when a series is out
 * of order, or when the series' times are so unaligned that the sweep (one pass over the
 * remaining series per distinct time) would cost more than the sort.
 */
function mergeSortedSeries(active: readonly PackedSeries[]): TimedValue[] | null {
  const k = active.length;
  let points = 0;
  for (const s of active) {
    const ts = s.tMs;
    let prev = -Infinity;
    for (let j = 0; j < ts.length; j++) {
      const t = roundMs(ts[j]);
      if (!(t >= prev)) return null; // out of order, or NaN: the sort decides
      prev = t;
    }
    points += ts.length;
  }
  const budget = 16 * points + 4 * k + 1024;
  let work = 0;
  const pos = new Int32Array(k);
  const head = new Float64Array(k);
  const live = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    live[i] = i;
    head[i] = roundMs(active[i].tMs[0]);
  }
  let liveCount = k;
  const current = new Array<number>(k).fill(0);
  let total = 0;
  const merged: TimedValue[] = [];
  while (liveCount > 0) {
    work += liveCount;
    if (work > budget) return null;
    let tMs = Infinity;
    for (let j = 0; j < liveCount; j++) {
      const h = head[live[j]];
      if (h < tMs) tMs = h;
    }
    let kept = 0;
    for (let j = 0; j < liveCount; j++) {
      const idx = live[j];
      if (head[idx] === tMs) {
        const ts = active[idx].tMs, values = active[idx].values;
        let p = pos[idx];
        let t = tMs;
        while (t === tMs) {
          const value = values[p];
          total += value - current[idx];
          current[idx] = value;
          p++;
          t = p < ts.length ? roundMs(ts[p]) : NaN;
        }
        pos[idx] = p;
        if (p === ts.length) continue;
        head[idx] = t;
      }
      live[kept++] = idx;
    }
    liveCount = kept;
    const last = merged[merged.length - 1];
    if (last === undefined || Math.abs(last.value - total) > 1e-9) {
      merged.push({ tMs, value: total });
    }
  }
  return merged;
}

/** The reference merge: every point of every series, stably sorted by rounded time. */
function mergeBySort(active: readonly PackedSeries[]): TimedValue[] {
  const events: { tMs: number; idx: number; value: number; seq: number }[] = [];
  let seq = 0;
  active.forEach((s, idx) => {
    for (let j = 0; j < s.tMs.length; j++) {
      events.push({
        tMs: Math.round(s.tMs[j] / ROUND_MS) * ROUND_MS,
        idx,
        value: s.values[j],
        seq: seq++,
      });
    }
  });
  events.sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
  const current = new Array<number>(active.length).fill(0);
  let total = 0;
  const merged: TimedValue[] = [];
  let i = 0;
  while (i < events.length) {
    const tMs = events[i].tMs;
    for (; i < events.length && events[i].tMs === tMs; i++) {
      const e = events[i];
      total += e.value - current[e.idx];
      current[e.idx] = e.value;
    }
    const last = merged[merged.length - 1];
    if (last === undefined || Math.abs(last.value - total) > 1e-9) {
      merged.push({ tMs, value: total });
    }
  }
  return merged;
}

function dedupe(s: PackedSeries): TimedValue[] {
  const out: TimedValue[] = [];
  for (let j = 0; j < s.tMs.length; j++) {
    const tMs = Math.round(s.tMs[j] / ROUND_MS) * ROUND_MS;
    const value = s.values[j];
    const last = out[out.length - 1];
    if (last !== undefined && last.tMs === tMs) last.value = value;
    else if (last === undefined || last.value !== value) out.push({ tMs, value });
  }
  return out;
}

/** Options for {@linkcode reduceStepFunction}. */
export interface ReduceOptions {
  /** Start of the window in ms; the step function is 0 before its first point. */
  windowStartMs: number;
  /** End of the window (now) in ms. */
  endMs: number;
  /** `mean` (time-weighted), `max` or `min`. */
  fn: AggregationFunction;
}

/**
 * Reduces a step function over `[windowStartMs, endMs]`. `mean` is time-weighted; the last value
 * lasts until `endMs` (at least 1 ms). `max`/`min` take the value holding at the window start
 * and every point inside the window. Returns `null` for an empty series.
 */
export function reduceStepFunction(
  points: readonly TimedValue[],
  options: ReduceOptions,
): number | null {
  if (points.length === 0) return null;
  const last = points[points.length - 1];
  const endMs = Math.max(options.endMs, last.tMs + 1);
  const startMs = Math.min(options.windowStartMs, endMs - 1);
  if (options.fn === "mean") {
    let weighted = 0;
    let value = 0;
    let cursor = startMs;
    for (const p of points) {
      if (p.tMs <= startMs) {
        value = p.value;
        continue;
      }
      if (p.tMs >= endMs) break;
      weighted += value * (p.tMs - cursor);
      value = p.value;
      cursor = p.tMs;
    }
    weighted += value * (endMs - cursor);
    return weighted / (endMs - startMs);
  }
  let carried: number | null = null;
  const inWindow: number[] = [];
  for (const p of points) {
    if (p.tMs <= startMs) carried = p.value;
    else if (p.tMs <= endMs) inWindow.push(p.value);
  }
  if (carried !== null) inWindow.push(carried);
  if (inWindow.length === 0) return null;
  return options.fn === "max" ? Math.max(...inWindow) : Math.min(...inWindow);
}

/**
 * A per-source sample window: samples older than the look-back period are pruned, except the
 * last one before the window start, which tells the value holding at the window start. Samples
 * live in two growing typed arrays, written only past their end: a packed snapshot is a view
 * that stays valid (a full buffer moves the live part to new arrays).
 */
export class SampleWindow {
  #tMs = new Float64Array(64);
  #values = new Float64Array(64);
  #head = 0;
  #end = 0;
  readonly #lookBackMs: number;

  /** A window keeping `lookBackMs` of samples. */
  constructor(lookBackMs: number) {
    this.#lookBackMs = lookBackMs;
  }

  /** Appends a sample at `tMs` and prunes what fell out of the window. */
  record(tMs: number, value: number): void {
    if (this.#end === this.#tMs.length) this.#move();
    const times = this.#tMs;
    times[this.#end] = tMs;
    this.#values[this.#end++] = value;
    const cutoff = tMs - this.#lookBackMs;
    while (this.#head + 1 < this.#end && times[this.#head + 1] <= cutoff) this.#head++;
  }

  /**
   * The live samples into new arrays with room for three times as many more (old views keep the
   * old arrays): a move allocates, so it comes once per several look-back windows.
   */
  #move(): void {
    const live = this.#end - this.#head;
    const capacity = Math.max(64, 4 * live);
    const times = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    times.set(this.#tMs.subarray(this.#head, this.#end));
    values.set(this.#values.subarray(this.#head, this.#end));
    this.#tMs = times;
    this.#values = values;
    this.#head = 0;
    this.#end = live;
  }

  /** A copy of the window's samples, oldest first. */
  snapshot(): TimedValue[] {
    const out: TimedValue[] = [];
    for (let i = this.#head; i < this.#end; i++) {
      out.push({ tMs: this.#tMs[i], value: this.#values[i] });
    }
    return out;
  }

  /**
   * The window's samples, oldest first, as views of the window's arrays (which never change a
   * sample once recorded): what a push hands the store, without an object per sample.
   */
  packedSnapshot(): PackedSeries {
    return {
      tMs: this.#tMs.subarray(this.#head, this.#end),
      values: this.#values.subarray(this.#head, this.#end),
    };
  }
}

/**
 * The controller side: newest report per source, stale-report dropping, merge and reduce.
 */
export class MetricsStore {
  #reports = new Map<string, MetricsReport>();
  #timing: PipelineTiming;
  #sinceMs: number;
  #merged: { running: TimedValue[]; queued: TimedValue[] } | null = null;
  // What the last full prune walk saw, so that a walk that cannot drop anything is skipped.
  #walkedVersion: number | undefined = undefined;
  #ingestedSinceWalk = true;
  #oldestPushedAtMs = Infinity;

  /** A store reducing with `timing`; data before `sinceMs` is unknown and not averaged in. */
  constructor(timing: PipelineTiming, sinceMs: number) {
    this.#timing = timing;
    this.#sinceMs = sinceMs;
  }

  /** Keeps `report` unless a newer one from the same source is already held. */
  ingest(report: MetricsReport): void {
    const held = this.#reports.get(report.sourceId);
    if (held !== undefined && held.pushedAtMs > report.pushedAtMs) return;
    this.#reports.set(report.sourceId, report);
    this.#merged = null;
    this.#ingestedSinceWalk = true;
  }

  /**
   * Drops reports not refreshed within the staleness limit and replica reports not running.
   * With `replicaSetVersion` (a number that changes whenever the set of running ids changes),
   * the walk over every report is skipped when it could not drop anything: same version as the
   * last walk, no report ingested since, and the oldest report kept then not yet stale.
   */
  prune(
    nowMs: number,
    runningReplicaIds: { has(id: string): boolean },
    replicaSetVersion?: number,
  ): void {
    const staleAfterMs = this.#timing.staleAfterMs;
    if (
      replicaSetVersion !== undefined && replicaSetVersion === this.#walkedVersion &&
      !this.#ingestedSinceWalk && !(nowMs - this.#oldestPushedAtMs > staleAfterMs)
    ) {
      return;
    }
    let oldest = Infinity;
    for (const [id, report] of this.#reports) {
      const stale = nowMs - report.pushedAtMs > staleAfterMs;
      const stopped = report.kind === "replica" && !runningReplicaIds.has(id);
      if (stale || stopped) {
        this.#reports.delete(id);
        this.#merged = null;
      } else if (report.pushedAtMs < oldest) {
        oldest = report.pushedAtMs;
      }
    }
    this.#walkedVersion = replicaSetVersion;
    this.#ingestedSinceWalk = false;
    this.#oldestPushedAtMs = oldest;
  }

  /** Source ids currently held. */
  sources(): string[] {
    return [...this.#reports.keys()];
  }

  /** The aggregated inputs at `nowMs`: merged running + merged queued, each reduced. */
  aggregate(nowMs: number): AggregatedMetrics {
    if (this.#merged === null) {
      const running: (readonly TimedValue[] | PackedSeries)[] = [];
      const queued: (readonly TimedValue[] | PackedSeries)[] = [];
      for (const r of this.#reports.values()) {
        (r.kind === "replica" ? running : queued).push(r.series);
      }
      this.#merged = {
        running: mergeInstantaneousTotal(running),
        queued: mergeInstantaneousTotal(queued),
      };
    }
    const reduce = { windowStartMs: this.windowStartMs(nowMs), endMs: nowMs };
    const fn = this.#timing.aggregation;
    const running = reduceStepFunction(this.#merged.running, { ...reduce, fn }) ?? 0;
    const queued = reduceStepFunction(this.#merged.queued, { ...reduce, fn }) ?? 0;
    return { totalOngoing: running + queued, queued, running };
  }

  /** Start of the averaging window: `now - look_back_period_s`, but not before the store began. */
  windowStartMs(nowMs: number): number {
    return Math.max(nowMs - this.#timing.lookBackMs, this.#sinceMs);
  }
}

/** Where the controller's policy inputs come from. */
export interface MetricsSource {
  /** Called on every control-loop tick with the live counts. */
  observe(nowMs: number, sample: MetricsSample): void;
  /** The aggregated inputs at `nowMs`. */
  aggregate(nowMs: number): AggregatedMetrics;
}

/**
 * The whole pipeline: sampling windows (router queue + each RUNNING replica), periodic and
 * cold-start pushes, and the controller's {@linkcode MetricsStore}.
 */
export class MetricsPipeline implements MetricsSource {
  /** Periods derived from the deployment's `AutoscalingConfig` (see {@linkcode pipelineTiming}). */
  readonly timing: PipelineTiming;
  /** The controller-side store the pipeline pushes its window reports into. */
  readonly store: MetricsStore;
  #windows = new Map<string, { kind: SourceKind; window: SampleWindow }>();
  #nextRecordMs: number;
  #nextPushMs: number;
  #recordingAtMs = 0;
  #windowsVersion: number | undefined = undefined;
  // The replicas' windows in the running map's order, as of #windowsVersion: while the version
  // holds, a sample goes to its window by position, with no lookup by id.
  #replicaWindows: SampleWindow[] = [];
  #position = 0;
  readonly #recordReplica = (ongoing: number, id: string): void => {
    const w = this.#window(id, "replica");
    w.record(this.#recordingAtMs, ongoing);
    this.#replicaWindows.push(w);
  };
  readonly #recordReplicaAtPosition = (ongoing: number): void => {
    this.#replicaWindows[this.#position++].record(this.#recordingAtMs, ongoing);
  };
  #pushes = 0;

  /** A pipeline for `config`, starting at `startMs`. */
  constructor(config: AutoscalingConfig, startMs: number) {
    this.timing = pipelineTiming(config);
    this.store = new MetricsStore(this.timing, startMs);
    this.#nextRecordMs = startMs;
    this.#nextPushMs = startMs + this.timing.pushIntervalMs;
  }

  /** Number of pushes so far (periodic and cold-start). */
  get pushes(): number {
    return this.#pushes;
  }

  /** Samples when due, pushes when due or on a cold start, prunes the store. */
  observe(nowMs: number, sample: MetricsSample): void {
    const running = sample.ongoingByReplica;
    const coldStart = running.size === 0 && sample.queued > 0;
    if (nowMs >= this.#nextRecordMs || coldStart) {
      this.#record(nowMs, sample, running);
      while (this.#nextRecordMs <= nowMs) this.#nextRecordMs += this.timing.recordIntervalMs;
    }
    if (nowMs >= this.#nextPushMs || coldStart) {
      this.#push(nowMs);
      while (this.#nextPushMs <= nowMs) this.#nextPushMs += this.timing.pushIntervalMs;
    }
    this.store.prune(nowMs, running, sample.replicaSetVersion);
  }

  /** The aggregated inputs at `nowMs`. */
  aggregate(nowMs: number): AggregatedMetrics {
    return this.store.aggregate(nowMs);
  }

  #record(nowMs: number, sample: MetricsSample, running: ReadonlyMap<string, number>): void {
    this.#window("router", "handle").record(nowMs, sample.queued);
    // forEach, not for-of: no [id, value] pair per replica (1,000 replicas, every 0.5 s).
    this.#recordingAtMs = nowMs;
    // Windows of replicas no longer running: none can exist while the running set is the one
    // the windows were made for (same version, one window per replica plus the router's).
    const version = sample.replicaSetVersion;
    if (
      version !== undefined && version === this.#windowsVersion &&
      this.#windows.size === running.size + 1 && this.#replicaWindows.length === running.size
    ) {
      this.#position = 0;
      running.forEach(this.#recordReplicaAtPosition);
      return;
    }
    this.#replicaWindows = [];
    running.forEach(this.#recordReplica);
    for (const [id, w] of this.#windows) {
      if (w.kind === "replica" && !running.has(id)) this.#windows.delete(id);
    }
    this.#windowsVersion = version;
  }

  #window(id: string, kind: SourceKind): SampleWindow {
    let w = this.#windows.get(id);
    if (w === undefined) {
      w = { kind, window: new SampleWindow(this.timing.lookBackMs) };
      this.#windows.set(id, w);
    }
    return w.window;
  }

  #push(nowMs: number): void {
    this.#pushes++;
    for (const [sourceId, w] of this.#windows) {
      this.store.ingest({
        sourceId,
        kind: w.kind,
        pushedAtMs: nowMs,
        series: w.window.packedSnapshot(),
      });
    }
  }
}

/**
 * A source whose aggregated total is given directly (replay's `--input aggregated`, or a
 * simulator that models the aggregate): `set()` the value, and it holds until set again.
 */
export class DirectMetrics implements MetricsSource {
  #value: AggregatedMetrics = { totalOngoing: 0, queued: 0, running: 0 };

  /** Sets the policy input from now on. */
  set(totalOngoing: number, queued = 0): void {
    this.#value = { totalOngoing, queued, running: totalOngoing - queued };
  }

  /** Ignores live counts: the value is set from outside. */
  observe(_nowMs: number, _sample: MetricsSample): void {}

  /** The value last set. */
  aggregate(_nowMs: number): AggregatedMetrics {
    return { ...this.#value };
  }
}
