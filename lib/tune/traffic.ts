/**
 * Traffic for the tuner: every input (a load shape, a recorded `total_ongoing_requests` trace, a
 * Locust `_stats_history.csv`) becomes a load generator `LoadShape` (plain data, so it crosses to
 * the workers), and each scenario perturbs it: load x0.8, x1.2, or a spike not in the input.
 *
 * @module
 */
import { type LoadShape, parseShape, parseWaitTime, ShapeError } from "../loadgen/mod.ts";
import { parseStatsHistory } from "../plot/mod.ts";
import { type ClosedLoopLoad, loadFromShape, type LoadModel } from "../sim/mod.ts";
import { TuneInputError } from "./errors.ts";

/** A change to the input traffic that a robust config must also survive. */
export interface Perturbation {
  /** Label in tables: `base`, `x0.8`, `x1.2`, `spike`. */
  name: string;
  /** Users (closed loop) or arrival rate (open loop) times this. */
  loadFactor: number;
  /** A burst to `level` x the input's peak load, from `startS` for `durationS`. */
  spike: { startS: number; durationS: number; level: number } | null;
}

/** The unperturbed traffic. */
export const BASE_PERTURBATION: Perturbation = { name: "base", loadFactor: 1, spike: null };

/**
 * The perturbations every finalist is scored on besides its seeds: load x0.8 and x1.2, and a
 * spike to 1.5x the input's peak for 30 s (5 % of the run if shorter) starting a quarter of the
 * way in.
 */
export function standardPerturbations(shape: LoadShape): Perturbation[] {
  const durationS = Math.min(30, shape.durationS * 0.05);
  return [
    { name: "x0.8", loadFactor: 0.8, spike: null },
    { name: "x1.2", loadFactor: 1.2, spike: null },
    {
      name: "spike",
      loadFactor: 1,
      spike: { startS: shape.durationS * 0.25, durationS, level: 1.5 },
    },
  ];
}

/** The input's peak: most users (closed loop) or highest arrival rate (open loop). */
export function peakLoad(shape: LoadShape): number {
  const values = shape.stages.map((s) => shape.executor === "users" ? s.users : s.rate);
  return Math.max(0, shape.startRate, ...values);
}

function closedPerturbed(base: ClosedLoopLoad, p: Perturbation, peak: number): ClosedLoopLoad {
  const spike = p.spike;
  const spikeUsers = spike ? Math.round(peak * spike.level) : 0;
  const inSpike = (t: number) =>
    spike !== null && t >= spike.startS && t < spike.startS + spike.durationS;
  const times = [...base.changeTimesS];
  if (spike) times.push(spike.startS, spike.startS + spike.durationS);
  times.sort((a, b) => a - b);
  return {
    ...base,
    usersAt: (t) => {
      const users = Math.round(base.usersAt(t) * p.loadFactor);
      return inSpike(t) ? Math.max(users, spikeUsers) : users;
    },
    changeTimesS: times.filter((t, i) => i === 0 || t !== times[i - 1]),
  };
}

/** Merges two ascending arrival-time sequences, read in order of k (as the engine reads them). */
function mergedArrivals(
  a: (k: number) => number | null,
  b: (k: number) => number | null,
): (k: number) => number | null {
  let k = -1, i = 0, j = 0;
  let nextA = a(0), nextB = b(0);
  return (want) => {
    if (want <= k) { // read backwards: start over (the engine never does)
      k = -1, i = 0, j = 0, nextA = a(0), nextB = b(0);
    }
    let t: number | null = null;
    while (k < want) {
      if (nextA === null && nextB === null) return null;
      if (nextB === null || (nextA !== null && nextA <= nextB)) {
        t = nextA;
        nextA = a(++i);
      } else {
        t = nextB;
        nextB = b(++j);
      }
      k++;
    }
    return t;
  };
}

/** The engine's load for `shape` under perturbation `p`. */
export function perturbedLoad(shape: LoadShape, p: Perturbation): LoadModel {
  const base = loadFromShape(shape);
  const peak = peakLoad(shape);
  if (base.kind === "closed") return closedPerturbed(base, p, peak);
  const arrivals = base.arrivalTimeS!;
  const scaled = (k: number) => arrivals(k / p.loadFactor);
  if (!p.spike) return { ...base, arrivalTimeS: scaled };
  const { startS, durationS, level } = p.spike;
  // Extra arrivals, evenly spaced, lifting the rate at the spike's start to level x peak.
  const atStart = rateAt(shape, startS) * p.loadFactor;
  const extraRate = Math.max(0, peak * level - atStart);
  const extra = (k: number) => {
    if (extraRate <= 0) return null;
    const t = startS + k / extraRate;
    return t < startS + durationS ? t : null;
  };
  return { ...base, arrivalTimeS: mergedArrivals(scaled, extra) };
}

function rateAt(shape: LoadShape, t: number): number {
  const s = shape.stages.find((st) => t >= st.startS && t < st.endS);
  return s ? s.rate : 0;
}

/** Parses a load shape file's text (configs/loadtest/*.yaml). */
export function shapeFromYaml(text: string, sourcePath: string): LoadShape {
  try {
    return parseShape(text, { sourcePath });
  } catch (error) {
    if (error instanceof ShapeError) throw new TuneInputError(error.message);
    throw error;
  }
}

/**
 * A recorded `time_s,total_ongoing_requests` trace (configs/traces/*.csv, or `deno task replay`'s
 * input) as a closed loop: each ongoing request is a user that sends its next request as soon as
 * the last one returns (wait 0), so the offered concurrency follows the trace. Each row holds
 * until the next; the last row's time is the end.
 */
export function shapeFromTrace(text: string, sourcePath: string): LoadShape {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((c) => c.trim());
  const ti = header.indexOf("time_s"), vi = header.indexOf("total_ongoing_requests");
  if (ti < 0 || vi < 0) {
    throw new TuneInputError(
      `${sourcePath}:1: a trace needs a header with time_s and total_ongoing_requests ` +
        `columns, got "${lines[0] ?? ""}"`,
    );
  }
  const points: { t: number; v: number }[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const cells = lines[i].split(",");
    const t = Number(cells[ti]), v = Number(cells[vi]);
    if (!Number.isFinite(t) || !Number.isFinite(v) || v < 0 || cells[ti].trim() === "") {
      throw new TuneInputError(
        `${sourcePath}:${i + 1}: expected time_s,total_ongoing_requests numbers (>= 0), got ` +
          `"${lines[i]}"`,
      );
    }
    const last = points.at(-1);
    if (last && t <= last.t) {
      throw new TuneInputError(
        `${sourcePath}:${i + 1}: time_s ${t} is not after the previous row's ${last.t}`,
      );
    }
    points.push({ t, v });
  }
  if (points.length < 2) {
    throw new TuneInputError(`${sourcePath}: a trace needs at least two rows (start and end)`);
  }
  const t0 = points[0].t;
  const stages = points.slice(0, -1).map((p, i) => ({
    name: `t=${p.t - t0}s`,
    startS: p.t - t0,
    endS: points[i + 1].t - t0,
    users: Math.round(p.v),
    spawnRate: null,
    spawnBatch: 1,
    rate: 0,
    ramp: "step" as const,
  }));
  return {
    name: baseName(sourcePath),
    description: `total_ongoing_requests trace ${sourcePath}`,
    executor: "users",
    stages,
    waitTime: parseWaitTime("constant(0)"),
    startRate: 0,
    maxInFlight: null,
    durationS: points.at(-1)!.t - t0,
  };
}

/**
 * A Locust (or `deno task loadtest`) `_stats_history.csv` as an open loop: between consecutive
 * Aggregated rows, arrivals at the rate the run actually completed
 * (`Total Request Count` difference / time difference), evenly spaced.
 */
export function shapeFromHistory(text: string, sourcePath: string): LoadShape {
  let rows;
  try {
    rows = parseStatsHistory(text, { source: sourcePath }).rows;
  } catch (error) {
    throw new TuneInputError((error as Error).message);
  }
  if (rows.length < 2) {
    throw new TuneInputError(`${sourcePath}: needs at least two Aggregated rows (one a second)`);
  }
  const stages = [];
  for (let i = 0; i + 1 < rows.length; i++) {
    const a = rows[i], b = rows[i + 1];
    const len = b.elapsedS - a.elapsedS;
    if (len <= 0) continue;
    const rate = Math.max(0, (b.totalRequests - a.totalRequests) / len);
    stages.push({
      name: `t=${a.elapsedS}s`,
      startS: a.elapsedS,
      endS: b.elapsedS,
      users: 0,
      spawnRate: null,
      spawnBatch: 1,
      rate,
      ramp: "step" as const,
    });
  }
  if (stages.length === 0) {
    throw new TuneInputError(`${sourcePath}: every row has the same timestamp`);
  }
  return {
    name: baseName(sourcePath).replace(/_stats_history$/, ""),
    description: `arrivals of ${sourcePath}`,
    executor: "arrival_rate",
    stages,
    waitTime: null,
    startRate: stages[0].rate,
    maxInFlight: null,
    durationS: stages.at(-1)!.endS,
  };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).replace(/\.[a-z]+$/i, "");
}

/** Which input the traffic came from. */
export type TrafficSource = "shape" | "trace" | "history";

/** Reads the traffic file; a file that cannot be read or parsed is a {@linkcode TuneInputError}. */
export async function readTraffic(source: TrafficSource, path: string): Promise<LoadShape> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new TuneInputError(`cannot read --${source} ${path}: ${(error as Error).message}`);
  }
  switch (source) {
    case "shape":
      return shapeFromYaml(text, path);
    case "trace":
      return shapeFromTrace(text, path);
    case "history":
      return shapeFromHistory(text, path);
  }
}
