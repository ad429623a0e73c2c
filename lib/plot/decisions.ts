/**
 * The autoscaler's decisions file (`results/<app>_autoscaler_<stamp>.csv`, one per deploy; older
 * deploys appended every run to `results/<app>_autoscaler.csv`) and how a load test finds its
 * own: rows are matched by their Unix `timestamp`, so a file that holds several deploys gives
 * only the rows of the load test's time span.
 *
 * @module
 */
import { CsvTable, ResultFileError } from "./_csv.ts";

/** One row of the decisions file: the autoscaler changed its decision. */
export interface DecisionRow {
  /** Unix seconds. */
  timestamp: number;
  /** Seconds since the deploy's autoscaler started (restarts at 0 with every deploy). */
  deploySeconds: number;
  /** Ongoing requests summed over replicas (the policy's input). */
  totalOngoing: number;
  /** Requests waiting in the router queue. */
  queued: number;
  /** Running replicas. */
  running: number;
  /** Replicas the policy asked for. */
  desired: number;
  /** Replicas decided (after the delays). */
  target: number;
  /** Why (`AUTOSCALING`, `UPSCALE_COMPLETED`, ...). */
  reason: string;
}

const DECISION_COLUMNS = [
  "timestamp",
  "time_s",
  "total_ongoing_requests",
  "queued_requests",
  "running_replicas",
  "desired_replicas",
  "target_replicas",
  "reason",
] as const;

/** Parses a decisions file. Throws {@link ResultFileError} naming the file and line. */
export function parseDecisions(text: string, options: { source?: string } = {}): DecisionRow[] {
  const table = new CsvTable(text, options.source ?? "<text>", { what: "autoscaler decisions" });
  table.require(DECISION_COLUMNS, "autoscaler decisions (_autoscaler.csv)");
  return table.records.map((rec) => ({
    timestamp: table.number(rec, "timestamp"),
    deploySeconds: table.number(rec, "time_s"),
    totalOngoing: table.number(rec, "total_ongoing_requests"),
    queued: table.number(rec, "queued_requests"),
    running: table.number(rec, "running_replicas"),
    desired: table.number(rec, "desired_replicas"),
    target: table.number(rec, "target_replicas"),
    reason: table.text(rec, "reason"),
  }));
}

/** A decisions file and its rows in one load test's time span. */
export interface RunDecisions {
  /** The file. */
  path: string;
  /** Its rows within the run (by timestamp), in file order. */
  rows: DecisionRow[];
}

/** Options of {@link findRunDecisions}. */
export interface FindDecisionsOptions {
  /** Folders to search for `*_autoscaler*.csv` (duplicates and missing folders are skipped). */
  dirs: readonly string[];
  /** Seconds of slack on both ends of the span (default 2). */
  slackS?: number;
}

/**
 * The decisions file that belongs to a load test spanning Unix seconds `[startS, endS]`: among
 * the `*_autoscaler*.csv` files in `options.dirs`, the one with the most rows in the span (the
 * newest on a tie), with those rows only; `null` when no file has a row in it. Files that are not
 * decisions files are skipped.
 */
export async function findRunDecisions(
  startS: number,
  endS: number,
  options: FindDecisionsOptions,
): Promise<RunDecisions | null> {
  const slack = options.slackS ?? 2;
  let best: (RunDecisions & { mtimeMs: number }) | null = null;
  const seen = new Set<string>();
  for (const dir of options.dirs) {
    const folder = dir.replace(/\/+$/, "") || ".";
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(folder));
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile || !/_autoscaler.*\.csv$/.test(e.name)) continue;
      const path = `${folder}/${e.name}`;
      const real = await Deno.realPath(path).catch(() => path);
      if (seen.has(real)) continue;
      seen.add(real);
      let rows: DecisionRow[];
      let mtimeMs = 0;
      try {
        rows = parseDecisions(await Deno.readTextFile(path), { source: path });
        mtimeMs = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      } catch (error) {
        if (error instanceof ResultFileError || error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      const inRun = rows.filter((r) =>
        r.timestamp >= startS - slack && r.timestamp <= endS + slack
      );
      if (inRun.length === 0) continue;
      if (
        best === null || inRun.length > best.rows.length ||
        (inRun.length === best.rows.length && mtimeMs > best.mtimeMs)
      ) {
        best = { path, rows: inRun, mtimeMs };
      }
    }
  }
  return best === null ? null : { path: best.path, rows: best.rows };
}
