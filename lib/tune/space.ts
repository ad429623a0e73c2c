/**
 * The search space: the nine autoscaling knobs the tuner searches, their sensible default bounds,
 * user overrides (`--bound KNOB=MIN:MAX`, `--pin KNOB=VALUE`), and the mapping between a point of
 * the unit cube (what the search moves in) and knob values (what a config holds).
 *
 * @module
 */
import type { ServeConfig } from "../config/mod.ts";
import { TuneInputError } from "./errors.ts";

/** The knobs the tuner searches, in a fixed order (the unit-cube coordinates follow it). */
export const KNOB_NAMES = [
  "target_ongoing_requests",
  "min_replicas",
  "max_replicas",
  "upscale_delay_s",
  "downscale_delay_s",
  "upscaling_factor",
  "downscaling_factor",
  "max_ongoing_requests",
  "max_queued_requests",
] as const;

/** One knob's name. */
export type KnobName = typeof KNOB_NAMES[number];

/** Values for every knob. */
export type Knobs = Record<KnobName, number>;

/** How one knob maps from [0, 1] to values. */
export interface KnobRange {
  /** Smallest value searched. */
  min: number;
  /** Largest value searched. */
  max: number;
  /** Integers only. */
  int: boolean;
  /** Spread the search evenly over log(value) (min must be > 0). */
  log: boolean;
  /** Decimal places kept for non-integers (values read like a human wrote them). */
  digits: number;
  /** `max_queued_requests` only: also try -1 (unbounded) on the lowest fifth of the axis. */
  unboundedOption: boolean;
  /** A pinned knob keeps this value. */
  pinned: number | null;
}

/** Bounds for every knob. */
export type SearchSpace = Record<KnobName, KnobRange>;

const range = (
  min: number,
  max: number,
  opts: Partial<Omit<KnobRange, "min" | "max">> = {},
): KnobRange => ({
  min,
  max,
  int: opts.int ?? false,
  log: opts.log ?? false,
  digits: opts.digits ?? 2,
  unboundedOption: opts.unboundedOption ?? false,
  pinned: opts.pinned ?? null,
});

/**
 * Sensible default bounds: wide enough to hold every config in `configs/` (target 1-5, delays
 * 0-600 s, factors 0.5-2) and a bit beyond, narrow enough that a thousand draws land on
 * configs a person would consider.
 */
export function defaultSearchSpace(): SearchSpace {
  return {
    target_ongoing_requests: range(0.5, 10, { log: true, digits: 1 }),
    min_replicas: range(0, 4, { int: true }),
    max_replicas: range(1, 50, { int: true, log: true }),
    upscale_delay_s: range(0, 60, { digits: 0 }),
    downscale_delay_s: range(5, 900, { log: true, digits: 0 }),
    upscaling_factor: range(0.5, 3, { log: true, digits: 2 }),
    downscaling_factor: range(0.2, 1, { digits: 2 }),
    max_ongoing_requests: range(1, 20, { int: true, log: true }),
    max_queued_requests: range(4, 400, { int: true, log: true, unboundedOption: true }),
  };
}

function knobName(text: string, where: string): KnobName {
  if ((KNOB_NAMES as readonly string[]).includes(text)) return text as KnobName;
  throw new TuneInputError(`${where}: unknown knob "${text}"; knobs: ${KNOB_NAMES.join(", ")}`);
}

function numberIn(text: string, where: string): number {
  const n = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(n)) {
    throw new TuneInputError(`${where}: "${text}" is not a number`);
  }
  return n;
}

/** Options of {@linkcode applyOverrides}. */
export interface OverrideOptions {
  /** `KNOB=MIN:MAX` texts (`--bound`). */
  bounds?: readonly string[];
  /** `KNOB=VALUE` texts (`--pin`). */
  pins?: readonly string[];
}

/**
 * The default space with `--bound` / `--pin` overrides applied; throws {@linkcode TuneInputError}
 * naming the flag for an unknown knob, a non-number, min > max or a log knob bound <= 0.
 */
export function applyOverrides(space: SearchSpace, options: OverrideOptions = {}): SearchSpace {
  const out = structuredClone(space);
  for (const text of options.bounds ?? []) {
    const where = `--bound ${text}`;
    const m = /^\s*([a-z_]+)\s*=\s*([^:]+):(.+)$/.exec(text);
    if (!m) throw new TuneInputError(`${where}: expected KNOB=MIN:MAX, e.g. max_replicas=2:20`);
    const name = knobName(m[1], where);
    const min = numberIn(m[2], where), max = numberIn(m[3], where);
    if (min > max) throw new TuneInputError(`${where}: min ${min} > max ${max}`);
    const r = out[name];
    if (r.log && min <= 0) {
      throw new TuneInputError(`${where}: ${name} is searched on a log scale; min must be > 0`);
    }
    if (r.int && (!Number.isInteger(min) || !Number.isInteger(max))) {
      throw new TuneInputError(`${where}: ${name} takes integers`);
    }
    r.min = min;
    r.max = max;
  }
  for (const text of options.pins ?? []) {
    const where = `--pin ${text}`;
    const m = /^\s*([a-z_]+)\s*=\s*(.+)$/.exec(text);
    if (!m) throw new TuneInputError(`${where}: expected KNOB=VALUE, e.g. min_replicas=1`);
    const name = knobName(m[1], where);
    const value = numberIn(m[2], where);
    if (out[name].int && !Number.isInteger(value)) {
      throw new TuneInputError(`${where}: ${name} takes integers`);
    }
    out[name].pinned = value;
  }
  return out;
}

function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The value of one knob at unit coordinate `u` in [0, 1]. */
export function knobValue(r: KnobRange, u: number): number {
  if (r.pinned !== null) return r.pinned;
  let t = Math.min(Math.max(u, 0), 1);
  if (r.unboundedOption) {
    if (t < 0.2) return -1;
    t = (t - 0.2) / 0.8;
  }
  const x = r.log && r.min > 0 ? r.min * (r.max / r.min) ** t : r.min + (r.max - r.min) * t;
  const v = r.int ? Math.round(x) : roundTo(x, r.digits);
  return Math.min(Math.max(v, r.min), r.max);
}

/** The unit coordinate of a knob value (inverse of {@linkcode knobValue}, up to rounding). */
export function knobUnit(r: KnobRange, value: number): number {
  if (r.pinned !== null) return 0.5;
  if (r.unboundedOption && value < 0) return 0.1;
  const v = Math.min(Math.max(value, r.min), r.max);
  let t = r.max === r.min
    ? 0.5
    : r.log && r.min > 0
    ? Math.log(v / r.min) / Math.log(r.max / r.min)
    : (v - r.min) / (r.max - r.min);
  if (r.unboundedOption) t = 0.2 + 0.8 * t;
  return t;
}

/**
 * Knob values at a point of the unit cube, repaired so the config is valid: max_replicas is at
 * least min_replicas and at least 1.
 */
export function knobsAt(space: SearchSpace, unit: readonly number[]): Knobs {
  const k = Object.fromEntries(
    KNOB_NAMES.map((name, i) => [name, knobValue(space[name], unit[i])]),
  ) as Knobs;
  k.max_replicas = Math.max(k.max_replicas, k.min_replicas, 1);
  return k;
}

/** The unit-cube point of knob values. */
export function unitOf(space: SearchSpace, knobs: Knobs): number[] {
  return KNOB_NAMES.map((name) => knobUnit(space[name], knobs[name]));
}

/** A stable text key of knob values (deduplicates candidates). */
export function knobsKey(knobs: Knobs): string {
  return KNOB_NAMES.map((n) => knobs[n]).join("|");
}

/** The knob values a config holds (its first application's first deployment). */
export function knobsOf(config: ServeConfig): Knobs {
  const dep = config.applications[0]?.deployments[0];
  const as = dep?.autoscaling_config;
  if (!dep || !as) {
    throw new TuneInputError(
      `${config.source_path ?? "config"}: the served deployment has no autoscaling_config ` +
        "(a fixed num_replicas deployment has no knobs to tune)",
    );
  }
  return {
    target_ongoing_requests: as.target_ongoing_requests,
    min_replicas: as.min_replicas,
    max_replicas: as.max_replicas,
    upscale_delay_s: as.upscale_delay_s,
    downscale_delay_s: as.downscale_delay_s,
    upscaling_factor: as.upscaling_factor ?? as.upscale_smoothing_factor ?? as.smoothing_factor,
    downscaling_factor: as.downscaling_factor ?? as.downscale_smoothing_factor ??
      as.smoothing_factor,
    max_ongoing_requests: dep.max_ongoing_requests,
    max_queued_requests: dep.max_queued_requests,
  };
}

/**
 * A copy of `config` whose served deployment holds `knobs` (the deprecated smoothing aliases are
 * cleared so the explicit factors win, and initial_replicas follows min_replicas).
 */
export function withKnobs(config: ServeConfig, knobs: Knobs): ServeConfig {
  knobsOf(config); // throws for a config without autoscaling
  const out = structuredClone(config);
  const dep = out.applications[0].deployments[0];
  const as = dep.autoscaling_config!;
  as.target_ongoing_requests = knobs.target_ongoing_requests;
  as.min_replicas = knobs.min_replicas;
  as.max_replicas = knobs.max_replicas;
  as.initial_replicas = null;
  as.upscale_delay_s = knobs.upscale_delay_s;
  as.downscale_delay_s = knobs.downscale_delay_s;
  as.upscaling_factor = knobs.upscaling_factor;
  as.downscaling_factor = knobs.downscaling_factor;
  as.upscale_smoothing_factor = null;
  as.downscale_smoothing_factor = null;
  dep.max_ongoing_requests = knobs.max_ongoing_requests;
  dep.max_queued_requests = knobs.max_queued_requests;
  return out;
}
