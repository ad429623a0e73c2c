/**
 * Locust's four `--csv` files, byte for byte (names, headers, CRLF, number rendering, N/A and 0
 * conventions; research/loadgen.md §1), plus our extras `_replicas.csv`, `_latency.csv` and
 * `_stages.csv` (LF; notes/CONTRACTS.md). The renderers are pure functions of a
 * {@linkcode RequestStats} and a timestamp; {@linkcode ResultFiles} does the file I/O with
 * Locust's cadence (snapshot files rewritten, history appended, one pass per call).
 *
 * @module
 */
import { formatNumber } from "./format.ts";
import { dirname } from "node:path";
import type { LatencyHistogram } from "./histogram.ts";
import {
  type IntervalStats,
  PERCENTILES_TO_REPORT,
  readablePercentiles,
  renderPyNumber,
  type RequestStats,
  type StatsEntry,
} from "./locust_stats.ts";
import { csvRowCrlf, csvRowLf, pyFixed6, pyFloat, utcTimestamp } from "./_pyformat.ts";

/** `PREFIX_stats.csv` header columns for the given percentiles. */
export function statsCsvColumns(percentiles: readonly number[] = PERCENTILES_TO_REPORT): string[] {
  return [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
    ...readablePercentiles(percentiles),
  ];
}

/** `PREFIX_stats_history.csv` header columns. */
export function statsHistoryColumns(
  percentiles: readonly number[] = PERCENTILES_TO_REPORT,
): string[] {
  return [
    "Timestamp",
    "User Count",
    "Type",
    "Name",
    "Requests/s",
    "Failures/s",
    ...readablePercentiles(percentiles),
    "Total Request Count",
    "Total Failure Count",
    "Total Median Response Time",
    "Total Average Response Time",
    "Total Min Response Time",
    "Total Max Response Time",
    "Total Average Content Size",
  ];
}

/** `PREFIX_failures.csv` header (Locust >= 2.44; `legacy` gives the older 4 columns). */
export function failuresColumns(legacy = false): string[] {
  const cols = ["Method", "Name", "Error", "Occurrences"];
  return legacy ? cols : [...cols, "First Seen", "Last Seen"];
}

/** `PREFIX_exceptions.csv` header. */
export const EXCEPTIONS_COLUMNS: readonly string[] = ["Count", "Message", "Traceback", "Nodes"];

/** `PREFIX_replicas.csv` header (ours; LF). */
export const REPLICAS_HEADER =
  "Timestamp,Elapsed (s),Target Replicas,Running Replicas,Starting Replicas,Pending Replicas,Total Ongoing Requests,Queued Requests";

/** `PREFIX_latency.csv` header (ours; LF). */
export const LATENCY_HEADER =
  "Timestamp,Elapsed (s),Requests,Failures,p50 (ms),p90 (ms),p95 (ms),p99 (ms),Max (ms)";

/** `PREFIX_stages.csv` header (ours; LF). */
export const STAGES_HEADER = "Stage,Start (s),End (s),Users,Spawn Rate";

/** Options shared by the Locust renderers. */
export interface LocustCsvOptions {
  /** Percentile columns (default Locust's `PERCENTILES_TO_REPORT`). */
  percentiles?: readonly number[];
}

function percentileFields(
  entry: StatsEntry,
  percentiles: readonly number[],
  currentAtS: number | null,
): string[] {
  if (!entry.numRequests) return percentiles.map(() => "N/A");
  if (currentAtS !== null) {
    return percentiles.map((p) =>
      String(Math.trunc(entry.currentResponseTimePercentile(p, currentAtS) ?? 0))
    );
  }
  return entry.responseTimePercentiles(percentiles).map((v) => String(Math.trunc(v)));
}

function minField(entry: StatsEntry): string {
  // `min_response_time or 0`: None and 0.0 both become the int 0.
  return entry.minResponseTime ? pyFloat(entry.minResponseTime) : "0";
}

function maxField(entry: StatsEntry): string {
  return entry.maxIsFloat ? pyFloat(entry.maxResponseTime) : "0";
}

function statsRow(entry: StatsEntry, percentiles: readonly number[]): string[] {
  return [
    entry.method,
    entry.name,
    String(entry.numRequests),
    String(entry.numFailures),
    renderPyNumber(entry.medianResponseTime),
    pyFloat(entry.avgResponseTime),
    minField(entry),
    maxField(entry),
    renderPyNumber(entry.avgContentLength),
    pyFloat(entry.totalRps),
    pyFloat(entry.totalFailPerSec),
    ...percentileFields(entry, percentiles, null),
  ];
}

/** Data rows of `PREFIX_stats.csv` (entries sorted by name, method; then Aggregated), CRLF. */
export function renderStatsRows(stats: RequestStats, options: LocustCsvOptions = {}): string {
  const percentiles = options.percentiles ?? PERCENTILES_TO_REPORT;
  return [...stats.sortedEntries(), stats.total].map((e) => csvRowCrlf(statsRow(e, percentiles)))
    .join("");
}

/** The whole `PREFIX_stats.csv` text. */
export function renderStatsCsv(stats: RequestStats, options: LocustCsvOptions = {}): string {
  return csvRowCrlf(statsCsvColumns(options.percentiles)) + renderStatsRows(stats, options);
}

/** Options for {@linkcode renderStatsHistoryRows}. */
export interface StatsHistoryOptions extends LocustCsvOptions {
  /** Time of the writer pass, Unix seconds. */
  nowS: number;
  /** Users running at that moment. */
  userCount: number;
  /** `--csv-full-history`: one row per entry plus Aggregated, windowed percentiles. */
  fullHistory?: boolean;
}

/** One pass of `PREFIX_stats_history.csv` rows (CRLF). */
export function renderStatsHistoryRows(stats: RequestStats, options: StatsHistoryOptions): string {
  const percentiles = options.percentiles ?? PERCENTILES_TO_REPORT;
  const full = options.fullHistory ?? false;
  const timestamp = String(Math.floor(options.nowS));
  const entries = full ? [...stats.sortedEntries(), stats.total] : [stats.total];
  return entries.map((e) =>
    csvRowCrlf([
      timestamp,
      String(options.userCount),
      e.method,
      e.name,
      pyFixed6(e.currentRps),
      pyFixed6(e.currentFailPerSec),
      ...percentileFields(e, percentiles, full ? options.nowS : null),
      String(e.numRequests),
      String(e.numFailures),
      renderPyNumber(e.medianResponseTime),
      pyFloat(e.avgResponseTime),
      minField(e),
      maxField(e),
      renderPyNumber(e.avgContentLength),
    ])
  ).join("");
}

/** Data rows of `PREFIX_failures.csv`, sorted by Locust's sha256 key (CRLF). */
export function renderFailuresRows(
  stats: RequestStats,
  options: { legacy?: boolean } = {},
): string {
  return stats.sortedErrors().map((e) => {
    const row = [e.method, e.name, e.error, String(e.occurrences)];
    if (!options.legacy) row.push(utcTimestamp(e.firstSeenS), utcTimestamp(e.lastSeenS));
    return csvRowCrlf(row);
  }).join("");
}

/** The whole `PREFIX_failures.csv` text. */
export function renderFailuresCsv(stats: RequestStats, options: { legacy?: boolean } = {}): string {
  return csvRowCrlf(failuresColumns(options.legacy)) + renderFailuresRows(stats, options);
}

/** Data rows of `PREFIX_exceptions.csv` (CRLF). */
export function renderExceptionsRows(stats: RequestStats): string {
  return [...stats.exceptions.values()].map((x) =>
    csvRowCrlf([String(x.count), x.message, x.traceback, [...x.nodes].join(", ")])
  ).join("");
}

/** The whole `PREFIX_exceptions.csv` text. */
export function renderExceptionsCsv(stats: RequestStats): string {
  return csvRowCrlf([...EXCEPTIONS_COLUMNS]) + renderExceptionsRows(stats);
}

/** Replica counts read from the service at one moment (`/api/status`). */
export interface ReplicaSample {
  /** Replicas the autoscaler wants. */
  targetReplicas: number;
  /** RUNNING replicas. */
  runningReplicas: number;
  /** STARTING replicas. */
  startingReplicas: number;
  /** PENDING_ALLOCATION replicas. */
  pendingReplicas: number;
  /** Requests executing on replicas. */
  ongoingRequests: number;
  /** Requests waiting in the router queue. */
  queuedRequests: number;
}

function ms(x: number | null): string {
  return x === null ? "" : String(Math.round(x * 1000) / 1000);
}

function elapsed(nowS: number, startS: number): string {
  return String(Math.round((nowS - startS) * 1000) / 1000);
}

/** One `_replicas.csv` row; `null` sample gives empty cells (the status read failed). */
export function renderReplicasRow(
  sample: ReplicaSample | null,
  options: { nowS: number; startS: number },
): string {
  const s = sample;
  return csvRowLf([
    String(Math.floor(options.nowS)),
    elapsed(options.nowS, options.startS),
    s ? String(s.targetReplicas) : "",
    s ? String(s.runningReplicas) : "",
    s ? String(s.startingReplicas) : "",
    s ? String(s.pendingReplicas) : "",
    s ? String(s.ongoingRequests) : "",
    s ? String(s.queuedRequests) : "",
  ]);
}

/** One `_latency.csv` row from an interval's counts and histogram (empty cells when no samples). */
export function renderLatencyRow(
  interval: { requests: number; failures: number; histogram: LatencyHistogram },
  options: { nowS: number; startS: number },
): string {
  const h = interval.histogram;
  const [p50, p90, p95, p99] = h.percentilesMs([50, 90, 95, 99]);
  return csvRowLf([
    String(Math.floor(options.nowS)),
    elapsed(options.nowS, options.startS),
    String(interval.requests),
    String(interval.failures),
    ms(p50),
    ms(p90),
    ms(p95),
    ms(p99),
    ms(h.maxMs),
  ]);
}

/** A stage boundary for `_stages.csv`. */
export interface StageRowData {
  /** Stage label. */
  name: string;
  /** Start, seconds since the run started. */
  startS: number;
  /** End, seconds since the run started. */
  endS: number;
  /** Users the stage moves to (for arrival-rate stages: the target rate per second). */
  users: number;
  /** Users started or stopped per second; `null` for linear ramps and arrival-rate stages. */
  spawnRate: number | null;
}

/** The whole `_stages.csv` text. */
export function renderStagesCsv(stages: readonly StageRowData[]): string {
  return STAGES_HEADER + "\n" + stages.map((s) =>
    csvRowLf([
      s.name,
      formatNumber(s.startS, { maxDecimals: 3 }),
      formatNumber(s.endS, { maxDecimals: 3 }),
      String(s.users),
      s.spawnRate === null ? "" : formatNumber(s.spawnRate, { maxDecimals: 3 }),
    ])
  ).join("");
}

/** Options for {@linkcode ResultFiles}. */
export interface ResultFilesOptions extends LocustCsvOptions {
  /** `--csv-full-history`. */
  fullHistory?: boolean;
  /** Write the pre-2.44 four-column failures header. */
  legacyFailuresHeader?: boolean;
  /** Write `_replicas.csv` (false when the target has no `/api/status`). */
  replicas?: boolean;
  /** Stage boundaries for `_stages.csv` (omitted: no file). */
  stages?: readonly StageRowData[];
  /** Run start, Unix seconds (for the Elapsed columns). */
  startS: number;
}

/** The file names a prefix expands to. */
export function resultFilePaths(prefix: string): {
  stats: string;
  history: string;
  failures: string;
  exceptions: string;
  replicas: string;
  latency: string;
  stages: string;
} {
  return {
    stats: `${prefix}_stats.csv`,
    history: `${prefix}_stats_history.csv`,
    failures: `${prefix}_failures.csv`,
    exceptions: `${prefix}_exceptions.csv`,
    replicas: `${prefix}_replicas.csv`,
    latency: `${prefix}_latency.csv`,
    stages: `${prefix}_stages.csv`,
  };
}

/**
 * Writes a run's files under a prefix. Headers are written on construction; each
 * {@linkcode ResultFiles.pass} (call it once a second, real or virtual) rewrites the snapshot
 * files and appends history, latency and replica rows; {@linkcode ResultFiles.close} rewrites
 * the snapshots once more so they hold the final totals.
 */
export class ResultFiles {
  /** The paths written. */
  readonly paths: ReturnType<typeof resultFilePaths>;
  readonly #stats: RequestStats;
  readonly #options: ResultFilesOptions;
  #replicas: boolean;

  /** Creates the folder and writes the headers (and `_stages.csv` when stages are given). */
  constructor(prefix: string, stats: RequestStats, options: ResultFilesOptions) {
    this.paths = resultFilePaths(prefix);
    this.#stats = stats;
    this.#options = options;
    this.#replicas = options.replicas ?? false;
    const dir = dirname(this.paths.stats);
    if (dir && dir !== ".") Deno.mkdirSync(dir, { recursive: true });
    const p = options.percentiles;
    Deno.writeTextFileSync(this.paths.stats, csvRowCrlf(statsCsvColumns(p)));
    Deno.writeTextFileSync(this.paths.history, csvRowCrlf(statsHistoryColumns(p)));
    Deno.writeTextFileSync(
      this.paths.failures,
      csvRowCrlf(failuresColumns(options.legacyFailuresHeader)),
    );
    Deno.writeTextFileSync(this.paths.exceptions, csvRowCrlf([...EXCEPTIONS_COLUMNS]));
    Deno.writeTextFileSync(this.paths.latency, LATENCY_HEADER + "\n");
    if (this.#replicas) Deno.writeTextFileSync(this.paths.replicas, REPLICAS_HEADER + "\n");
    if (options.stages) Deno.writeTextFileSync(this.paths.stages, renderStagesCsv(options.stages));
  }

  /** Stops writing `_replicas.csv` and removes it (the target turned out to have no status). */
  dropReplicas(): void {
    if (!this.#replicas) return;
    this.#replicas = false;
    try {
      Deno.removeSync(this.paths.replicas);
    } catch {
      // already gone
    }
  }

  /** Whether `_replicas.csv` is being written. */
  get writesReplicas(): boolean {
    return this.#replicas;
  }

  /**
   * One writer pass at `nowS` with the current user count. `extras.interval` is the interval
   * for `_latency.csv` (default: taken from the stats now); `extras.replicas` the latest sample.
   */
  pass(
    nowS: number,
    userCount: number,
    extras: { interval?: IntervalStats; replicas?: ReplicaSample | null } = {},
  ): void {
    const replicas = extras.replicas ?? null;
    this.#writeSnapshots();
    Deno.writeTextFileSync(
      this.paths.history,
      renderStatsHistoryRows(this.#stats, {
        nowS,
        userCount,
        fullHistory: this.#options.fullHistory,
        percentiles: this.#options.percentiles,
      }),
      { append: true },
    );
    const at = { nowS, startS: this.#options.startS };
    Deno.writeTextFileSync(
      this.paths.latency,
      renderLatencyRow(extras.interval ?? this.#stats.takeInterval(), at),
      { append: true },
    );
    if (this.#replicas) {
      Deno.writeTextFileSync(this.paths.replicas, renderReplicasRow(replicas, at), {
        append: true,
      });
    }
  }

  /** Final rewrite of the snapshot files (stats, failures, exceptions). */
  close(): void {
    this.#writeSnapshots();
  }

  #writeSnapshots(): void {
    const o = this.#options;
    Deno.writeTextFileSync(this.paths.stats, renderStatsCsv(this.#stats, o));
    Deno.writeTextFileSync(
      this.paths.failures,
      renderFailuresCsv(this.#stats, { legacy: o.legacyFailuresHeader }),
    );
    Deno.writeTextFileSync(this.paths.exceptions, renderExceptionsCsv(this.#stats));
  }
}
