/**
 * Duration models for service times and replica startup times: fixed, exponential, lognormal
 * (from a mean and a p99) and empirical (samples or percentiles from a result file), plus the
 * `--service-time` / `--startup-time` spec parser.
 *
 * Spec forms (bare numbers use `defaultUnit`, `ms` unless told otherwise; `ms`/`s` suffixes work
 * everywhere):
 * - `45`, `45ms`, `fixed:45`, `noop:45` — always 45 ms;
 * - `exp:45` — exponential with mean 45 ms;
 * - `lognormal:45,80` or `lognormal:mean=45,p99=80` — lognormal with that mean and p99;
 * - `resnet50` — the ResNet-50 default, `lognormal:45,80` (one native CPU);
 * - anything else — a file: `deno task benchmark`'s JSON (native/1 inference samples plus the
 *   median preprocessing time; `file.json#wasm/2` picks another config), other JSON (an array of
 *   samples, `{samples_ms: [...]}`, or percentiles such as
 *   `{p50_ms, p90_ms, p99_ms}` / `{percentiles: {"50": .., "99": ..}}`), or CSV (Locust's
 *   `_stats.csv`, whose Aggregated row's percentiles are used, or one numeric column of samples).
 *
 * @module
 */
import type { Rng } from "./rng.ts";

/** A distribution of durations. */
export interface DurationModel {
  /** `fixed`, `exponential`, `lognormal`, `empirical-samples` or `empirical-percentiles`. */
  kind: string;
  /** Human-readable summary, e.g. `lognormal mean 45 ms, p99 80 ms`. */
  description: string;
  /** Mean of the distribution, in ms. */
  meanMs: number;
  /** Draws one duration in ms (never negative). */
  sampleMs(rng: Rng): number;
}

/** Error for an unusable duration spec or file: says what was wrong and what would be right. */
export class DurationSpecError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "DurationSpecError";
  }
}

const Z99 = 2.3263478740408408; // standard normal quantile at 0.99

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(3)} s` : `${+ms.toFixed(3)} ms`;
}

/** A duration that is always `ms`. */
export function fixedDuration(ms: number): DurationModel {
  if (!(ms >= 0) || !Number.isFinite(ms)) {
    throw new DurationSpecError(`fixed duration must be a finite number >= 0 ms, got ${ms}`);
  }
  return { kind: "fixed", description: `fixed ${fmtMs(ms)}`, meanMs: ms, sampleMs: () => ms };
}

/** Exponentially distributed durations with mean `meanMs` (the M in M/M/c). */
export function exponentialDuration(meanMs: number): DurationModel {
  if (!(meanMs > 0) || !Number.isFinite(meanMs)) {
    throw new DurationSpecError(`exponential mean must be a finite number > 0 ms, got ${meanMs}`);
  }
  return {
    kind: "exponential",
    description: `exponential mean ${fmtMs(meanMs)}`,
    meanMs,
    sampleMs: (rng) => rng.exponential(meanMs),
  };
}

/**
 * Lognormal durations with the given mean and 99th percentile. Needs `mean < p99 <= ~15 * mean`
 * (a lognormal cannot have a p99 further out than that relative to its mean).
 */
export function lognormalDuration(meanMs: number, options: { p99Ms: number }): DurationModel {
  const { p99Ms } = options;
  if (!(meanMs > 0) || !Number.isFinite(meanMs)) {
    throw new DurationSpecError(`lognormal mean must be a finite number > 0 ms, got ${meanMs}`);
  }
  if (!(p99Ms > meanMs) || !Number.isFinite(p99Ms)) {
    throw new DurationSpecError(
      `lognormal p99 must be greater than the mean (${meanMs} ms), got ${p99Ms} ms`,
    );
  }
  // ln(p99/mean) = z*sigma - sigma^2/2  ->  sigma = z - sqrt(z^2 - 2 ln(p99/mean)) (smaller root)
  const gap = Math.log(p99Ms / meanMs);
  const disc = Z99 * Z99 - 2 * gap;
  if (disc < 0) {
    const limit = meanMs * Math.exp((Z99 * Z99) / 2);
    throw new DurationSpecError(
      `lognormal p99 ${p99Ms} ms is too far above the mean ${meanMs} ms: must be <= ${
        limit.toFixed(1)
      } ms`,
    );
  }
  const sigma = Z99 - Math.sqrt(disc);
  const mu = Math.log(meanMs) - (sigma * sigma) / 2;
  return {
    kind: "lognormal",
    description: `lognormal mean ${fmtMs(meanMs)}, p99 ${fmtMs(p99Ms)}`,
    meanMs,
    sampleMs: (rng) => Math.exp(mu + sigma * rng.normal()),
  };
}

/** Empirical durations: each draw is one of `samplesMs` picked uniformly (bootstrap). */
export function empiricalSamplesDuration(
  samplesMs: ArrayLike<number>,
  options: { source?: string } = {},
): DurationModel {
  const values = Float64Array.from(samplesMs);
  if (values.length === 0) {
    throw new DurationSpecError(`${options.source ?? "empirical samples"}: no samples found`);
  }
  for (const v of values) {
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw new DurationSpecError(
        `${
          options.source ?? "empirical samples"
        }: samples must be finite numbers >= 0 ms, got ${v}`,
      );
    }
  }
  values.sort();
  const n = values.length;
  const meanMs = values.reduce((s, v) => s + v, 0) / n;
  return {
    kind: "empirical-samples",
    description: `empirical ${n} samples${options.source ? ` from ${options.source}` : ""} (mean ${
      fmtMs(meanMs)
    }, p99 ${fmtMs(values[Math.min(n - 1, Math.floor(n * 0.99))])})`,
    meanMs,
    sampleMs: (rng) => values[rng.int(n)],
  };
}

/** One point of an empirical distribution: `quantile` in [0, 1] and its value. */
export interface QuantilePoint {
  /** Cumulative probability of the point, in [0, 1] (0.99 = p99). */
  quantile: number;
  /** The duration at that quantile, ms. */
  valueMs: number;
}

/**
 * Empirical durations from percentiles: the inverse CDF is piecewise linear through the points.
 * Below the lowest point it stays at that point's value unless a quantile-0 point (the minimum) is
 * given; above the highest likewise unless a quantile-1 point (the maximum) is given.
 */
export function empiricalPercentilesDuration(
  points: QuantilePoint[],
  options: { source?: string } = {},
): DurationModel {
  const where = options.source ?? "empirical percentiles";
  const sorted = points.filter((p) => Number.isFinite(p.valueMs)).sort((x, y) =>
    x.quantile - y.quantile
  );
  if (sorted.length === 0) throw new DurationSpecError(`${where}: no percentiles found`);
  for (const p of sorted) {
    if (!(p.quantile >= 0 && p.quantile <= 1) || !(p.valueMs >= 0)) {
      throw new DurationSpecError(
        `${where}: percentile ${
          p.quantile * 100
        } has value ${p.valueMs}; quantiles must be in [0, 100] and values >= 0`,
      );
    }
  }
  if (sorted[0].quantile > 0) sorted.unshift({ quantile: 0, valueMs: sorted[0].valueMs });
  const last = sorted[sorted.length - 1];
  if (last.quantile < 1) sorted.push({ quantile: 1, valueMs: last.valueMs });
  // Values must not decrease with the quantile (Locust's bucketing can make 100% < 99.99%).
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].valueMs < sorted[i - 1].valueMs) sorted[i].valueMs = sorted[i - 1].valueMs;
  }
  const qs = sorted.map((p) => p.quantile), vs = sorted.map((p) => p.valueMs);
  const inverse = (u: number): number => {
    let i = 1;
    while (i < qs.length - 1 && qs[i] < u) i++;
    const q0 = qs[i - 1], q1 = qs[i];
    if (q1 <= q0) return vs[i];
    return vs[i - 1] + ((u - q0) / (q1 - q0)) * (vs[i] - vs[i - 1]);
  };
  let meanMs = 0;
  for (let i = 1; i < qs.length; i++) meanMs += (qs[i] - qs[i - 1]) * (vs[i] + vs[i - 1]) / 2;
  const p50 = inverse(0.5), p99 = inverse(0.99);
  return {
    kind: "empirical-percentiles",
    description: `empirical percentiles${options.source ? ` from ${options.source}` : ""} (p50 ${
      fmtMs(p50)
    }, p99 ${fmtMs(p99)})`,
    meanMs,
    sampleMs: (rng) => inverse(rng.next()),
  };
}

/** Parses `45`, `45ms`, `0.5s` into ms (bare numbers use `defaultUnit`). */
export function parseDurationValueMs(
  text: string,
  options: { defaultUnit?: "ms" | "s"; what?: string } = {},
): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)\s*(ms|s)?\s*$/i.exec(text);
  if (!m) {
    throw new DurationSpecError(
      `${
        options.what ?? "duration"
      }: expected a number with an optional ms or s unit (e.g. 45ms, 2s), got "${text}"`,
    );
  }
  const unit = (m[2] ?? options.defaultUnit ?? "ms").toLowerCase();
  return Number(m[1]) * (unit === "s" ? 1000 : 1);
}

/** Options for `parseDurationSpec`. */
export interface ParseDurationSpecOptions {
  /** Unit of bare numbers (default `ms`). */
  defaultUnit?: "ms" | "s";
  /** Folder that relative file paths are read from (default: the working directory). */
  baseDir?: string;
  /** Flag or field name used in error messages, e.g. `--service-time`. */
  what?: string;
  /** Reads a file (injected in tests); default `Deno.readTextFile`. */
  readTextFile?: (path: string) => Promise<string>;
}

/** The ResNet-50 service-time default: ~45 ms mean, ~80 ms p99 on one native CPU. */
export const RESNET50_SERVICE_TIME = { meanMs: 45, p99Ms: 80 } as const;

/** Parses a `--service-time` / `--startup-time` spec (see the module doc) into a model. */
export async function parseDurationSpec(
  spec: string,
  options: ParseDurationSpecOptions = {},
): Promise<DurationModel> {
  const what = options.what ?? "duration spec";
  return await withFlagName(what, async () => {
    const inline = parseInlineDurationSpec(spec, options);
    if (inline) return inline;
    const { path, select } = durationSpecFile(spec, options);
    const read = options.readTextFile ?? ((p: string) => Deno.readTextFile(p));
    let content: string;
    try {
      content = await read(path);
    } catch (error) {
      throw new DurationSpecError(
        `${what}: "${spec.trim()}" is not a known model (fixed:MS, exp:MS, lognormal:MEAN,P99, resnet50) and could not be read as a file: ${
          (error as Error).message
        }`,
      );
    }
    return durationModelFromText(content, { source: path, select });
  });
}

/**
 * Parses the inline forms of a duration spec (`45`, `fixed:45`, `noop:45`, `exp:45`,
 * `lognormal:45,80`, `resnet50`) without touching the file system. Returns null when the spec is
 * none of them, i.e. names a file (see {@link durationSpecFile}).
 *
 * @throws {DurationSpecError} for a malformed inline form (e.g. `lognormal:45`), naming `options.what`.
 */
export function parseInlineDurationSpec(
  spec: string,
  options: Pick<ParseDurationSpecOptions, "defaultUnit" | "what"> = {},
): DurationModel | null {
  const what = options.what ?? "duration spec";
  const text = spec.trim();
  if (text === "") {
    throw new DurationSpecError(`${what}: empty spec; try fixed:45 or lognormal:45,80`);
  }
  return withFlagName(what, () => parseInline(text, what, options));
}

/**
 * The file a duration spec names: `path` (relative paths joined to `options.baseDir`) and the
 * optional `#backend/threads` selector of a benchmark JSON.
 */
export function durationSpecFile(
  spec: string,
  options: Pick<ParseDurationSpecOptions, "baseDir"> = {},
): { path: string; select?: string } {
  const text = spec.trim();
  const hash = text.lastIndexOf("#");
  const select = hash > 0 ? text.slice(hash + 1) : undefined;
  const file = hash > 0 ? text.slice(0, hash) : text;
  const path = options.baseDir && !file.startsWith("/") ? `${options.baseDir}/${file}` : file;
  return select === undefined ? { path } : { path, select };
}

/** Runs `parse`, prefixing builder errors (which do not know the flag) with `what`. */
function withFlagName<T>(what: string, parse: () => T): T {
  const prefix = (error: unknown) => {
    if (error instanceof DurationSpecError && !error.message.startsWith(what)) {
      return new DurationSpecError(`${what}: ${error.message}`);
    }
    return error;
  };
  try {
    const out = parse();
    if (out instanceof Promise) {
      return out.catch((error) => {
        throw prefix(error);
      }) as T;
    }
    return out;
  } catch (error) {
    throw prefix(error);
  }
}

function parseInline(
  text: string,
  what: string,
  options: Pick<ParseDurationSpecOptions, "defaultUnit">,
): DurationModel | null {
  const valueOpts = { defaultUnit: options.defaultUnit, what };
  if (/^[0-9.]/.test(text) && /^[0-9.e+-]+\s*(ms|s)?$/i.test(text)) {
    return fixedDuration(parseDurationValueMs(text, valueOpts));
  }
  if (text.toLowerCase() === "resnet50") {
    return lognormalDuration(RESNET50_SERVICE_TIME.meanMs, { p99Ms: RESNET50_SERVICE_TIME.p99Ms });
  }
  const colon = text.indexOf(":");
  const head = colon > 0 ? text.slice(0, colon).toLowerCase() : "";
  const rest = colon > 0 ? text.slice(colon + 1) : "";
  if (head === "fixed" || head === "noop") {
    return fixedDuration(parseDurationValueMs(rest, valueOpts));
  }
  if (head === "exp" || head === "exponential") {
    return exponentialDuration(parseDurationValueMs(rest, valueOpts));
  }
  if (head === "lognormal") {
    const parts = rest.split(",").map((p) => p.trim());
    let mean: string | undefined, p99: string | undefined;
    for (const [i, part] of parts.entries()) {
      const eq = part.indexOf("=");
      if (eq < 0) {
        if (i === 0) mean = part;
        else if (i === 1) p99 = part;
      } else {
        const key = part.slice(0, eq).trim().toLowerCase(), value = part.slice(eq + 1);
        if (key === "mean") mean = value;
        else if (key === "p99") p99 = value;
        else {
          throw new DurationSpecError(
            `${what}: unknown lognormal field "${key}"; use mean and p99`,
          );
        }
      }
    }
    if (mean === undefined || p99 === undefined) {
      throw new DurationSpecError(
        `${what}: lognormal needs a mean and a p99, e.g. lognormal:45,80 or lognormal:mean=45ms,p99=80ms; got "${text}"`,
      );
    }
    return lognormalDuration(parseDurationValueMs(mean, valueOpts), {
      p99Ms: parseDurationValueMs(p99, valueOpts),
    });
  }
  return null;
}

const SAMPLE_KEYS = [
  "samples_ms",
  "latencies_ms",
  "latency_samples_ms",
  "service_times_ms",
  "durations_ms",
  "samples",
  "latencies",
];

function percentileKey(key: string): number | null {
  // p50, p50_ms, p99.9_ms, "p99 (ms)", "50%", "99.9"
  const m = /^(?:p|percentile_?)?(\d+(?:\.\d+)?)(?:%|_ms| \(ms\)|ms)?$/i.exec(key.trim());
  if (!m) return null;
  const q = Number(m[1]);
  return q >= 0 && q <= 100 ? q / 100 : null;
}

function findSamples(value: unknown, depth = 0): number[] | null {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => typeof v === "number")) return value as number[];
    return null;
  }
  if (value === null || typeof value !== "object" || depth > 3) return null;
  const obj = value as Record<string, unknown>;
  for (const key of SAMPLE_KEYS) {
    const v = obj[key];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number")) return v;
  }
  for (const v of Object.values(obj)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const found = findSamples(v, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

function findPercentiles(value: unknown, depth = 0): QuantilePoint[] | null {
  if (value === null || typeof value !== "object" || Array.isArray(value) || depth > 3) return null;
  const obj = value as Record<string, unknown>;
  const points: QuantilePoint[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v !== "number") continue;
    const q = percentileKey(key);
    if (q !== null) points.push({ quantile: q, valueMs: v });
    else if (/^(min|min_ms)$/i.test(key)) points.push({ quantile: 0, valueMs: v });
    else if (/^(max|max_ms)$/i.test(key)) points.push({ quantile: 1, valueMs: v });
  }
  if (points.some((p) => p.quantile > 0 && p.quantile < 1)) return points;
  for (const key of ["percentiles_ms", "percentiles", "latency_ms", "latency"]) {
    const found = findPercentiles(obj[key], depth + 1);
    if (found) return found;
  }
  for (const v of Object.values(obj)) {
    const found = findPercentiles(v, depth + 1);
    if (found) return found;
  }
  return null;
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

interface BenchConfig {
  backend?: unknown;
  threads?: unknown;
  raw?: { oursMs?: unknown; endToEndMs?: unknown };
}

/**
 * `deno task benchmark`'s JSON (lib/model): `configs[]` of {backend, threads, raw.oursMs} plus
 * `preprocess.ms.p50`. A replica's service time is inference + preprocessing, so the samples are
 * the chosen config's inference samples plus the median preprocessing time. `select` is
 * `backend/threads` (default `native/1`, else the first config).
 */
function modelBenchmarkSamples(
  data: unknown,
  select: string | undefined,
): { samplesMs: number[]; label: string } | null {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
  const obj = data as { configs?: unknown; preprocess?: { ms?: { p50?: unknown } } };
  if (!Array.isArray(obj.configs)) return null;
  const configs = (obj.configs as BenchConfig[]).filter((c) =>
    Array.isArray(c?.raw?.oursMs) && (c.raw!.oursMs as unknown[]).length > 0 &&
    (c.raw!.oursMs as unknown[]).every((v) => typeof v === "number")
  );
  if (configs.length === 0) return null;
  const want = (select ?? "native/1").toLowerCase();
  const chosen = configs.find((c) => `${c.backend}/${c.threads}`.toLowerCase() === want);
  if (select !== undefined && !chosen) {
    throw new DurationSpecError(
      `benchmark file has no config "${select}"; it has ${
        configs.map((c) => `${c.backend}/${c.threads}`).join(", ")
      }`,
    );
  }
  const c = chosen ?? configs[0];
  const pre = typeof obj.preprocess?.ms?.p50 === "number" ? obj.preprocess.ms.p50 : 0;
  return {
    samplesMs: (c.raw!.oursMs as number[]).map((v) => v + pre),
    label: `${c.backend}/${c.threads} inference + ${pre.toFixed(1)} ms preprocessing`,
  };
}

/**
 * Builds an empirical model from a result file's text (JSON or CSV, see the module doc).
 * `source` names the file in errors and in the model's description.
 */
export function durationModelFromText(
  text: string,
  options: { source?: string; select?: string } = {},
): DurationModel {
  const source = options.source ?? "service-time file";
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (error) {
      throw new DurationSpecError(`${source}: invalid JSON: ${(error as Error).message}`);
    }
    let bench: ReturnType<typeof modelBenchmarkSamples>;
    try {
      bench = modelBenchmarkSamples(data, options.select);
    } catch (error) {
      if (error instanceof DurationSpecError) {
        throw new DurationSpecError(`${source}: ${error.message}`);
      }
      throw error;
    }
    if (bench) {
      return empiricalSamplesDuration(bench.samplesMs, { source: `${source} (${bench.label})` });
    }
    const samples = findSamples(data);
    if (samples) return empiricalSamplesDuration(samples, { source });
    const points = findPercentiles(data);
    if (points) return empiricalPercentilesDuration(points, { source });
    throw new DurationSpecError(
      `${source}: found neither latency samples (an array of ms, or ${
        SAMPLE_KEYS.join("/")
      }) nor percentiles (p50_ms, p99_ms, ... or percentiles: {"50": ms})`,
    );
  }
  // Keep each line's own number (1-based, in the untrimmed text) for messages.
  const numbered = text.split(/\r?\n/).map((line, i) => ({ line, no: i + 1 }))
    .filter((l) => l.line.trim() !== "");
  const lines = numbered.map((l) => l.line);
  if (lines.length === 0) throw new DurationSpecError(`${source}: file is empty`);
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  if (header.includes("Request Count") && header.includes("Name")) {
    // Locust _stats.csv: take the Aggregated row.
    const row = lines.slice(1).map(splitCsvLine).find((cells) =>
      cells[header.indexOf("Name")] === "Aggregated"
    );
    if (!row) throw new DurationSpecError(`${source}: Locust stats file has no Aggregated row`);
    // A blank cell is no value (Number("") would make it 0 ms).
    const cellMs = (cell: string | undefined) =>
      cell === undefined || cell.trim() === "" ? NaN : Number(cell);
    const points: QuantilePoint[] = [];
    header.forEach((h, i) => {
      const q = h.endsWith("%") ? percentileKey(h) : null;
      const v = cellMs(row[i]);
      if (q !== null && row[i] !== "N/A" && Number.isFinite(v)) {
        points.push({ quantile: q, valueMs: v });
      }
    });
    const min = cellMs(row[header.indexOf("Min Response Time")]);
    if (Number.isFinite(min) && points.length > 0) points.push({ quantile: 0, valueMs: min });
    if (points.length === 0) {
      throw new DurationSpecError(
        `${source}: Locust stats file's Aggregated row has no percentiles (no requests?)`,
      );
    }
    return empiricalPercentilesDuration(points, { source });
  }
  const headerIsNumeric = header.every((h) => h === "" || Number.isFinite(Number(h)));
  const column = headerIsNumeric ? 0 : (() => {
    const i = header.findIndex((h) => /(ms|latency|service|duration|time)/i.test(h));
    return i >= 0 ? i : 0;
  })();
  const samples: number[] = [];
  for (const [i, line] of lines.entries()) {
    if (i === 0 && !headerIsNumeric) continue;
    const cell = splitCsvLine(line)[column]?.trim() ?? "";
    const v = Number(cell);
    if (cell === "" || !Number.isFinite(v)) {
      throw new DurationSpecError(
        `${source}:${numbered[i].no}: expected a number of ms in column ${
          column + 1
        }, got "${cell}"`,
      );
    }
    samples.push(v);
  }
  return empiricalSamplesDuration(samples, { source });
}
