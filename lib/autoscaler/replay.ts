/**
 * Replay: what the autoscaler decides for a recorded trace of ongoing requests, computed by the
 * same controller code stepped in virtual time (every 100 ms). An hour of trace takes well
 * under a second.
 *
 * @module
 */
import type { AutoscalingConfig } from "../config/mod.ts";
import {
  AutoscalerController,
  type AutoscalingTarget,
  CONTROL_LOOP_INTERVAL_MS,
} from "./controller.ts";
import type { ScalingDecision, TickReason } from "./controller.ts";
import { DirectMetrics } from "./metrics.ts";
import { type AutoscalingPolicy, initialTargetReplicas } from "./policy.ts";

/** One trace row: the value holds from `timeS` until the next row. */
export interface TracePoint {
  /** Seconds from the start of the trace. */
  timeS: number;
  /** Ongoing requests (aggregated policy input, or the live count; see `ReplayInput`). */
  totalOngoing: number;
}

/**
 * How trace values enter the controller: `aggregated` = the value is the policy's input from
 * that time on; `instantaneous` = the live ongoing count, fed through the metrics pipeline.
 */
export type ReplayInput = "aggregated" | "instantaneous";

/** A replay output row (one per tick where anything changed, plus the first and last). */
export interface ReplayRow {
  /** Seconds from the start of the trace. */
  time_s: number;
  /** The policy's input at that tick. */
  total_ongoing_requests: number;
  /** RUNNING replicas. */
  running_replicas: number;
  /** Desired replicas (after factors and bounds, before the delay). */
  desired_replicas: number;
  /** Target after the tick. */
  target_replicas: number;
  /** Why. */
  reason: TickReason;
}

/** Header of the replay CSV. */
export const REPLAY_CSV_HEADER =
  "time_s,total_ongoing_requests,running_replicas,desired_replicas,target_replicas,reason";

/** Options of {@linkcode replayTrace}. */
export interface ReplayOptions {
  /** The deployment's autoscaling config. */
  config: AutoscalingConfig;
  /** Default `aggregated`. */
  input?: ReplayInput;
  /** Seconds a new replica takes to become RUNNING after the target rises (default 0). */
  startupS?: number;
  /** A loaded custom policy (default: Ray's default policy). */
  policy?: AutoscalingPolicy;
  /** Clock time of the trace's 0 s, ms since the epoch (matters to time-of-day policies). */
  startMs?: number;
  /** `instantaneous` only: per-replica cap; what does not fit waits in the router queue. */
  maxOngoingRequests?: number;
  /** Called with the fraction done, for a progress line on long traces. */
  onProgress?: (fraction: number) => void;
}

/** What a replay returns. */
export interface ReplayResult {
  /** Changed ticks plus the first and last. */
  rows: ReplayRow[];
  /** Every target change with its inputs. */
  decisions: ScalingDecision[];
  /** Control ticks run. */
  ticks: number;
}

/** A trace that cannot be used; `message` names the file, the line and what would be right. */
export class TraceError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TraceError";
  }
}

/**
 * Parses a `time_s,total_ongoing_requests` CSV.
 *
 * @throws {TraceError} naming the file, line and problem.
 */
export function parseTrace(text: string, options: { source?: string } = {}): TracePoint[] {
  const source = options.source ?? "trace";
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let headerLine = -1;
  let timeCol = -1;
  let valueCol = -1;
  const points: TracePoint[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const cells = line.split(",").map((c) => c.trim());
    if (headerLine < 0) {
      headerLine = i;
      timeCol = cells.indexOf("time_s");
      valueCol = cells.indexOf("total_ongoing_requests");
      if (timeCol < 0 || valueCol < 0) {
        throw new TraceError(
          `${source}:${
            i + 1
          }: the header must name the columns time_s and total_ongoing_requests, got "${line}"`,
        );
      }
      continue;
    }
    const timeS = Number(cells[timeCol]);
    const value = Number(cells[valueCol]);
    if (cells[timeCol] === undefined || cells[timeCol] === "" || !Number.isFinite(timeS)) {
      throw new TraceError(
        `${source}:${i + 1}: time_s must be a number of seconds, got "${cells[timeCol] ?? ""}"`,
      );
    }
    if (
      cells[valueCol] === undefined || cells[valueCol] === "" || !Number.isFinite(value) ||
      value < 0
    ) {
      throw new TraceError(
        `${source}:${i + 1}: total_ongoing_requests must be a number >= 0, got "${
          cells[valueCol] ?? ""
        }"`,
      );
    }
    const prev = points.at(-1);
    if (prev !== undefined && timeS < prev.timeS) {
      throw new TraceError(
        `${source}:${i + 1}: time_s must not go backwards (${timeS} after ${prev.timeS})`,
      );
    }
    points.push({ timeS, totalOngoing: value });
  }
  if (headerLine < 0) {
    throw new TraceError(
      `${source}: empty trace; expected a header "time_s,total_ongoing_requests" and rows`,
    );
  }
  if (points.length === 0) throw new TraceError(`${source}: the trace has a header but no rows`);
  return points;
}

/**
 * A deployment in virtual time: replicas start `startupMs` after the target rises, stop at
 * once on a downscale (starting ones first), and carry the trace's live load.
 */
class ReplayDeployment implements AutoscalingTarget {
  #replicas: { id: string; readyAtMs: number }[] = [];
  #target: number;
  #nowMs: number;
  #next = 0;
  #load = 0;
  readonly #startupMs: number;
  readonly #maxOngoing: number;

  constructor(
    initial: number,
    options: { startMs: number; startupMs: number; maxOngoing: number },
  ) {
    this.#nowMs = options.startMs;
    this.#startupMs = options.startupMs;
    this.#maxOngoing = options.maxOngoing;
    this.#target = initial;
    for (let i = 0; i < initial; i++) {
      this.#replicas.push({ id: `replica-${this.#next++}`, readyAtMs: options.startMs });
    }
  }

  #running: { id: string; readyAtMs: number }[] = [];
  #ongoing: Map<string, number> | null = null;

  advance(nowMs: number, load: number): void {
    this.#nowMs = nowMs;
    if (load !== this.#load) this.#ongoing = null;
    this.#load = load;
    this.#refresh();
  }

  #refresh(): void {
    let n = 0;
    for (const r of this.#replicas) if (r.readyAtMs <= this.#nowMs) n++;
    if (n !== this.#running.length) {
      this.#running = this.#replicas.filter((r) => r.readyAtMs <= this.#nowMs);
      this.#ongoing = null;
    }
  }

  #share(): number {
    const n = this.#running.length;
    return n === 0 ? 0 : Math.min(this.#maxOngoing, this.#load / n);
  }

  ongoingByReplica(): ReadonlyMap<string, number> {
    if (this.#ongoing === null) {
      const share = this.#share();
      this.#ongoing = new Map(this.#running.map((r) => [r.id, share]));
    }
    return this.#ongoing;
  }

  queuedRequests(): number {
    return Math.max(0, this.#load - this.#running.length * this.#share());
  }

  runningReplicas(): number {
    return this.#running.length;
  }

  targetReplicas(): number {
    return this.#target;
  }

  setTargetReplicas(n: number): void {
    this.#target = n;
    while (this.#replicas.length < n) {
      this.#replicas.push({
        id: `replica-${this.#next++}`,
        readyAtMs: this.#nowMs + this.#startupMs,
      });
    }
    while (this.#replicas.length > n) {
      // Stop replicas that are not RUNNING first, then the newest (research §5.6).
      const starting = this.#replicas.findLastIndex((r) => r.readyAtMs > this.#nowMs);
      this.#replicas.splice(starting >= 0 ? starting : this.#replicas.length - 1, 1);
    }
    this.#running = this.#replicas.filter((r) => r.readyAtMs <= this.#nowMs);
    this.#ongoing = null;
  }
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/**
 * Replays `trace` through the controller from the first row's time to the last, one tick per
 * 100 ms of virtual time. The deployment starts with its initial target RUNNING.
 */
export function replayTrace(trace: readonly TracePoint[], options: ReplayOptions): ReplayResult {
  if (trace.length === 0) throw new Error("replayTrace: the trace is empty");
  const input = options.input ?? "aggregated";
  const startupS = options.startupS ?? 0;
  if (!Number.isFinite(startupS) || startupS < 0) {
    throw new RangeError(`replay: --startup-s must be a number >= 0, got ${startupS}`);
  }
  const baseMs = options.startMs ?? 0;
  const firstMs = Math.round(trace[0].timeS * 1000);
  const lastMs = Math.round(trace[trace.length - 1].timeS * 1000);
  const startMs = baseMs + firstMs;
  const deployment = new ReplayDeployment(initialTargetReplicas(options.config), {
    startMs,
    startupMs: Math.round(startupS * 1000),
    maxOngoing: options.maxOngoingRequests ?? Infinity,
  });
  const direct = input === "aggregated" ? new DirectMetrics() : null;
  const controller = new AutoscalerController(deployment, {
    config: options.config,
    appName: "replay",
    deploymentName: "replay",
    policy: options.policy,
    metrics: direct ?? undefined,
    startMs,
  });

  const rows: ReplayRow[] = [];
  let lastKey = "";
  let idx = 0;
  let ticks = 0;
  const span = Math.max(1, lastMs - firstMs);
  let nextProgress = 0.1;
  for (let t = firstMs; t <= lastMs; t += CONTROL_LOOP_INTERVAL_MS) {
    while (idx + 1 < trace.length && Math.round(trace[idx + 1].timeS * 1000) <= t) idx++;
    const value = trace[idx].totalOngoing;
    const nowMs = baseMs + t;
    deployment.advance(nowMs, value);
    direct?.set(value, deployment.runningReplicas() === 0 ? value : 0);
    const rec = controller.tick(nowMs);
    ticks++;
    const row: ReplayRow = {
      time_s: round(t / 1000, 1),
      total_ongoing_requests: round(rec.totalOngoing, 2),
      running_replicas: rec.running,
      desired_replicas: rec.desired,
      target_replicas: rec.target,
      reason: rec.reason,
    };
    const key =
      `${row.total_ongoing_requests}|${row.running_replicas}|${row.desired_replicas}|${row.target_replicas}|${row.reason}`;
    const isLast = t + CONTROL_LOOP_INTERVAL_MS > lastMs;
    if (key !== lastKey || isLast) rows.push(row);
    lastKey = key;
    if (options.onProgress && (t - firstMs) / span >= nextProgress) {
      options.onProgress((t - firstMs) / span);
      nextProgress += 0.1;
    }
  }
  return { rows, decisions: controller.decisions(), ticks };
}

/** Renders replay rows as CSV (LF line ends, header first). */
export function replayRowsToCsv(rows: readonly ReplayRow[]): string {
  const body = rows.map((r) =>
    [
      r.time_s.toFixed(1),
      r.total_ongoing_requests,
      r.running_replicas,
      r.desired_replicas,
      r.target_replicas,
      r.reason,
    ].join(",")
  );
  return [REPLAY_CSV_HEADER, ...body].join("\n") + "\n";
}
