/**
 * One calibration for the whole notebook series: notebook 01 measures the model on this machine
 * and writes `calibration.json`; notebooks 02-07 read it, so every simulation and emulation uses
 * the measured service-time distribution and every chart and claim uses one SLO.
 *
 * @module
 */
import { type DurationModel, parseInlineDurationSpec } from "../duration/mod.ts";

/** File name of the calibration inside a notebook results folder. */
export const CALIBRATION_FILE = "calibration.json";

/** What notebook 01 measured, as the rest of the series reads it. */
export interface Calibration {
  /** ISO time of the measurement. */
  measuredAt: string;
  /** True when measured in quick mode (few samples). */
  quick: boolean;
  /** The model and backend measured, e.g. `resnet50-seeded` on `native`. */
  model: string;
  /** Inference backend it ran on, e.g. `native`. */
  backend: string;
  /** Load average (1, 5, 15 min) when the measurement ended: a busy machine inflates it all. */
  loadAvg: number[] | null;
  /**
   * One replica's time per request, in ms: one replica behind HTTP at concurrency 1 (so measured
   * under the same conditions as its throughput), over `samples` requests.
   */
  serviceTime: { meanMs: number; p50Ms: number; p99Ms: number; samples: number };
  /** The same as a service-time spec (`simulate --service-time`, `model: emulate:SPEC`). */
  serviceTimeSpec: string;
  /** Share of the model's own time spent preprocessing (decode + resize), 0-1. */
  preprocessShare: number;
  /** The model alone in one session (preprocessing + inference, one thread): mean and p99, ms. */
  modelOnly: { meanMs: number; p99Ms: number };
  /** The most one replica sustained in the sweep, req/s. */
  maxSustainableQps: number;
  /** The series' latency objective for p99, ms, and the rule it came from. */
  sloMs: number;
  /** How `sloMs` was derived, as a sentence for reports. */
  sloRule: string;
}

/** Measurements that {@link buildCalibration} turns into a calibration. */
export interface CalibrationInput {
  /** Model measured, e.g. `resnet50-seeded`. */
  model: string;
  /** Inference backend it ran on, e.g. `native`. */
  backend: string;
  /** True when measured in quick mode (few samples). */
  quick: boolean;
  /** One replica behind HTTP at concurrency 1 (ms) and how many requests it saw. */
  serviceTime: { meanMs: number; p50Ms: number; p99Ms: number; samples: number };
  /** The model alone: per-request total and preprocessing times (ms), same requests. */
  modelSamplesMs: readonly number[];
  /** Preprocessing (decode + resize) time of the same requests, ms. */
  preprocessSamplesMs: readonly number[];
  /** The most one replica sustained in the sweep, req/s. */
  maxSustainableQps: number;
  /** Load average (1, 5, 15 min) when the measurement ended; null or absent when unknown. */
  loadAvg?: number[] | null;
  /** When the measurement was taken (default: now). */
  measuredAt?: Date;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

/**
 * The SLO rule: a request may wait behind one other request on its replica (the tutorial's
 * `target_ongoing_requests: 2`), both at their p99: `2 x service p99`, rounded up to 50 ms.
 */
export function sloFromServiceP99(p99Ms: number): number {
  return Math.max(50, Math.ceil((2 * p99Ms) / 50) * 50);
}

/**
 * Builds the calibration: a lognormal spec with the service time's mean and p99 (the p99 kept
 * between 1.05 x and 10 x the mean, which a lognormal allows), the preprocessing share of the
 * model alone and the SLO ({@link sloFromServiceP99}).
 *
 * @throws {Error} when the service time is not a positive number or there are no model samples.
 */
export function buildCalibration(input: CalibrationInput): Calibration {
  const { meanMs, p99Ms } = input.serviceTime;
  if (!(meanMs > 0) || !(p99Ms > 0)) {
    throw new Error(`calibration: service time must be > 0 ms, got mean ${meanMs}, p99 ${p99Ms}`);
  }
  const sorted = [...input.modelSamplesMs].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error("calibration: no model samples");
  const modelMean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  const specP99 = Math.min(10 * meanMs, Math.max(p99Ms, meanMs * 1.05));
  const pre = input.preprocessSamplesMs.reduce((s, v) => s + v, 0) /
    Math.max(1, input.preprocessSamplesMs.length);
  const sloMs = sloFromServiceP99(p99Ms);
  return {
    measuredAt: (input.measuredAt ?? new Date()).toISOString(),
    quick: input.quick,
    model: input.model,
    backend: input.backend,
    loadAvg: input.loadAvg ?? null,
    serviceTime: input.serviceTime,
    serviceTimeSpec: `lognormal:${meanMs.toFixed(1)},${specP99.toFixed(1)}`,
    preprocessShare: modelMean > 0 ? Math.min(1, pre / modelMean) : 0,
    modelOnly: { meanMs: modelMean, p99Ms: quantile(sorted, 0.99) },
    maxSustainableQps: input.maxSustainableQps,
    sloMs,
    sloRule: `2 x the service p99 (${p99Ms.toFixed(0)} ms), rounded up to 50 ms: a request may ` +
      `wait behind one other on its replica (target_ongoing_requests 2)`,
  };
}

/** Writes `calibration.json` into `dir` and returns its path. */
export async function writeCalibration(dir: string, calibration: Calibration): Promise<string> {
  const path = `${dir.replace(/\/$/, "")}/${CALIBRATION_FILE}`;
  await Deno.writeTextFile(path, JSON.stringify(calibration, null, 2) + "\n");
  return path;
}

/**
 * Reads `calibration.json` from `dir`.
 *
 * @throws {Error} saying to run notebook 01 first when the file is missing or unreadable.
 */
export async function readCalibration(dir: string): Promise<Calibration> {
  const path = `${dir.replace(/\/$/, "")}/${CALIBRATION_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `no calibration at ${path} (${(error as Error).message}): run notebook 01 first, ` +
        "it measures the model on this machine and writes it",
    );
  }
  const data = JSON.parse(text) as Calibration;
  if (typeof data?.serviceTimeSpec !== "string" || typeof data?.sloMs !== "number") {
    throw new Error(`${path} is not a calibration (no serviceTimeSpec/sloMs): re-run notebook 01`);
  }
  return data;
}

/** The calibrated service-time distribution as a duration model (simulator, emulator). */
export function calibratedServiceTime(calibration: Calibration): DurationModel {
  const model = parseInlineDurationSpec(calibration.serviceTimeSpec, { what: "calibration" });
  if (!model) throw new Error(`calibration: ${calibration.serviceTimeSpec} is not an inline spec`);
  return model;
}
