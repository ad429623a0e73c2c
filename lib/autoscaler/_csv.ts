/**
 * Appends the controller's changes to a decisions CSV (by default `results/<app>_autoscaler_<UTC start>.csv`, one per deploy).
 * Synchronous on purpose: the control loop stays a plain function, and rows are written only
 * when something changed (a handful per minute at most).
 *
 * @module
 */
/**
 * The fields of a control-loop tick that a row holds: structurally the controller's
 * `TickRecord`, spelled out here so this file imports nothing from the controller (no cycle).
 */
interface DecisionsRow {
  nowMs: number;
  elapsedS: number;
  totalOngoing: number;
  queued: number;
  running: number;
  desired: number;
  target: number;
  reason: string;
}

/** Header of the decisions CSV. */
export const DECISIONS_CSV_HEADER =
  "timestamp,time_s,total_ongoing_requests,queued_requests,running_replicas,desired_replicas,target_replicas,reason";

/**
 * When the newest control loop in a decisions CSV started, epoch ms: the timestamp of the last
 * row at `time_s` 0 (a loop writes one at its first tick; a file appended to by several deploys
 * holds one per deploy). `null` when the text has none.
 *
 * @example
 * ```ts
 * controlLoopStartMs(await Deno.readTextFile("results/fid/real_autoscaler.csv"));
 * ```
 */
export function controlLoopStartMs(csvText: string): number | null {
  let start: number | null = null;
  for (const line of csvText.split("\n").slice(1)) {
    const [timestamp, timeS] = line.split(",");
    if (timeS === undefined || Number(timeS) !== 0) continue;
    const seconds = Number(timestamp);
    if (timestamp !== "" && Number.isFinite(seconds)) start = Math.round(seconds * 1000);
  }
  return start;
}

/** An append-only decisions CSV; the header is written when the file is new or empty. */
export class DecisionsCsv {
  readonly path: string;
  #ready = false;
  #failed = false;

  /** A writer for `path` (its folder is created on the first row). */
  constructor(path: string) {
    this.path = path;
  }

  /** Appends one row; returns an error message the first time writing fails, else `null`. */
  append(r: DecisionsRow): string | null {
    if (this.#failed) return null;
    try {
      if (!this.#ready) {
        const slash = this.path.lastIndexOf("/");
        if (slash > 0) Deno.mkdirSync(this.path.slice(0, slash), { recursive: true });
        let size = 0;
        try {
          size = Deno.statSync(this.path).size;
        } catch {
          size = 0;
        }
        if (size === 0) Deno.writeTextFileSync(this.path, DECISIONS_CSV_HEADER + "\n");
        this.#ready = true;
      }
      const row = [
        (r.nowMs / 1000).toFixed(3),
        r.elapsedS.toFixed(1),
        r.totalOngoing.toFixed(3),
        r.queued.toFixed(3),
        r.running,
        r.desired,
        r.target,
        r.reason,
      ].join(",");
      Deno.writeTextFileSync(this.path, row + "\n", { append: true });
      return null;
    } catch (error) {
      this.#failed = true;
      return `cannot write decisions CSV ${this.path}: ${
        (error as Error).message
      }; no more rows will be written`;
    }
  }
}
