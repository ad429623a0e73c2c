/**
 * Typed rows read from load-test result files: Locust's `_stats_history.csv` and `_stats.csv`
 * (real Locust output and ours alike) plus our extras `_replicas.csv`, `_latency.csv` and
 * `_stages.csv` (see notes/CONTRACTS.md). Every error names the file and the line.
 *
 * @module
 */
import { CsvTable, ResultFileError } from "./_csv.ts";
import type { RunDecisions } from "./decisions.ts";

export { ResultFileError };

/** One second of Locust's `_stats_history.csv` (the `Aggregated` row of each pass). */
export interface HistoryRow {
  /** Unix seconds. */
  timestamp: number;
  /** Seconds since the run started (see {@link RunData.startTimestamp}). */
  elapsedS: number;
  /** Users running at that moment. */
  users: number;
  /** Current requests per second (Locust: mean over ~10 s ending 2 s ago). */
  requestsPerS: number;
  /** Current failures per second. */
  failuresPerS: number;
  /** 50th percentile in ms; `null` for N/A. Cumulative or windowed: see {@link RunData.percentileKind}. */
  p50Ms: number | null;
  /** 90th percentile in ms. */
  p90Ms: number | null;
  /** 95th percentile in ms. */
  p95Ms: number | null;
  /** 99th percentile in ms. */
  p99Ms: number | null;
  /** 100% column in ms. */
  maxMs: number | null;
  /** Requests so far (whole run). */
  totalRequests: number;
  /** Failures so far (whole run). */
  totalFailures: number;
}

/** One second of `_replicas.csv`. */
export interface ReplicaRow {
  /** Unix seconds. */
  timestamp: number;
  /** Seconds since the run started. */
  elapsedS: number;
  /** Replicas the autoscaler wants. */
  target: number;
  /** Replicas serving. */
  running: number;
  /** Replicas starting up. */
  starting: number;
  /** Replicas waiting for CPUs. */
  pending: number;
  /** Requests executing on replicas. */
  ongoing: number;
  /** Requests waiting in the router queue. */
  queued: number;
}

/** One second of `_latency.csv`: exact percentiles of that second's samples. */
export interface LatencyRow {
  /** Unix seconds. */
  timestamp: number;
  /** Seconds since the run started. */
  elapsedS: number;
  /** Requests completed in that second. */
  requests: number;
  /** Failures in that second. */
  failures: number;
  /** Median in ms; `null` when the second had no samples. */
  p50Ms: number | null;
  /** 90th percentile in ms. */
  p90Ms: number | null;
  /** 95th percentile in ms. */
  p95Ms: number | null;
  /** 99th percentile in ms. */
  p99Ms: number | null;
  /** Slowest sample in ms. */
  maxMs: number | null;
}

/** One stage of the load shape (`_stages.csv`, or inferred from user-count changes). */
export interface StageRow {
  /** Stage label. */
  name: string;
  /** Start, seconds since the run started. */
  startS: number;
  /** End, seconds since the run started. */
  endS: number;
  /** Users the stage moves to. */
  users: number;
  /** Users started or stopped per second; `null` when inferred. */
  spawnRate: number | null;
}

/** Whole-run figures from the `Aggregated` row of `_stats.csv`. */
export interface StatsTotals {
  /** Requests in the run. */
  requests: number;
  /** Failed requests in the run. */
  failures: number;
  /** Mean response time, ms. */
  averageMs: number;
  /** Median (Locust's bucketed), ms; `null` when there were no requests. */
  p50Ms: number | null;
  /** 95th percentile, ms. */
  p95Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** Slowest response, ms. */
  maxMs: number | null;
  /** Whole-run requests per second. */
  requestsPerS: number;
}

/** What the history's percentile columns mean. */
export type PercentileKind = "per_second" | "window" | "cumulative";

/** Everything known about one run, times aligned to its start. */
export interface RunData {
  /** Label used in legends (file prefix without folder and `load_test_`, or as given). */
  name: string;
  /** The file prefix the run was read from (`results/load_test_x`), or `null` when built in memory. */
  prefix: string | null;
  /** Unix seconds of elapsed 0. */
  startTimestamp: number;
  /** `_stats_history.csv` Aggregated rows. */
  history: HistoryRow[];
  /** `_replicas.csv` rows, or `null` when the file is absent. */
  replicas: ReplicaRow[] | null;
  /** `_latency.csv` rows, or `null` when absent. */
  latency: LatencyRow[] | null;
  /** `_stages.csv` rows, else stages inferred from the user count. */
  stages: StageRow[];
  /** Whether {@link stages} came from `_stages.csv` or were inferred. */
  stagesSource: "file" | "inferred" | "none";
  /** `_stats.csv` Aggregated row, or `null` when absent. */
  totals: StatsTotals | null;
  /**
   * What the history percentiles are: `cumulative` (Locust `--csv`), `window` (about the last 10 s,
   * `--csv-full-history`). Latency charts prefer `_latency.csv` (`per_second`) when present.
   */
  percentileKind: PercentileKind;
  /**
   * The autoscaler's decisions during the run, from its decisions file, when one was found
   * ({@link findRunDecisions}); absent or `null` otherwise.
   */
  decisions?: RunDecisions | null;
}

const HISTORY_COLUMNS = [
  "Timestamp",
  "User Count",
  "Name",
  "Requests/s",
  "Failures/s",
  "Total Request Count",
  "Total Failure Count",
] as const;
const REPLICA_COLUMNS = [
  "Timestamp",
  "Elapsed (s)",
  "Target Replicas",
  "Running Replicas",
  "Starting Replicas",
  "Pending Replicas",
  "Total Ongoing Requests",
  "Queued Requests",
] as const;
const LATENCY_COLUMNS = [
  "Timestamp",
  "Elapsed (s)",
  "Requests",
  "Failures",
  "p50 (ms)",
  "p90 (ms)",
  "p95 (ms)",
  "p99 (ms)",
  "Max (ms)",
] as const;
const STAGE_COLUMNS = ["Stage", "Start (s)", "End (s)", "Users", "Spawn Rate"] as const;

/** Options shared by the text parsers. */
export interface ParseOptions {
  /** File name used in error messages (default `"<text>"`). */
  source?: string;
}

/** Parsed `_stats_history.csv`: Aggregated rows plus whether it was written with full history. */
export interface ParsedHistory {
  /** One row per pass (the Aggregated rows), elapsed 0 at the first row. */
  rows: HistoryRow[];
  /** True when per-entry rows were present (`--csv-full-history`: windowed percentiles). */
  fullHistory: boolean;
}

/** Parses Locust's `_stats_history.csv` text (default or `--csv-full-history`). */
export function parseStatsHistory(text: string, options: ParseOptions = {}): ParsedHistory {
  const source = options.source ?? "<text>";
  const table = new CsvTable(text, source, { what: "Locust stats_history" });
  table.require(HISTORY_COLUMNS, "Locust _stats_history.csv");
  const rows: HistoryRow[] = [];
  let fullHistory = false;
  let last = -Infinity;
  for (const rec of table.records) {
    if (table.text(rec, "Name") !== "Aggregated") {
      fullHistory = true;
      continue;
    }
    const timestamp = table.number(rec, "Timestamp");
    if (timestamp < last) {
      throw new ResultFileError(
        source,
        rec.line,
        `Timestamp ${timestamp} goes back in time (previous row ${last}); rows must be in time order`,
      );
    }
    last = timestamp;
    rows.push({
      timestamp,
      elapsedS: 0,
      users: table.number(rec, "User Count"),
      requestsPerS: table.number(rec, "Requests/s"),
      failuresPerS: table.number(rec, "Failures/s"),
      p50Ms: table.optionalNumber(rec, "50%"),
      p90Ms: table.optionalNumber(rec, "90%"),
      p95Ms: table.optionalNumber(rec, "95%"),
      p99Ms: table.optionalNumber(rec, "99%"),
      maxMs: table.optionalNumber(rec, "100%"),
      totalRequests: table.number(rec, "Total Request Count"),
      totalFailures: table.number(rec, "Total Failure Count"),
    });
  }
  if (rows.length === 0) {
    throw new ResultFileError(
      source,
      null,
      `no "Aggregated" rows: a Locust stats_history file has one per second`,
    );
  }
  const t0 = rows[0].timestamp;
  for (const row of rows) row.elapsedS = row.timestamp - t0;
  return { rows, fullHistory };
}

/**
 * Parses our `_replicas.csv` text. Rows whose counts are all empty (the service's status could not
 * be read that second) are gaps and are left out.
 */
export function parseReplicas(text: string, options: ParseOptions = {}): ReplicaRow[] {
  const source = options.source ?? "<text>";
  const table = new CsvTable(text, source, { what: "replicas" });
  table.require(REPLICA_COLUMNS, "_replicas.csv");
  const counts = REPLICA_COLUMNS.slice(2);
  const present = table.records.filter((rec) => counts.some((c) => table.text(rec, c) !== ""));
  return present.map((rec) => ({
    timestamp: table.number(rec, "Timestamp"),
    elapsedS: table.number(rec, "Elapsed (s)"),
    target: table.number(rec, "Target Replicas"),
    running: table.number(rec, "Running Replicas"),
    starting: table.number(rec, "Starting Replicas"),
    pending: table.number(rec, "Pending Replicas"),
    ongoing: table.number(rec, "Total Ongoing Requests"),
    queued: table.number(rec, "Queued Requests"),
  }));
}

/** Parses our `_latency.csv` text (empty percentile cells = a second without samples). */
export function parseLatency(text: string, options: ParseOptions = {}): LatencyRow[] {
  const source = options.source ?? "<text>";
  const table = new CsvTable(text, source, { what: "latency" });
  table.require(LATENCY_COLUMNS, "_latency.csv");
  return table.records.map((rec) => ({
    timestamp: table.number(rec, "Timestamp"),
    elapsedS: table.number(rec, "Elapsed (s)"),
    requests: table.number(rec, "Requests"),
    failures: table.number(rec, "Failures"),
    p50Ms: table.optionalNumber(rec, "p50 (ms)"),
    p90Ms: table.optionalNumber(rec, "p90 (ms)"),
    p95Ms: table.optionalNumber(rec, "p95 (ms)"),
    p99Ms: table.optionalNumber(rec, "p99 (ms)"),
    maxMs: table.optionalNumber(rec, "Max (ms)"),
  }));
}

/** Parses our `_stages.csv` text. */
export function parseStages(text: string, options: ParseOptions = {}): StageRow[] {
  const source = options.source ?? "<text>";
  const table = new CsvTable(text, source, { what: "stages" });
  table.require(STAGE_COLUMNS, "_stages.csv");
  return table.records.map((rec) => {
    const startS = table.number(rec, "Start (s)");
    const endS = table.number(rec, "End (s)");
    if (endS < startS) {
      throw new ResultFileError(
        source,
        rec.line,
        `stage ends (${endS} s) before it starts (${startS} s)`,
      );
    }
    return {
      name: table.text(rec, "Stage"),
      startS,
      endS,
      users: table.number(rec, "Users"),
      spawnRate: table.optionalNumber(rec, "Spawn Rate"),
    };
  });
}

/** Parses the `Aggregated` row of Locust's `_stats.csv`; `null` when it has none. */
export function parseStatsTotals(text: string, options: ParseOptions = {}): StatsTotals | null {
  const source = options.source ?? "<text>";
  const table = new CsvTable(text, source, { what: "Locust stats" });
  table.require(
    ["Name", "Request Count", "Failure Count", "Average Response Time", "Requests/s"],
    "Locust _stats.csv",
  );
  const rec = table.records.find((r) => table.text(r, "Name") === "Aggregated");
  if (!rec) return null;
  return {
    requests: table.number(rec, "Request Count"),
    failures: table.number(rec, "Failure Count"),
    averageMs: table.number(rec, "Average Response Time"),
    p50Ms: table.optionalNumber(rec, "50%"),
    p95Ms: table.optionalNumber(rec, "95%"),
    p99Ms: table.optionalNumber(rec, "99%"),
    maxMs: table.optionalNumber(rec, "Max Response Time"),
    requestsPerS: table.number(rec, "Requests/s"),
  };
}

/**
 * Stage boundaries inferred from user-count changes, placed where the users line (drawn
 * step-after) moves: a stage starts at the first row that shows a new count after a plateau (or
 * after a change in direction), and consecutive rows moving the same way are one ramp. The first
 * stage starts at the first row with users (not at 0 s when the run begins with 0 users), and a
 * stage's users are the count it holds before the next stage starts.
 */
export function inferStages(
  history: readonly Pick<HistoryRow, "elapsedS" | "users">[],
): StageRow[] {
  const first = history.findIndex((r) => r.users > 0);
  if (first < 0) return [];
  const starts: number[] = [first];
  for (let i = first + 1; i < history.length; i++) {
    const step = Math.sign(history[i].users - history[i - 1].users);
    if (step === 0) continue;
    const before = i - 1 > first ? Math.sign(history[i - 1].users - history[i - 2].users) : 0;
    if (before !== step) starts.push(i); // after a plateau, or the ramp turned
  }
  const end = history[history.length - 1].elapsedS;
  return starts.map((rowIndex, s) => {
    const nextRow = s + 1 < starts.length ? starts[s + 1] : history.length;
    return {
      name: `stage ${s + 1}`,
      startS: history[rowIndex].elapsedS,
      endS: s + 1 < starts.length ? history[nextRow].elapsedS : end,
      users: history[nextRow - 1].users,
      spawnRate: null,
    };
  });
}

/** Parts from which {@link makeRun} builds a {@link RunData}. */
export interface RunParts {
  /** Legend label. */
  name: string;
  /** File prefix, if any. */
  prefix?: string | null;
  /** Parsed `_stats_history.csv`. */
  history: ParsedHistory;
  /** `_replicas.csv` rows. */
  replicas?: ReplicaRow[] | null;
  /** `_latency.csv` rows. */
  latency?: LatencyRow[] | null;
  /** `_stages.csv` rows. */
  stages?: StageRow[] | null;
  /** `_stats.csv` Aggregated row. */
  totals?: StatsTotals | null;
}

/**
 * Aligns the parts on one time axis and fills in stages. Elapsed 0 is the run start that our extras
 * record (`Timestamp - Elapsed (s)` of their first row); for plain Locust files it is the first
 * history row.
 */
export function makeRun(parts: RunParts): RunData {
  const replicas = parts.replicas ?? null;
  const latency = parts.latency ?? null;
  const anchor = latency?.[0] ?? replicas?.[0];
  const rows = parts.history.rows.map((r) => ({ ...r }));
  const startTimestamp = anchor
    ? Math.round(anchor.timestamp - anchor.elapsedS)
    : (rows[0]?.timestamp ?? 0);
  for (const row of rows) row.elapsedS = row.timestamp - startTimestamp;
  let stages = parts.stages ?? null;
  let stagesSource: RunData["stagesSource"] = "file";
  if (!stages || stages.length === 0) {
    stages = inferStages(rows);
    stagesSource = stages.length > 0 ? "inferred" : "none";
  }
  return {
    name: parts.name,
    prefix: parts.prefix ?? null,
    startTimestamp,
    history: rows,
    replicas,
    latency,
    stages,
    stagesSource,
    totals: parts.totals ?? null,
    percentileKind: parts.history.fullHistory ? "window" : "cumulative",
  };
}

const HISTORY_SUFFIX = "_stats_history.csv";

/** The file prefix of a `..._stats_history.csv` path (or of a bare prefix). */
export function resultPrefix(path: string): string {
  return path.endsWith(HISTORY_SUFFIX) ? path.slice(0, -HISTORY_SUFFIX.length) : path;
}

/** Legend label for a prefix: its file name without a leading `load_test_`. */
export function runName(prefix: string): string {
  const base = prefix.split(/[\\/]/).pop() ?? prefix;
  return base.replace(/^load_test_/, "") || base;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new ResultFileError(path, null, `cannot read: ${(error as Error).message}`);
  }
}

/** Whether `path` names an existing file (not a folder, not a bare prefix). */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Reads one run. `path` is a Locust-format stats history file, recognised by its header whatever
 * its name, or a bare prefix (`results/load_test_x` for `results/load_test_x_stats_history.csv`).
 * The sibling files `PREFIX_stats.csv`, `PREFIX_replicas.csv`, `PREFIX_latency.csv` and
 * `PREFIX_stages.csv` are read when present, and looked for only when the name gives a prefix
 * (it ends in `_stats_history.csv`, or a prefix was given). Throws {@link ResultFileError}.
 */
export async function loadRun(path: string, options: { name?: string } = {}): Promise<RunData> {
  const named = path.endsWith(HISTORY_SUFFIX);
  const historyPath = named || await isFile(path) ? path : path + HISTORY_SUFFIX;
  const prefix = historyPath.endsWith(HISTORY_SUFFIX) ? resultPrefix(historyPath) : null;
  let historyText: string;
  try {
    historyText = await Deno.readTextFile(historyPath);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "file not found (expected a Locust-format stats history written by `deno task loadtest --csv PREFIX` or Locust's --csv)"
      : `cannot read: ${(error as Error).message}`;
    throw new ResultFileError(historyPath, null, why);
  }
  const history = parseStatsHistory(historyText, { source: historyPath });
  const sibling = (suffix: string) =>
    prefix === null ? Promise.resolve(null) : readOptional(prefix + suffix);
  const [replicasText, latencyText, stagesText, statsText] = await Promise.all([
    sibling("_replicas.csv"),
    sibling("_latency.csv"),
    sibling("_stages.csv"),
    sibling("_stats.csv"),
  ]);
  const fileName = historyPath.split(/[\\/]/).pop() ?? historyPath;
  return makeRun({
    name: options.name ?? (prefix !== null ? runName(prefix) : fileName.replace(/\.csv$/i, "")),
    prefix,
    history,
    replicas: replicasText === null
      ? null
      : parseReplicas(replicasText, { source: prefix + "_replicas.csv" }),
    latency: latencyText === null
      ? null
      : parseLatency(latencyText, { source: prefix + "_latency.csv" }),
    stages: stagesText === null
      ? null
      : parseStages(stagesText, { source: prefix + "_stages.csv" }),
    totals: statsText === null
      ? null
      : parseStatsTotals(statsText, { source: prefix + "_stats.csv" }),
  });
}
