/**
 * One simulated load test of one serve config: the engine, the service's own autoscaler control
 * loop (`startAutoscaler` from lib/autoscaler) on the engine's virtual clock, and the load generator's statistics and CSV renderers (lib/loadgen) for the same
 * result files a real run writes: Locust's four, `_replicas.csv`, `_latency.csv`, `_stages.csv`.
 *
 * @module
 */
import type { AutoscalingConfig, DeploymentConfig, ServeConfig } from "../config/mod.ts";
import {
  type AutoscalingPolicy,
  initialTargetReplicas,
  isDefaultPolicyRef,
  loadPolicy,
  metricsSamplingPeriodMs,
  type ScalingDecision,
  startAutoscaler,
  type TickRecord,
} from "../autoscaler/mod.ts";
import {
  LATENCY_HEADER,
  LatencyHistogram,
  locustErrors,
  parseTarget,
  renderExceptionsCsv,
  renderFailuresCsv,
  renderLatencyRow,
  renderReplicasRow,
  renderStagesCsv,
  renderStatsCsv,
  renderStatsHistoryRows,
  REPLICAS_HEADER,
  RequestStats,
  resultFilePaths,
  type StageRowData,
  type StatsEntry,
  statsHistoryColumns,
} from "../loadgen/mod.ts";
import { SimEngine } from "./engine.ts";
import { BUILT_IN_REQUEST_OVERHEAD, overheadModel } from "./overhead.ts";
import type { SimController, SimEngineOptions, SimErrorKind } from "./engine_types.ts";
import { createRng, type DurationModel, fixedDuration } from "../duration/mod.ts";

/** How a simulated request shows up in the result files (method and name, like the load test). */
export const SIM_REQUEST = { method: "POST", name: "/" } as const;

/**
 * The failure text the load generator writes for the same outcome against the config's
 * `http_options` address (Locust's python-requests wording, from lib/loadgen's `locustErrors`).
 */
export function simErrorText(
  kind: SimErrorKind,
  options: { host: string; port: number; clientTimeoutS: number | null },
): string {
  const target = parseTarget(`http://${options.host}:${options.port}`);
  switch (kind) {
    case "rejected":
    case "replica_stopped":
      return locustErrors.http(target, SIM_REQUEST.name, 503, "Service Unavailable");
    case "timeout":
      return locustErrors.http(target, SIM_REQUEST.name, 504, "Gateway Timeout");
    case "client_timeout":
      return locustErrors.timeout(target, options.clientTimeoutS ?? 60);
  }
}

/**
 * The default start of the simulated control loop: a draw, from the seed's own stream, in the
 * metrics sampling period (`min(0.5 s, metrics_interval_s)`), whole ms.
 */
export function controlLoopPhaseMs(config: AutoscalingConfig, seed: number): number {
  const periodMs = metricsSamplingPeriodMs(config.metrics_interval_s);
  return Math.floor(createRng(seed, CONTROL_LOOP_PHASE_STREAM).next() * periodMs);
}

/** The seeded random stream of {@linkcode controlLoopPhaseMs} (the engine's use 1-6). */
const CONTROL_LOOP_PHASE_STREAM = 7;

/**
 * Options of {@linkcode simulate}: the engine's own (documented on {@linkcode SimEngineOptions})
 * where `simulate` passes them on unchanged, and those it defaults from the config or adds.
 */
export interface SimulateOptions extends
  Pick<
    SimEngineOptions,
    | "load"
    | "serviceTime"
    | "clusterCpus"
    | "machineCores"
    | "maxConcurrentStarts"
    | "durationS"
    | "clientTimeoutS"
    | "startEpochMs"
  > {
  /**
   * Replica startup time (CPUs allocated -> RUNNING); default {@linkcode defaultStartupTime}:
   * 0.3 s for a noop model, 2 s for a real one.
   */
  startupTime?: DurationModel;
  /**
   * Per-request time outside the replica (HTTP, event loops, the load generator) added to every
   * answered request; default {@linkcode BUILT_IN_REQUEST_OVERHEAD}'s model, `null` for none.
   * {@linkcode requestOverheadModel} gives the one measured on this machine, if any.
   */
  requestOverhead?: DurationModel | null;
  /**
   * Share of the overhead spent holding the replica slot (after the service, before release);
   * default the built-in measurement's when `requestOverhead` is defaulted, else 0.
   */
  requestOverheadInSlotShare?: number;
  /** Seed of every random draw (default 1). */
  seed?: number;
  /**
   * Requests one replica executes at once (the rest wait inside it, still "ongoing"). Default
   * {@linkcode defaultReplicaConcurrency}: `max_ongoing_requests` for a noop model (it sleeps, so
   * its requests overlap), 1 for a real model (one inference at a time on its CPUs).
   */
  replicaConcurrency?: number;
  /** Write the result files under this prefix (e.g. `results/sim/basic`). */
  outPrefix?: string;
  /** Stage rows for `_stages.csv`. */
  stages?: readonly StageRowData[];
  /**
   * When the control loop starts, ms after the load starts: the phase of its 100 ms ticks and
   * its metric samples against the load's stage changes. A real service's loop runs from its
   * deploy, before any load, so that phase is arbitrary; default a seeded draw in
   * `[0, min(500, metrics_interval_s * 1000))` ms (the sampling period). 0 lines a sample up
   * with every whole-second stage change, which reacts to a spike faster than a service can.
   */
  controlLoopStartMs?: number;
  /** Keep every control-loop tick record (memory: one object per 100 ms). */
  recordTicks?: boolean;
  /** Folder a relative custom `policy_function` is resolved from (default: the config file's). */
  policyBaseDir?: string;
  /** A policy to use instead of the config's (already loaded). */
  policy?: AutoscalingPolicy;
  /** Called every `progressEveryS` simulated seconds. */
  onProgress?: (elapsedS: number, totalS: number) => void;
  /** Default 10. */
  progressEveryS?: number;
  /** Label in the summary (default the config file name). */
  name?: string;
  /** Autoscaler log lines (decisions). */
  log?: (line: string) => void;
}

/** The comparison figures of one simulated run. */
export interface SimulationSummary {
  /** Label (config name). */
  name: string;
  /** Requests recorded (failures included). */
  requests: number;
  /** Failed requests (by kind in `failuresByKind`). */
  failures: number;
  /** Failures by kind. */
  failuresByKind: Record<SimErrorKind, number>;
  /** Latency percentiles over all recorded requests (HDR histogram, 3 significant digits), ms. */
  p50Ms: number | null;
  /** p90 latency, ms. */
  p90Ms: number | null;
  /** p99 latency, ms. */
  p99Ms: number | null;
  /** Mean latency over all recorded requests, ms. */
  meanMs: number;
  /** Slowest recorded request, ms (null without requests). */
  maxMs: number | null;
  /** Open loop: arrivals dropped because `max_in_flight` requests were in flight. */
  dropped: number;
  /** Largest router queue seen. */
  maxQueued: number;
  /** Most replicas RUNNING at once. */
  maxRunning: number;
  /** Replicas holding CPUs (STARTING, RUNNING, STOPPING) integrated over time. */
  replicaSeconds: number;
  /** `replicaSeconds` / 3600. */
  replicaHours: number;
  /** Replica-hours per 1,000 requests (`null` without requests). */
  replicaHoursPer1000: number | null;
  /** Seconds from the start to the first target increase (`null`: never). */
  timeToFirstUpscaleS: number | null;
  /** Changes of direction in the target-replica series. */
  oscillations: number;
  /** Target changes. */
  scalingDecisions: number;
  /** Simulated seconds. */
  durationS: number;
}

/** What {@linkcode simulate} returns. */
export interface SimulationResult {
  /** The run's comparison figures. */
  summary: SimulationSummary;
  /** Every scaling decision the controller made (empty for a fixed-size deployment). */
  decisions: ScalingDecision[];
  /** Every tick, when `recordTicks` was set. */
  ticks: TickRecord[];
  /** Files written (when `outPrefix` was given). */
  files: string[];
  /** Engine figures (events processed, queueing statistics). */
  events: number;
  /** Wall-clock ms the run took (excluding file writing). */
  wallMs: number;
  /** Per-second replica counts (Elapsed s, target, running) for fidelity comparisons. */
  seconds: { second: number; target: number; running: number; starting: number; pending: number }[];
}

/** Requests a replica of `dep` executes at once: all its slots for noop, else 1. */
export function defaultReplicaConcurrency(dep: DeploymentConfig): number {
  return dep.user_config.model.kind === "noop" ? dep.max_ongoing_requests : 1;
}

/**
 * Replica startup of `dep`: 0.3 s for noop and emulate (a Web Worker with no model to load,
 * measured by scripts/fidelity.ts on the shared 2-core box), 2 s for a model (ONNX session
 * creation ~1.2-2.6 s in research/spike.md and deno task benchmark).
 */
export function defaultStartupTime(dep: DeploymentConfig): DurationModel {
  const kind = dep.user_config.model.kind;
  return fixedDuration(kind === "noop" || kind === "emulate" ? 300 : 2000);
}

/** The first application's first deployment: the one the lab serves. */
export function servedDeployment(config: ServeConfig): DeploymentConfig {
  const app = config.applications[0];
  const dep = app?.deployments[0];
  if (!dep) {
    throw new Error(
      `${
        config.source_path ?? "config"
      }: needs at least one application with one deployment to simulate`,
    );
  }
  return dep;
}

function dirOf(path: string | null): string | undefined {
  if (!path) return undefined;
  const i = path.lastIndexOf("/");
  return i > 0 ? path.slice(0, i) : undefined;
}

function nameOf(config: ServeConfig): string {
  const p = config.source_path;
  if (!p) return config.applications[0]?.name ?? "config";
  return p.slice(p.lastIndexOf("/") + 1).replace(/\.ya?ml$/i, "");
}

/** Counts direction changes in a sequence of target changes. */
export function countOscillations(changes: readonly { from: number; to: number }[]): number {
  let last = 0, flips = 0;
  for (const c of changes) {
    const dir = Math.sign(c.to - c.from);
    if (dir === 0) continue;
    if (last !== 0 && dir !== last) flips++;
    last = dir;
  }
  return flips;
}

async function resolvePolicy(
  cfg: AutoscalingConfig,
  options: SimulateOptions,
  configDir: string | undefined,
): Promise<AutoscalingPolicy | undefined> {
  if (options.policy) return options.policy;
  const ref = cfg.policy?.policy_function ?? null;
  if (ref === null || isDefaultPolicyRef(ref)) return undefined;
  // Loaded before the run: the simulation itself is synchronous.
  return await loadPolicy(ref, { baseDir: options.policyBaseDir ?? configDir });
}

/**
 * Simulates a load test of `config` (its first application's first deployment) and returns the
 * comparison figures; writes the result files when `options.outPrefix` is set.
 */
export async function simulate(
  config: ServeConfig,
  options: SimulateOptions,
): Promise<SimulationResult> {
  const dep = servedDeployment(config);
  const app = config.applications[0];
  const as = dep.autoscaling_config;
  const name = options.name ?? nameOf(config);
  const configDir = dirOf(config.source_path);
  const policy = as ? await resolvePolicy(as, options, configDir) : undefined;
  const initialReplicas = as ? initialTargetReplicas(as) : (dep.num_replicas ?? 1);
  const startEpochMs = options.startEpochMs ?? Date.UTC(2026, 0, 1);
  const startS = startEpochMs / 1000;

  // No window cache: history percentiles are cumulative (Locust without --csv-full-history).
  const stats = new RequestStats(startS, { useResponseTimesCache: false });
  // Our own per-second interval, reset in place: RequestStats.takeInterval() allocates a fresh
  // ~180 KB histogram per call, which dominated short simulations.
  const interval = { requests: 0, failures: 0, histogram: new LatencyHistogram() };
  const failuresByKind: Record<SimErrorKind, number> = {
    rejected: 0,
    timeout: 0,
    client_timeout: 0,
    replica_stopped: 0,
  };
  const clientTimeoutS = options.clientTimeoutS === undefined ? 60 : options.clientTimeoutS;
  const errorText = Object.fromEntries(
    (Object.keys(failuresByKind) as SimErrorKind[]).map((k) => [
      k,
      simErrorText(k, { ...config.http_options, clientTimeoutS }),
    ]),
  ) as Record<SimErrorKind, string>;
  const writing = options.outPrefix !== undefined;
  const history: string[] = [];
  const latency: string[] = [];
  const replicas: string[] = [];
  const seconds: SimulationResult["seconds"] = [];
  const decisions: ScalingDecision[] = [];
  const ticks: TickRecord[] = [];
  const { method, name: path } = SIM_REQUEST;
  let entry: StatsEntry | undefined;
  /**
   * A simulation sends one request name, so Locust's Aggregated entry equals that entry in
   * everything `log()` counts: each request is logged once, into the entry, and the total takes
   * the entry's counters (its per-second and bucket maps shared) before anything reads it.
   * Failures are counted by `logError()` in both, as before.
   */
  // Requests logged into the entry in batches (StatsEntry.logMany): flushed when full, before
  // every stats-history row and at the end, so every reader sees every request.
  const pendingMs = new Float64Array(4096);
  const pendingAtS = new Float64Array(4096);
  let pending = 0;
  const flushPending = () => {
    entry?.logMany(pendingMs, pendingAtS, pending);
    pending = 0;
  };
  const syncTotal = () => {
    flushPending();
    if (entry === undefined) return;
    const t = stats.total;
    t.numRequests = entry.numRequests;
    t.numNoneRequests = entry.numNoneRequests;
    t.totalResponseTime = entry.totalResponseTime;
    t.minResponseTime = entry.minResponseTime;
    t.maxResponseTime = entry.maxResponseTime;
    t.maxIsFloat = entry.maxIsFloat;
    t.lastRequestTimestamp = entry.lastRequestTimestamp;
    t.totalContentLength = entry.totalContentLength;
    t.numReqsPerSec = entry.numReqsPerSec;
    t.responseTimes = entry.responseTimes;
  };

  // The service's own control loop (startAutoscaler) on the engine's virtual clock.
  const controller: SimController | undefined = as
    ? (target, clock) => {
      const handle = startAutoscaler(target, {
        config: as,
        appName: app.name,
        deploymentName: dep.name,
        clock,
        policy,
        log: options.log,
        onTick: options.recordTicks ? (record) => ticks.push(record) : undefined,
      });
      handle.onDecision((d) => decisions.push(d));
      return handle;
    }
    : undefined;

  const engine = new SimEngine({
    deployment: {
      initialReplicas,
      maxOngoingRequests: dep.max_ongoing_requests,
      maxQueuedRequests: dep.max_queued_requests,
      numCpusPerReplica: dep.ray_actor_options.num_cpus,
      gracefulShutdownWaitLoopS: dep.graceful_shutdown_wait_loop_s,
      gracefulShutdownTimeoutS: dep.graceful_shutdown_timeout_s,
      requestTimeoutS: config.http_options.request_timeout_s,
    },
    load: options.load,
    serviceTime: options.serviceTime,
    startupTime: options.startupTime ?? defaultStartupTime(dep),
    requestOverhead: options.requestOverhead === undefined
      ? overheadModel(BUILT_IN_REQUEST_OVERHEAD)
      : options.requestOverhead,
    requestOverheadInSlotShare: options.requestOverheadInSlotShare ??
      (options.requestOverhead === undefined ? BUILT_IN_REQUEST_OVERHEAD.inSlotShare : 0),
    seed: options.seed,
    clusterCpus: options.clusterCpus,
    machineCores: options.machineCores,
    replicaConcurrency: options.replicaConcurrency ?? defaultReplicaConcurrency(dep),
    maxConcurrentStarts: options.maxConcurrentStarts,
    durationS: options.durationS,
    clientTimeoutS,
    startEpochMs,
    controller,
    controllerStartMs: as
      ? options.controlLoopStartMs ?? controlLoopPhaseMs(as, options.seed ?? 1)
      : 0,
    progressEveryS: options.progressEveryS,
    observer: {
      request: (startEpochMsOfRequest, responseTimeMs, error) => {
        const nowS = (startEpochMsOfRequest + responseTimeMs) / 1000;
        interval.requests++;
        interval.histogram.record(responseTimeMs);
        // RequestStats.logRequest() minus its own interval histogram (we keep ours, reset in
        // place), minus the per-call entry lookup, logged once (see syncTotal()) and in
        // batches: logError() below counts other fields than log(), so the order between them
        // does not matter.
        entry ??= stats.get(path, method, nowS);
        pendingMs[pending] = responseTimeMs;
        pendingAtS[pending] = nowS;
        if (++pending === pendingMs.length) flushPending();
        if (error !== null) {
          failuresByKind[error]++;
          interval.failures++;
          stats.logError(method, path, errorText[error], nowS);
        }
      },
      second: (s) => {
        seconds.push({
          second: s.second,
          target: s.targetReplicas,
          running: s.runningReplicas,
          starting: s.startingReplicas,
          pending: s.pendingReplicas,
        });
        // One writer pass a second from 0 to the end, as the load generator's runner (its pass
        // at 0 reports 0 users).
        const nowS = s.epochMs / 1000;
        const at = { nowS, startS };
        if (writing) {
          const userCount = s.second === 0 ? 0 : s.users;
          syncTotal();
          history.push(renderStatsHistoryRows(stats, { nowS, userCount }));
          latency.push(renderLatencyRow(interval, at));
          replicas.push(renderReplicasRow({
            targetReplicas: s.targetReplicas,
            runningReplicas: s.runningReplicas,
            startingReplicas: s.startingReplicas,
            pendingReplicas: s.pendingReplicas,
            ongoingRequests: s.totalOngoingRequests,
            queuedRequests: s.queuedRequests,
          }, at));
        }
        interval.requests = 0;
        interval.failures = 0;
        interval.histogram.reset();
      },
      progress: options.onProgress,
    },
  });
  const t0 = performance.now();
  const run = engine.run();
  const wallMs = performance.now() - t0;

  const changes = run.targetChanges;
  const firstUp = changes.find((c) => c.to > c.from);
  syncTotal();
  const total = stats.total;
  const histogram = (entry ?? total).histogram;
  const [p50, p90, p99] = histogram.percentilesMs([50, 90, 99]);
  const requests = total.numRequests;
  const replicaHours = run.replicaSeconds / 3600;
  const summary: SimulationSummary = {
    name,
    requests,
    failures: total.numFailures,
    failuresByKind,
    p50Ms: p50,
    p90Ms: p90,
    p99Ms: p99,
    meanMs: total.avgResponseTime,
    maxMs: histogram.maxMs,
    dropped: run.dropped,
    maxQueued: run.maxQueued,
    maxRunning: run.maxRunning,
    replicaSeconds: run.replicaSeconds,
    replicaHours,
    replicaHoursPer1000: requests > 0 ? replicaHours / (requests / 1000) : null,
    timeToFirstUpscaleS: firstUp ? firstUp.elapsedS : null,
    oscillations: countOscillations(changes),
    scalingDecisions: changes.length,
    durationS: run.durationS,
  };

  const files: string[] = [];
  if (options.outPrefix !== undefined) {
    const paths = resultFilePaths(options.outPrefix);
    const dir = dirOf(paths.stats);
    if (dir) await Deno.mkdir(dir, { recursive: true });
    const crlf = (cells: string[]) => cells.join(",") + "\r\n";
    const texts: [string, string][] = [
      [paths.stats, renderStatsCsv(stats)],
      [paths.history, crlf(statsHistoryColumns()) + history.join("")],
      [paths.failures, renderFailuresCsv(stats)],
      [paths.exceptions, renderExceptionsCsv(stats)],
      [paths.replicas, REPLICAS_HEADER + "\n" + replicas.join("")],
      [paths.latency, LATENCY_HEADER + "\n" + latency.join("")],
    ];
    if (options.stages) texts.push([paths.stages, renderStagesCsv(options.stages)]);
    // All at once rather than one after another: on a busy machine every awaited write waits
    // for its turn, and seven in a row cost more than a tutorial-shape simulation.
    await Promise.all(texts.map(([path, text]) => Deno.writeTextFile(path, text)));
    files.push(...texts.map(([path]) => path));
  }
  return { summary, decisions, ticks, files, events: run.events, wallMs, seconds };
}

/**
 * The controller's aggregated input at every tick as a replay trace
 * (`time_s,total_ongoing_requests`, LF), for `deno task replay --input aggregated`.
 */
export function ticksToTraceCsv(ticks: readonly TickRecord[]): string {
  const rows = ["time_s,total_ongoing_requests"];
  let last = "";
  for (const [i, t] of ticks.entries()) {
    const value = String(t.totalOngoing);
    if (value === last && i !== ticks.length - 1) continue;
    last = value;
    rows.push(`${Number(t.elapsedS.toFixed(3))},${value}`);
  }
  return rows.join("\n") + "\n";
}

function fmt(x: number | null, digits = 0): string {
  return x === null ? "-" : x.toFixed(digits);
}

/** A fixed-width comparison table of simulated runs (one row per config). */
export function formatComparisonTable(summaries: readonly SimulationSummary[]): string {
  const header = [
    "config",
    "requests",
    "p50 ms",
    "p99 ms",
    "failures",
    "max queue",
    "replica-h",
    "rep-h/1k req",
    "1st upscale s",
    "oscillations",
    "decisions",
  ];
  const rows = summaries.map((s) => [
    s.name,
    String(s.requests),
    fmt(s.p50Ms, 1),
    fmt(s.p99Ms, 1),
    String(s.failures),
    String(s.maxQueued),
    fmt(s.replicaHours, 3),
    fmt(s.replicaHoursPer1000, 4),
    fmt(s.timeToFirstUpscaleS, 1),
    String(s.oscillations),
    String(s.scalingDecisions),
  ]);
  if (summaries.some((s) => s.dropped > 0)) {
    // Open loop only: arrivals dropped at max_in_flight.
    header.splice(5, 0, "dropped");
    rows.forEach((r, i) => r.splice(5, 0, String(summaries[i].dropped)));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
