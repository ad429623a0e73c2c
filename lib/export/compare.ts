/**
 * `export --compare`: the same load simulated under Ray's policy and under each engine's policy
 * as the export maps the config (Knative's KPA, HPA behind KEDA), through lib/sim's public API,
 * summarised in one table (replicas, scale-up lag, p99, SLA, replica-hours) and one overlaid
 * replicas chart (lib/plot).
 *
 * What each engine variant changes in the simulated config: Ray's wrapper delays and gains are
 * switched off (the peer policy carries the engine's own windows and caps), the metric pipeline
 * is the engine's (KPA: 1 s scrape; KEDA: Prometheus `avg_over_time` over the look-back, scraped
 * every 15 s at most), and the policy is `knative-kpa` or `hpa` with the exported knobs.
 *
 * @module
 */
import type { AutoscalingConfig, ServeConfig } from "../config/mod.ts";
import type { LoadShape } from "../loadgen/mod.ts";
import type { DurationModel, SimulationSummary } from "../sim/mod.ts";
import type { ChartElement, RunData, RunSummary } from "../plot/mod.ts";
import { kedaMapping } from "./keda.ts";
import { knativeMapping } from "./knative.ts";

/** An engine whose scaling is predicted. */
export type CompareEngine = "ray" | "knative" | "keda";

/** One simulated variant of the config. */
export interface EngineVariant {
  /** The engine whose scaling this variant predicts. */
  engine: CompareEngine;
  /** Table and legend label, e.g. `knative (KPA)`. */
  label: string;
  /** The config with the engine's scaling emulated by a policy (`ray`: unchanged). */
  config: ServeConfig;
}

/** Prometheus scrape interval assumed for the KEDA variant, seconds. */
export const ASSUMED_SCRAPE_INTERVAL_S = 15;

function withAutoscaling(config: ServeConfig, as: AutoscalingConfig): ServeConfig {
  const [app, ...apps] = config.applications;
  const [dep, ...deps] = app.deployments;
  return {
    ...config,
    applications: [{ ...app, deployments: [{ ...dep, autoscaling_config: as }, ...deps] }, ...apps],
  };
}

function engineNeutral(as: AutoscalingConfig): AutoscalingConfig {
  return {
    ...as,
    upscale_delay_s: 0,
    downscale_delay_s: 0,
    downscale_to_zero_delay_s: 0,
    upscaling_factor: 1,
    downscaling_factor: 1,
    upscale_smoothing_factor: null,
    downscale_smoothing_factor: null,
    smoothing_factor: 1,
    aggregation_function: "mean",
  };
}

// lib/sim and lib/plot (Observable Plot, sharp) load only when comparing: `export --to` and
// `--check` stay light.
const loadSim = () => import("../sim/mod.ts");
const loadPlot = () => import("../plot/mod.ts");

/** The first application's first deployment (the one the lab serves and simulates). */
function servedDeployment(config: ServeConfig) {
  const dep = config.applications[0]?.deployments[0];
  if (!dep) throw new Error("the config needs an application with a deployment to compare");
  return dep;
}

/** The config as Ray, Knative and KEDA would scale it (one variant each). */
export function engineVariants(config: ServeConfig): EngineVariant[] {
  const dep = servedDeployment(config);
  const as = dep.autoscaling_config;
  const variants: EngineVariant[] = [{ engine: "ray", label: "ray (Serve)", config }];
  if (!as) return variants;
  const kn = knativeMapping(dep);
  variants.push({
    engine: "knative",
    label: "knative (KPA)",
    config: withAutoscaling(config, {
      ...engineNeutral(as),
      metrics_interval_s: 1,
      look_back_period_s: 1,
      policy: { policy_function: "knative-kpa", policy_kwargs: kn.kpaKwargs },
    }),
  });
  const kd = kedaMapping(dep);
  const scrapeS = Math.min(ASSUMED_SCRAPE_INTERVAL_S, kd.rangeS);
  variants.push({
    engine: "keda",
    label: "keda (HPA)",
    config: withAutoscaling(config, {
      ...engineNeutral(as),
      metrics_interval_s: scrapeS,
      look_back_period_s: kd.rangeS,
      policy: { policy_function: "hpa", policy_kwargs: kd.hpaKwargs },
    }),
  });
  return variants;
}

/** One row of the comparison. */
export interface CompareRow {
  /** The variant's label, e.g. `knative (KPA)`. */
  label: string;
  /** The engine predicted. */
  engine: CompareEngine;
  /** Mean target replicas over the run. */
  meanReplicas: number;
  /** Highest target replicas over the run. */
  maxReplicas: number;
  /** Seconds from the load's first rise to the first upscale (null: never scaled up). */
  scaleUpLagS: number | null;
  /** p99 latency over the run, ms (null without requests). */
  p99Ms: number | null;
  /** Share of seconds whose p99 met the SLO (0..1). */
  slaCompliance: number | null;
  /** Replicas holding CPUs integrated over the run, replica-hours. */
  replicaHours: number;
  /** Failed requests. */
  failures: number;
  /** Requests recorded (failures included). */
  requests: number;
}

/** What {@linkcode compareEngines} returns. */
export interface CompareResult {
  /** One row per engine variant (ray, then knative and keda when autoscaling). */
  rows: CompareRow[];
  /** Each variant's run as read back from its `_stats_history.csv`. */
  runs: RunData[];
  /** Each variant's simulation summary. */
  summaries: SimulationSummary[];
  /** Each variant's run summary (SLA compliance against `sloMs`). */
  runSummaries: RunSummary[];
  /** Seconds at which the load first rose above its first stage. */
  loadRiseS: number;
  /** p99 objective of the SLA column, ms. */
  sloMs: number;
}

/** Options of {@linkcode compareEngines}. */
export interface CompareOptions {
  /** Where each variant's result files go: `<outDir>/<name>_<engine>_*.csv`. */
  outDir: string;
  /** File-name stem (the config's name). */
  name: string;
  /** Random seed of the simulations (default 1). */
  seed?: number;
  /** p99 objective of the SLA column, ms (default 500, as `deno task visualize`). */
  sloMs?: number;
  /** Service time (default: the model's, as `deno task simulate`). */
  serviceTime?: DurationModel;
}

/** First time the load rises above its first stage (users or rate). */
export function loadRiseS(shape: LoadShape): number {
  const first = shape.stages[0];
  const level = (s: typeof first) => (shape.executor === "users" ? s.users : s.rate);
  const rise = shape.stages.find((s) => level(s) > level(first));
  return rise ? rise.startS : 0;
}

/** Simulates every engine variant of `config` under `shape` and summarises them. */
export async function compareEngines(
  config: ServeConfig,
  shape: LoadShape,
  options: CompareOptions,
): Promise<CompareResult> {
  const {
    defaultReplicaConcurrency,
    defaultStartupTime,
    loadFromShape,
    parseDurationSpec,
    simulate,
  } = await loadSim();
  const { loadRun, summarizeRun } = await loadPlot();
  const { stageRows } = await import("../loadgen/mod.ts");
  const dep = servedDeployment(config);
  const model = dep.user_config.model;
  const serviceTime = options.serviceTime ??
    await parseDurationSpec(model.kind === "noop" ? `fixed:${model.service_time_ms}` : "resnet50");
  const sloMs = options.sloMs ?? 500;
  const riseS = loadRiseS(shape);
  const rows: CompareRow[] = [];
  const runs: RunData[] = [];
  const summaries: SimulationSummary[] = [];
  const runSummaries: RunSummary[] = [];
  await Deno.mkdir(options.outDir, { recursive: true });
  for (const v of engineVariants(config)) {
    const prefix = `${options.outDir}/${options.name}_${v.engine}`;
    const result = await simulate(v.config, {
      name: v.label,
      load: loadFromShape(shape),
      serviceTime,
      startupTime: defaultStartupTime(dep),
      replicaConcurrency: defaultReplicaConcurrency(dep),
      seed: options.seed ?? 1,
      outPrefix: prefix,
      stages: stageRows(shape),
    });
    const run = await loadRun(`${prefix}_stats_history.csv`, { name: v.label });
    const rs = summarizeRun(run, { sloMs });
    const targets = result.seconds.map((s) => s.target);
    const s = result.summary;
    rows.push({
      label: v.label,
      engine: v.engine,
      meanReplicas: targets.reduce((a, b) => a + b, 0) / Math.max(1, targets.length),
      maxReplicas: Math.max(0, ...targets),
      scaleUpLagS: s.timeToFirstUpscaleS === null ? null : s.timeToFirstUpscaleS - riseS,
      p99Ms: s.p99Ms,
      slaCompliance: rs.slaCompliance,
      replicaHours: s.replicaHours,
      failures: s.failures,
      requests: s.requests,
    });
    runs.push(run);
    summaries.push(s);
    runSummaries.push(rs);
  }
  return { rows, runs, summaries, runSummaries, loadRiseS: riseS, sloMs };
}

const fmt = (x: number | null, digits: number) => (x === null ? "-" : x.toFixed(digits));

/** The comparison as a fixed-width table. */
export function formatCompareTable(result: CompareResult): string {
  const header = [
    "engine",
    "mean replicas",
    "max replicas",
    "scale-up lag s",
    "p99 ms",
    `SLA (p99<=${result.sloMs}ms)`,
    "replica-h",
    "failures",
    "requests",
  ];
  const cells = result.rows.map((r) => [
    r.label,
    fmt(r.meanReplicas, 2),
    String(r.maxReplicas),
    fmt(r.scaleUpLagS, 1),
    fmt(r.p99Ms, 0),
    r.slaCompliance === null ? "-" : `${(r.slaCompliance * 100).toFixed(1)} %`,
    fmt(r.replicaHours, 3),
    String(r.failures),
    String(r.requests),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/** The overlaid replicas chart of the variants (lib/plot's multi-run replicas chart) as SVG text. */
export async function compareChartSvg(result: CompareResult, title: string): Promise<string> {
  const { chartSvg, replicasChart } = await loadPlot();
  const chart: ChartElement = replicasChart(result.runs, { title });
  return chartSvg(chart);
}

/**
 * The comparison's findings as checked claims (lib/claims): which engine scales up first, which
 * costs the fewest replica-hours, which keeps the best SLA — each rendered from the rows and
 * checked against every other row.
 */
export async function compareClaims(result: CompareResult): Promise<string[]> {
  const { claim } = await import("../claims/mod.ts");
  const rows = result.rows;
  const out: string[] = [];
  const withLag = rows.filter((r) => r.scaleUpLagS !== null);
  if (withLag.length >= 2) {
    const first = withLag.reduce((a, b) => (b.scaleUpLagS! < a.scaleUpLagS! ? b : a));
    out.push(claim(
      `${first.label} scales up first`,
      withLag.every((r) => r === first || r.scaleUpLagS! >= first.scaleUpLagS!),
      withLag.map((r) => `${r.label} ${r.scaleUpLagS!.toFixed(1)} s`).join(", ") +
        " after the load rises",
    ));
  }
  const cheapest = rows.reduce((a, b) => (b.replicaHours < a.replicaHours ? b : a));
  out.push(claim(
    `${cheapest.label} uses the fewest replica-hours`,
    rows.every((r) => r.replicaHours >= cheapest.replicaHours),
    rows.map((r) => `${r.label} ${r.replicaHours.toFixed(3)}`).join(", "),
  ));
  const withSla = rows.filter((r) => r.slaCompliance !== null);
  if (withSla.length === rows.length) {
    const best = withSla.reduce((a, b) => (b.slaCompliance! > a.slaCompliance! ? b : a));
    out.push(claim(
      `${best.label} keeps p99 within ${result.sloMs} ms for the largest share of seconds`,
      withSla.every((r) => r.slaCompliance! <= best.slaCompliance!),
      withSla.map((r) => `${r.label} ${(r.slaCompliance! * 100).toFixed(1)} %`).join(", "),
    ));
  }
  return out;
}
