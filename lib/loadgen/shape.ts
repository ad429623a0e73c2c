/**
 * Load shapes: stages of users (closed loop) or of arrival rate (open loop), read from YAML and
 * evaluated as pure functions of elapsed time, so the runner and the simulator agree exactly.
 *
 * YAML (see configs/loadtest/*.yaml):
 * ```yaml
 * name: tutorial
 * wait_time: between(0.5, 1.5)     # optional default for closed-loop users
 * durations: cumulative            # optional: `duration` means Locust's cumulative end time
 * stages:
 *   - { name: warm-up, end: 1m, users: 1, spawn_rate: 1 }        # cumulative end time
 *   - { name: ramp, duration: 2m, users: 20, spawn_rate: 5 }     # relative length (k6 style)
 *   - { duration: 30s, users: 40, ramp: linear }                 # linear ramp over the stage
 * ```
 * Open loop: `executor: arrival_rate`, stages with `rate` (iterations/s; `ramp: linear` moves
 * linearly from the previous rate as k6's ramping-arrival-rate, default holds it constant),
 * optional `start_rate` and `max_in_flight`.
 *
 * User-count semantics follow Locust's dispatcher: moving to a stage's `users` at
 * `spawn_rate`, batches of `max(1, floor(rate))` users start (or stop) every `batch / rate`
 * seconds, the first at the stage start. Without `spawn_rate` the change is immediate.
 *
 * @module
 */
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";
import type { StageRowData } from "./csv_files.ts";
import { formatSeconds } from "./format.ts";
import { parseWaitTime, type WaitTime, WaitTimeError } from "./wait_time.ts";

/** One stage, with absolute times. */
export interface ShapeStage {
  /** Label (`stage N` when not given). */
  name: string;
  /** Start, seconds since the test started. */
  startS: number;
  /** End, seconds since the test started. */
  endS: number;
  /** Closed loop: users to move to. */
  users: number;
  /** Closed loop: users started/stopped per second (`null` = at once). */
  spawnRate: number | null;
  /**
   * Users per spawn batch: Locust's `max(1, floor(spawn_rate))`, fixed at parse time so a
   * time-scaled shape keeps the same curve.
   */
  spawnBatch: number;
  /** Open loop: arrivals per second to reach. */
  rate: number;
  /** `step` (Locust / constant rate) or `linear` (interpolate across the stage). */
  ramp: "step" | "linear";
}

/** A parsed, absolute-time load shape. */
export interface LoadShape {
  /** Shape name. */
  name: string;
  /** Free text. */
  description: string;
  /** `users` (closed loop) or `arrival_rate` (open loop). */
  executor: "users" | "arrival_rate";
  /** Stages in time order, contiguous from 0. */
  stages: ShapeStage[];
  /** Default wait time for closed-loop users (`null`: the runner's default). */
  waitTime: WaitTime | null;
  /** Open loop: rate at time 0 for a linear first stage. */
  startRate: number;
  /** Open loop: most iterations in flight before new ones are dropped (`null`: runner default). */
  maxInFlight: number | null;
  /** End of the last stage, seconds. */
  durationS: number;
}

/** A shape file that cannot be used; `message` says where and what would be right. */
export class ShapeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** Parses `90`, `"90s"`, `"1m30s"`, `"1h"`, `"250ms"` into seconds; `null` when malformed. */
export function parseDurationS(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number.isFinite(Number(text)) ? Number(text) : null;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const n = Number(m[1]);
    total += m[2] === "h" ? n * 3600 : m[2] === "m" ? n * 60 : m[2] === "s" ? n : n / 1000;
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 && Number.isFinite(total) ? total : null;
}

/** Options for {@linkcode parseShape}. */
export interface ParseShapeOptions {
  /** File name used in error messages. */
  sourcePath?: string;
  /** Multiply every duration by this (and spawn rates by its inverse); default 1. */
  timeScale?: number;
}

/** Parses a shape YAML text. Throws {@linkcode ShapeError} naming file:line:col and field. */
export function parseShape(text: string, options: ParseShapeOptions = {}): LoadShape {
  const source = options.sourcePath ?? "<shape>";
  const lineCounter = new LineCounter();
  // logLevel "error": yaml would print Node warnings (e.g. about collection keys) to stderr.
  const doc = parseDocument(text, { lineCounter, logLevel: "error" });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new ShapeError(`${source}:${pos.line}:${pos.col}: invalid YAML: ${e.message}`);
  }
  const where = (path: (string | number)[]): string => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const label = path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${p}` : p)).join(
      "",
    );
    if (node && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return `${source}:${pos.line}:${pos.col}: ${label}`;
    }
    return `${source}: ${label}`;
  };
  let root: Record<string, unknown> | null;
  try {
    root = doc.toJS() as Record<string, unknown> | null;
  } catch (e) {
    // yaml refuses alias expansions that would blow up (a "billion laughs" document).
    throw new ShapeError(`${source}: cannot be read: ${(e as Error).message}`);
  }
  if (root === null || typeof root !== "object" || Array.isArray(root) || !isMap(doc.contents)) {
    throw new ShapeError(`${source}: a shape must be a mapping with a "stages" list`);
  }
  const known = new Set([
    "name",
    "description",
    "executor",
    "wait_time",
    "durations",
    "stages",
    "start_rate",
    "max_in_flight",
  ]);
  for (const key of Object.keys(root)) {
    if (!known.has(key)) {
      throw new ShapeError(
        `${where([key])} is not a shape field; use one of ${[...known].join(", ")}`,
      );
    }
  }
  const executor = root.executor ?? "users";
  if (executor !== "users" && executor !== "arrival_rate") {
    throw new ShapeError(
      `${where(["executor"])} must be "users" or "arrival_rate", got ${JSON.stringify(executor)}`,
    );
  }
  const durations = root.durations ?? "relative";
  if (durations !== "relative" && durations !== "cumulative") {
    throw new ShapeError(
      `${where(["durations"])} must be "relative" or "cumulative", got ${
        JSON.stringify(durations)
      }`,
    );
  }
  let waitTime: WaitTime | null = null;
  if (root.wait_time !== undefined) {
    try {
      waitTime = parseWaitTime(String(root.wait_time), where(["wait_time"]));
    } catch (e) {
      if (e instanceof WaitTimeError) throw new ShapeError(e.message);
      throw e;
    }
  }
  const nonNegative = (value: unknown, path: (string | number)[], what: string): number => {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new ShapeError(`${where(path)} must be ${what}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const startRate = root.start_rate === undefined
    ? 0
    : nonNegative(root.start_rate, ["start_rate"], "a rate >= 0");
  let maxInFlight: number | null = null;
  if (root.max_in_flight !== undefined) {
    const v = nonNegative(root.max_in_flight, ["max_in_flight"], "an integer >= 1");
    if (!Number.isInteger(v) || v < 1) {
      throw new ShapeError(`${where(["max_in_flight"])} must be an integer >= 1, got ${v}`);
    }
    maxInFlight = v;
  }
  if (!isSeq(doc.get("stages", true)) || !Array.isArray(root.stages) || root.stages.length === 0) {
    throw new ShapeError(`${where(["stages"])} must be a non-empty list of stages`);
  }
  const stageKeys = new Set(["name", "end", "duration", "users", "spawn_rate", "rate", "ramp"]);
  const stages: ShapeStage[] = [];
  let prevEnd = 0;
  (root.stages as unknown[]).forEach((raw, i) => {
    const p = ["stages", i];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new ShapeError(`${where(p)} must be a mapping like {duration: 1m, users: 20}`);
    }
    const s = raw as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!stageKeys.has(key)) {
        throw new ShapeError(
          `${where([...p, key])} is not a stage field; use one of ${[...stageKeys].join(", ")}`,
        );
      }
    }
    if ((s.end === undefined) === (s.duration === undefined)) {
      throw new ShapeError(
        `${where(p)} needs exactly one of "end" (time since start) or "duration" (stage length)`,
      );
    }
    const key = s.end !== undefined ? "end" : "duration";
    const d = parseDurationS(s[key]);
    if (d === null) {
      throw new ShapeError(
        `${where([...p, key])} must be seconds or a duration like 90s, 1m30s, 1h; got ${
          JSON.stringify(s[key])
        }`,
      );
    }
    const cumulative = key === "end" || durations === "cumulative";
    const endS = cumulative ? d : prevEnd + d;
    if (endS <= prevEnd) {
      throw new ShapeError(
        `${where([...p, key])} must end after the previous stage (${formatSeconds(prevEnd)}), got ${
          formatSeconds(endS)
        }${cumulative ? " (a cumulative end time)" : ""}`,
      );
    }
    const ramp = s.ramp ?? "step";
    if (ramp !== "step" && ramp !== "linear") {
      throw new ShapeError(
        `${where([...p, "ramp"])} must be "step" or "linear", got ${JSON.stringify(ramp)}`,
      );
    }
    let users = 0;
    let spawnRate: number | null = null;
    let rate = 0;
    if (executor === "users") {
      if (s.rate !== undefined) {
        throw new ShapeError(`${where([...p, "rate"])} needs "executor: arrival_rate" at the top`);
      }
      users = nonNegative(s.users, [...p, "users"], "a whole number of users >= 0");
      if (!Number.isInteger(users)) {
        throw new ShapeError(`${where([...p, "users"])} must be a whole number, got ${users}`);
      }
      if (s.spawn_rate !== undefined) {
        spawnRate = nonNegative(s.spawn_rate, [...p, "spawn_rate"], "users per second > 0");
        if (spawnRate === 0) {
          throw new ShapeError(
            `${where([...p, "spawn_rate"])} must be > 0 (omit it for "at once")`,
          );
        }
        if (ramp === "linear") {
          throw new ShapeError(
            `${where([...p, "spawn_rate"])} cannot be combined with ramp: linear`,
          );
        }
      }
    } else {
      if (s.users !== undefined || s.spawn_rate !== undefined) {
        throw new ShapeError(
          `${where(p)} is an arrival-rate stage: give "rate" (iterations/s), not users/spawn_rate`,
        );
      }
      rate = nonNegative(s.rate, [...p, "rate"], "iterations per second >= 0");
    }
    stages.push({
      name: typeof s.name === "string" ? s.name : `stage ${i + 1}`,
      startS: prevEnd,
      endS,
      users,
      spawnRate,
      spawnBatch: spawnRate === null ? 1 : Math.max(1, Math.floor(spawnRate)),
      rate,
      ramp,
    });
    prevEnd = endS;
  });
  const shape: LoadShape = {
    name: typeof root.name === "string" ? root.name : (options.sourcePath ?? "shape"),
    description: typeof root.description === "string" ? root.description : "",
    executor,
    stages,
    waitTime,
    startRate,
    maxInFlight,
    durationS: prevEnd,
  };
  return scaleShape(shape, options.timeScale ?? 1);
}

/** Reads and parses a shape file. */
export async function loadShape(
  path: string,
  options: Omit<ParseShapeOptions, "sourcePath"> = {},
): Promise<LoadShape> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ShapeError(`cannot read shape file ${path}: ${(e as Error).message}`);
  }
  return parseShape(text, { ...options, sourcePath: path });
}

/**
 * Compresses or stretches a shape in time: durations × `factor`, spawn rates ÷ `factor` (so
 * ramps keep their share of each stage). Arrival rates are left alone (they are per second).
 */
export function scaleShape(shape: LoadShape, factor: number): LoadShape {
  if (!(factor > 0) || !Number.isFinite(factor)) {
    throw new ShapeError(`--time-scale must be a number > 0, got ${factor}`);
  }
  if (factor === 1) return shape;
  return {
    ...shape,
    stages: shape.stages.map((s) => ({
      ...s,
      startS: s.startS * factor,
      endS: s.endS * factor,
      spawnRate: s.spawnRate === null ? null : s.spawnRate / factor,
    })),
    durationS: shape.durationS * factor,
  };
}

/** A closed-loop shape of constant `users` for `durationS` (Locust's `-u -r -t`). */
export function constantUsersShape(
  users: number,
  durationS: number,
  options: { spawnRate?: number | null; waitTime?: WaitTime | null } = {},
): LoadShape {
  return {
    name: `${users} users`,
    description: "",
    executor: "users",
    stages: [{
      name: `${users} users`,
      startS: 0,
      endS: durationS,
      users,
      spawnRate: options.spawnRate ?? null,
      spawnBatch: Math.max(1, Math.floor(options.spawnRate ?? 1)),
      rate: 0,
      ramp: "step",
    }],
    waitTime: options.waitTime ?? null,
    startRate: 0,
    maxInFlight: null,
    durationS,
  };
}

/** The index of the stage active at `elapsedS`, or -1 after the shape ended. */
export function stageIndexAt(shape: LoadShape, elapsedS: number): number {
  for (let i = 0; i < shape.stages.length; i++) {
    if (elapsedS < shape.stages[i].endS) return i;
  }
  return -1;
}

function stepCount(from: number, to: number, s: ShapeStage, sinceS: number): number {
  const rate = s.spawnRate;
  if (from === to) return to;
  if (rate === null) return to;
  const batch = s.spawnBatch;
  const batches = Math.floor(sinceS / (batch / rate) + 1e-9) + 1;
  return from < to ? Math.min(to, from + batch * batches) : Math.max(to, from - batch * batches);
}

/**
 * Users that should be running at `elapsedS` (closed loop), following each stage's spawn
 * rate or linear ramp from the count reached at the end of the previous stage. 0 after the end.
 */
export function userCountAt(shape: LoadShape, elapsedS: number): number {
  let count = 0;
  for (const s of shape.stages) {
    if (elapsedS >= s.endS) {
      count = s.ramp === "linear"
        ? s.users
        : stepCount(count, s.users, s, (s.endS - s.startS) - 1e-9);
      continue;
    }
    if (elapsedS < s.startS) break;
    const since = elapsedS - s.startS;
    if (s.ramp === "linear") {
      return Math.round(count + (s.users - count) * (since / (s.endS - s.startS)));
    }
    return stepCount(count, s.users, s, since);
  }
  return 0;
}

function rateBounds(shape: LoadShape): { r0: number; r1: number; s: ShapeStage }[] {
  const out: { r0: number; r1: number; s: ShapeStage }[] = [];
  let prev = shape.startRate;
  for (const s of shape.stages) {
    const r0 = s.ramp === "linear" ? prev : s.rate;
    out.push({ r0, r1: s.rate, s });
    prev = s.rate;
  }
  return out;
}

/** Arrival rate (per second) at `elapsedS` (open loop); 0 after the end. */
export function arrivalRateAt(shape: LoadShape, elapsedS: number): number {
  for (const { r0, r1, s } of rateBounds(shape)) {
    if (elapsedS < s.endS && elapsedS >= s.startS) {
      return r0 + (r1 - r0) * ((elapsedS - s.startS) / (s.endS - s.startS));
    }
  }
  return 0;
}

/** Expected arrivals in [0, elapsedS): the integral of {@linkcode arrivalRateAt}. */
export function arrivalsUntil(shape: LoadShape, elapsedS: number): number {
  let total = 0;
  for (const { r0, r1, s } of rateBounds(shape)) {
    const len = s.endS - s.startS;
    const x = Math.min(Math.max(elapsedS - s.startS, 0), len);
    total += r0 * x + ((r1 - r0) / (2 * len)) * x * x;
    if (elapsedS < s.endS) break;
  }
  return total;
}

/**
 * When the `k`-th arrival (k = 0, 1, ...) is due: the time t with arrivalsUntil(t) = k
 * (evenly spaced at constant rate, as k6's arrival-rate executors). `null` if the shape ends first.
 */
export function arrivalTimeS(shape: LoadShape, k: number): number | null {
  let before = 0;
  for (const { r0, r1, s } of rateBounds(shape)) {
    const len = s.endS - s.startS;
    const inStage = r0 * len + ((r1 - r0) / 2) * len;
    if (k < before + inStage - 1e-9) {
      const need = k - before;
      const a = (r1 - r0) / (2 * len);
      let x: number;
      if (Math.abs(a) < 1e-12) x = r0 === 0 ? 0 : need / r0;
      else x = (-r0 + Math.sqrt(Math.max(0, r0 * r0 + 4 * a * need))) / (2 * a);
      return s.startS + Math.min(Math.max(x, 0), len);
    }
    before += inStage;
  }
  return null;
}

/** Stage boundaries for `_stages.csv` (Users = rate for arrival-rate stages). */
export function stageRows(shape: LoadShape): StageRowData[] {
  return shape.stages.map((s) => ({
    name: s.name,
    startS: s.startS,
    endS: s.endS,
    users: shape.executor === "users" ? s.users : s.rate,
    spawnRate: shape.executor === "users" && s.ramp === "step" ? s.spawnRate : null,
  }));
}
