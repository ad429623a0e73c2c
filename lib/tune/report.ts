/**
 * The tuner's outputs as text: the Pareto front, the comparison with other configs, the
 * sensitivity around the recommendation, the closest candidates when nothing meets the SLOs,
 * and rows for CSV/JSON. Fixed-width tables, like `deno task simulate`'s.
 *
 * @module
 */
import { type Score, scoreCandidate } from "./score.ts";
import type { Slo } from "./slo.ts";
import { KNOB_NAMES, type KnobName, type Knobs } from "./space.ts";
import type { TuneResult } from "./tune.ts";

/** Short column labels of the knobs. */
export const KNOB_LABELS: Record<KnobName, string> = {
  target_ongoing_requests: "target",
  min_replicas: "min",
  max_replicas: "max",
  upscale_delay_s: "up s",
  downscale_delay_s: "down s",
  upscaling_factor: "up x",
  downscaling_factor: "down x",
  max_ongoing_requests: "max ongoing",
  max_queued_requests: "max queued",
};

/** Renders rows as a fixed-width table (first column left-aligned, the rest right-aligned). */
export function textTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A number for a table: fixed digits, `-` for missing, `inf` for no requests. */
export function fmt(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "-";
  if (!Number.isFinite(x)) return "inf";
  return x.toFixed(digits);
}

/** How a cost is shown: replica-hours, plus money when a CPU-hour price is given. */
export interface CostOptions {
  /** Price of one CPU-hour (`--cpu-hour-price`). */
  cpuHourPrice?: number | null;
  /** CPUs per replica (`ray_actor_options.num_cpus`). */
  cpusPerReplica: number;
}

function costCells(replicaHours: number, cost: CostOptions): string[] {
  const cells = [fmt(replicaHours, 3)];
  if (cost.cpuHourPrice) cells.push(fmt(replicaHours * cost.cpusPerReplica * cost.cpuHourPrice, 2));
  return cells;
}

function costHeader(cost: CostOptions): string[] {
  return cost.cpuHourPrice ? ["replica-h", "cost"] : ["replica-h"];
}

function primaryLabel(slos: readonly Slo[]): string {
  const m = slos[0]?.metric ?? "p99";
  return m === "fail_ratio" ? "worst fail ratio" : `worst ${m} ms`;
}

function primaryCell(slos: readonly Slo[], v: number): string {
  return slos[0]?.metric === "fail_ratio" ? fmt(v, 4) : fmt(v, 0);
}

function knobCells(k: Knobs): string[] {
  return KNOB_NAMES.map((n) => String(k[n]));
}

/** What the tables need besides the result. */
export interface TableOptions {
  /** The SLOs the candidates are checked against (the first is the primary one). */
  slos: readonly Slo[];
  /** Cost columns (default replica-hours only, 1 CPU per replica). */
  cost?: CostOptions;
}

const NO_PRICE: CostOptions = { cpuHourPrice: null, cpusPerReplica: 1 };

/** The Pareto front of fully scored candidates (cheapest first), the recommendation marked `*`. */
export function frontTable(result: TuneResult, options: TableOptions): string {
  const { slos, cost = NO_PRICE } = options;
  const { candidates, scores, front, recommended } = result.search;
  const header = [
    "#",
    ...costHeader(cost),
    primaryLabel(slos),
    "met",
    ...KNOB_NAMES.map((n) => KNOB_LABELS[n]),
  ];
  const rows = front.map((i) => [
    `${i === recommended ? "*" : ""}${i}`,
    ...costCells(scores[i].replicaHours, cost),
    primaryCell(slos, scores[i].primaryWorst),
    `${scores[i].scenariosMet}/${scores[i].scenariosRun}`,
    ...knobCells(candidates[i].knobs),
  ]);
  return textTable(header, rows);
}

/**
 * Whether `a` dominates `b` (no worse on cost and the primary metric, better on one). The
 * comparison only lets candidates that meet every other SLO dominate.
 */
export function dominates(a: Score, b: Score): boolean {
  return a.replicaHours <= b.replicaHours && a.primaryWorst <= b.primaryWorst &&
    (a.replicaHours < b.replicaHours || a.primaryWorst < b.primaryWorst);
}

/** A compared config's verdict against the tuned candidates. */
export interface ComparisonRow {
  /** The compared config's name (its file name without `.yaml`). */
  name: string;
  /** Its mean replica-hours over the base-traffic scenarios. */
  replicaHours: number;
  /** Its worst value of the primary SLO's metric over the scenarios. */
  primaryWorst: number;
  /** Scenarios on which it met every SLO. */
  scenariosMet: number;
  /** Scenarios it was run on. */
  scenariosRun: number;
  /** Met every SLO on every scenario. */
  meets: boolean;
  /** No fully scored tuned candidate dominates it. */
  onFront: boolean;
  /** Replica-hours of the recommendation / this config's, minus 1 (null: no recommendation). */
  recommendationDelta: number | null;
}

/** The comparison rows (configs in the order given). */
export function comparisonRows(result: TuneResult): ComparisonRow[] {
  const { scores, recommended } = result.search;
  const full = scores.filter((s) => s.othersMet);
  return result.compared.map((c) => ({
    name: c.name,
    replicaHours: c.score.replicaHours,
    primaryWorst: c.score.primaryWorst,
    scenariosMet: c.score.scenariosMet,
    scenariosRun: c.score.scenariosRun,
    meets: c.score.robust,
    onFront: !full.some((s) => dominates(s, c.score)),
    recommendationDelta: recommended === null
      ? null
      : scores[recommended].replicaHours / c.score.replicaHours - 1,
  }));
}

/** The comparison table: each config on the same scenarios, and the recommendation's row. */
export function comparisonTable(result: TuneResult, options: TableOptions): string {
  const { slos, cost = NO_PRICE } = options;
  const header = [
    "config",
    ...costHeader(cost),
    primaryLabel(slos),
    "met",
    "meets SLO",
    "on front",
    "recommended vs it",
  ];
  const rows = comparisonRows(result).map((r) => [
    r.name,
    ...costCells(r.replicaHours, cost),
    primaryCell(slos, r.primaryWorst),
    `${r.scenariosMet}/${r.scenariosRun}`,
    r.meets ? "yes" : "no",
    r.onFront ? "yes" : "no",
    r.recommendationDelta === null
      ? "-"
      : `${r.recommendationDelta <= 0 ? "" : "+"}${fmt(r.recommendationDelta * 100, 0)}% cost`,
  ]);
  const { recommended, scores } = result.search;
  if (recommended !== null) {
    const s = scores[recommended];
    rows.push([
      "(recommended)",
      ...costCells(s.replicaHours, cost),
      primaryCell(slos, s.primaryWorst),
      `${s.scenariosMet}/${s.scenariosRun}`,
      "yes",
      "yes",
      "",
    ]);
  }
  return textTable(header, rows);
}

/** A fraction as a signed percentage with one decimal (`+4.9%`, `-12.5%`, `0.0%`). */
export function signedPercent(fraction: number): string {
  const rounded = Number((fraction * 100).toFixed(1)) || 0;
  return `${rounded > 0 ? "+" : ""}${rounded.toFixed(1)}%`;
}

/** The sensitivity table: each knob moved a step down and up from the recommendation. */
export function sensitivityTable(result: TuneResult, options: TableOptions): string {
  const { slos } = options;
  const { recommended, scores } = result.search;
  if (recommended === null) return "(no recommendation)";
  const base = scores[recommended];
  const baseScenarios = result.scenarios.map((sc, i) => ({ sc, i })).filter((x) => x.sc.base);
  const atBase = scoreCandidate(
    { outcomes: baseScenarios.map((x) => result.search.candidates[recommended].outcomes[x.i]) },
    { scenarios: baseScenarios.map((x) => x.sc), slos },
  );
  const header = [
    "knob",
    "value",
    "moved to",
    "replica-h",
    "cost change",
    primaryLabel(slos),
    "meets",
  ];
  const rows = result.sensitivity.map((r) => [
    r.knob,
    String(r.value),
    String(r.moved),
    fmt(r.replicaHours, 3),
    signedPercent(r.replicaHours / base.replicaHours - 1),
    primaryCell(slos, r.primaryWorst),
    r.meets ? "yes" : "no",
  ]);
  rows.unshift([
    "(recommended)",
    "",
    "",
    fmt(atBase.replicaHours, 3),
    "",
    primaryCell(slos, atBase.primaryWorst),
    atBase.robust ? "yes" : "no",
  ]);
  return textTable(header, rows);
}

/**
 * When no candidate meets every SLO on every scenario: the `n` fully scored candidates (else any
 * scored) closest to it (smallest worst value/limit), as a table.
 */
export function closestTable(result: TuneResult, options: TableOptions & { n?: number }): string {
  const { slos, cost = NO_PRICE, n = 5 } = options;
  const { candidates, scores } = result.search;
  const ids = scores.map((_, i) => i);
  const full = ids.filter((i) => scores[i].full);
  const pool = full.length > 0 ? full : ids.filter((i) => scores[i].scenariosRun > 0);
  pool.sort((a, b) => scores[a].worstRatio - scores[b].worstRatio || a - b);
  const header = [
    "#",
    ...costHeader(cost),
    primaryLabel(slos),
    "worst value/limit",
    "met",
    ...KNOB_NAMES.map((k) => KNOB_LABELS[k]),
  ];
  const rows = pool.slice(0, n).map((i) => [
    String(i),
    ...costCells(scores[i].replicaHours, cost),
    primaryCell(slos, scores[i].primaryWorst),
    fmt(scores[i].worstRatio, 2),
    `${scores[i].scenariosMet}/${scores[i].scenariosRun}`,
    ...knobCells(candidates[i].knobs),
  ]);
  return textTable(header, rows);
}

/** Every candidate as CSV (knobs, scenarios run/met, replica-hours, worst primary metric). */
export function candidatesCsv(result: TuneResult): string {
  const { candidates, scores, front, recommended } = result.search;
  const onFront = new Set(front);
  const head = [
    "id",
    "origin",
    ...KNOB_NAMES,
    "scenarios_run",
    "scenarios_met",
    "replica_hours",
    "primary_worst",
    "worst_ratio",
    "on_front",
    "recommended",
  ];
  const lines = candidates.map((c, i) =>
    [
      i,
      c.origin,
      ...knobCells(c.knobs),
      scores[i].scenariosRun,
      scores[i].scenariosMet,
      scores[i].replicaHours,
      scores[i].primaryWorst,
      scores[i].worstRatio,
      onFront.has(i) ? 1 : 0,
      i === recommended ? 1 : 0,
    ].join(",")
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}
