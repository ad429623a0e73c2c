/**
 * Locust's request statistics (`locust/stats.py` @ 407343d0, research/loadgen.md §1), ported
 * rule for rule but clock-agnostic: every method that Locust would have called `time.time()` in
 * takes the time (`nowS`, Unix seconds, may be virtual) as an argument, so the simulator can drive
 * the same code in virtual time.
 *
 * Alongside Locust's bucketed dict each entry keeps a 3-significant-digit
 * {@linkcode LatencyHistogram} of the raw times, and the whole collection keeps a per-interval
 * aggregated histogram for exact per-second percentiles (`_latency.csv`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { LatencyHistogram } from "./histogram.ts";
import { pyFloat, pyStrRepr, roundHalfEven, roundToPowerOfTen } from "./_pyformat.ts";

/** Locust's default `PERCENTILES_TO_REPORT`. */
export const PERCENTILES_TO_REPORT: readonly number[] = [
  0.50,
  0.66,
  0.75,
  0.80,
  0.90,
  0.95,
  0.98,
  0.99,
  0.999,
  0.9999,
  1.0,
];

/** Locust's `CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW` (seconds). */
export const CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW = 10;

/**
 * Locust's `bucket_response_time`: round to ~2 significant digits, half to even
 * (`145 -> 140`, `155 -> 160`, `99.6 -> 100`, `3432 -> 3400`, `58760 -> 59000`).
 */
export function bucketResponseTime(responseTimeMs: number): number {
  if (responseTimeMs < 100) return roundHalfEven(responseTimeMs);
  if (responseTimeMs < 1000) return roundToPowerOfTen(responseTimeMs, 1);
  if (responseTimeMs < 10000) return roundToPowerOfTen(responseTimeMs, 2);
  return roundToPowerOfTen(responseTimeMs, 3);
}

/** Locust's `get_readable_percentiles`: `0.5 -> "50%"`, `0.999 -> "99.9%"`. */
export function readablePercentiles(percentiles: readonly number[]): string[] {
  return percentiles.map((p) => {
    const x = p * 100;
    return Number.isInteger(x) ? `${x}%` : `${pyFloat(Math.round(x * 1e6) / 1e6)}%`;
  });
}

/**
 * Locust's `calculate_response_time_percentile`: walks the bucketed times from the top and
 * returns the first key where `n - processed <= int(n * p)`, i.e. `a[min(int(n*p), n-1)]`
 * of the sorted bucketed values; 0 when there are none. `options.numRequests` is Locust's `n`
 * (requests with a time); it defaults to the sum of the counts.
 */
export function calculateResponseTimePercentile(
  responseTimes: ReadonlyMap<number, number>,
  percent: number,
  options: { numRequests?: number } = {},
): number {
  return calculateResponseTimePercentiles(responseTimes, [percent], options)[0];
}

/**
 * {@linkcode calculateResponseTimePercentile} for several percentiles (`percents` in 0..1) over
 * one sort of the keys: a stats row asks for 11.
 */
export function calculateResponseTimePercentiles(
  responseTimes: ReadonlyMap<number, number>,
  percents: readonly number[],
  options: {
    numRequests?: number;
    /** The map's keys in ascending order, when the caller already has them. */
    sortedKeys?: Float64Array;
  } = {},
): number[] {
  let numRequests = options.numRequests;
  if (numRequests === undefined) {
    numRequests = 0;
    for (const c of responseTimes.values()) numRequests += c;
  }
  const keys = options.sortedKeys ?? sortedKeys(responseTimes);
  const counts = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) counts[i] = responseTimes.get(keys[i])!;
  return percents.map((percent) => {
    const numOfRequest = Math.trunc(numRequests * percent);
    let processed = 0;
    for (let i = keys.length - 1; i >= 0; i--) {
      processed += counts[i];
      if (numRequests - processed <= numOfRequest) return keys[i];
    }
    return 0;
  });
}

/**
 * The map's keys in ascending order. A typed array's numeric sort orders distinct numbers as the
 * comparator sort `(a, b) => a - b` does (the keys are distinct bucketed times), without calling
 * a comparator per comparison: this runs 12 times per stats-history row.
 */
function sortedKeys(counts: ReadonlyMap<number, number>): Float64Array {
  const keys = new Float64Array(counts.size);
  let i = 0;
  for (const k of counts.keys()) keys[i++] = k;
  return keys.sort();
}

/**
 * Locust's `median_from_dict`: the lower median `a[(n-1)//2]` of the bucketed values
 * (`keys`: the map's keys in ascending order, when the caller already has them).
 */
export function medianFromDict(
  total: number,
  counts: ReadonlyMap<number, number>,
  keys?: Float64Array,
): number {
  let pos = (total - 1) / 2;
  let k = 0;
  for (k of keys ?? sortedKeys(counts)) {
    const c = counts.get(k)!;
    if (pos < c) return k;
    pos -= c;
  }
  return k;
}

/** A number that remembers whether Python would hold it as a float (`12.0`) or an int (`12`). */
export interface PyNumber {
  /** The value. */
  value: number;
  /** True when Python's value is a float (rendered with `repr`, keeping `.0`). */
  isFloat: boolean;
}

/** Renders a {@linkcode PyNumber} as Python's `str()` would. */
export function renderPyNumber(n: PyNumber): string {
  return n.isFloat ? pyFloat(n.value) : String(Math.trunc(n.value));
}

/** Locust's `response_times_cache` entry: the bucket counts and request count at one second. */
export interface CachedResponseTimes {
  /** Bucketed response time (ms) to count, as of that second. */
  responseTimes: Map<number, number>;
  /** Requests as of that second. */
  numRequests: number;
  /** Requests without a response time (Locust's `num_none_requests`) as of that second. */
  numNoneRequests: number;
}

/** One row of statistics (Locust's `StatsEntry`), keyed by (name, method). */
export class StatsEntry {
  /** URL path or explicit name. */
  readonly name: string;
  /** HTTP method; empty for the Aggregated entry. */
  readonly method: string;
  /** Requests logged (failures included). */
  numRequests = 0;
  /** Requests logged without a response time. */
  numNoneRequests = 0;
  /** Failed requests. */
  numFailures = 0;
  /** Sum of raw response times, ms. */
  totalResponseTime = 0;
  /** Smallest raw time, ms (`null` before the first). */
  minResponseTime: number | null = null;
  /** Largest raw time, ms (Python int 0 until a time above 0 arrives). */
  maxResponseTime = 0;
  /** Whether {@linkcode maxResponseTime} is a Python float yet. */
  maxIsFloat = false;
  /** Requests per integer Unix second. */
  numReqsPerSec: Map<number, number> = new Map();
  /** Failures per integer Unix second. */
  numFailPerSec: Map<number, number> = new Map();
  /**
   * Bucketed response time -> count (Locust's `response_times`). Keys are only ever added, as in
   * Locust's dict; to drop keys, assign a new map (the sorted-keys cache relies on it).
   */
  responseTimes: Map<number, number> = new Map();
  /** Snapshots of {@linkcode responseTimes} by second, for the sliding window (newest 20). */
  responseTimesCache: Map<number, CachedResponseTimes> | null = null;
  /** Sum of response body sizes, bytes. */
  totalContentLength = 0;
  /** When the entry (or the stats) were reset, Unix seconds. */
  startTime = 0;
  /** Time of the last request, Unix seconds (`null` before the first). */
  lastRequestTimestamp: number | null = null;
  /** Our extra: the raw times in a 3-significant-digit histogram. */
  readonly histogram: LatencyHistogram = new LatencyHistogram();
  readonly #stats: RequestStats;
  readonly #useCache: boolean;
  // responseTimes' keys in ascending order, for the map and size they were sorted for: a stats
  // row sorts them twice, every second, and after the first seconds no new bucket appears.
  #sortedKeys: Float64Array = new Float64Array(0);
  #sortedKeysOf: ReadonlyMap<number, number> | null = null;

  /** Creates an entry; `nowS` is its reset time. */
  constructor(stats: RequestStats, name: string, method: string, nowS: number, useCache: boolean) {
    this.#stats = stats;
    this.name = name;
    this.method = method;
    this.#useCache = useCache;
    this.reset(nowS);
  }

  /** Clears every counter; the window cache restarts with a snapshot at `int(nowS)`. */
  reset(nowS: number): void {
    this.startTime = nowS;
    this.numRequests = 0;
    this.numNoneRequests = 0;
    this.numFailures = 0;
    this.totalResponseTime = 0;
    this.responseTimes = new Map();
    this.minResponseTime = null;
    this.maxResponseTime = 0;
    this.maxIsFloat = false;
    this.lastRequestTimestamp = null;
    this.numReqsPerSec = new Map();
    this.numFailPerSec = new Map();
    this.totalContentLength = 0;
    this.histogram.reset();
    if (this.#useCache) {
      this.responseTimesCache = new Map();
      this.#cacheResponseTimes(Math.floor(nowS));
    }
  }

  /** Logs one request finished at `nowS` (`responseTimeMs` null = no time, as Locust's None). */
  log(responseTimeMs: number | null, contentLength: number, nowS: number): void {
    const t = Math.floor(nowS);
    if (
      this.#useCache && this.lastRequestTimestamp !== null &&
      t > Math.floor(this.lastRequestTimestamp)
    ) {
      this.#cacheResponseTimes(t - 1);
    }
    this.numRequests += 1;
    this.numReqsPerSec.set(t, (this.numReqsPerSec.get(t) ?? 0) + 1);
    this.lastRequestTimestamp = nowS;
    if (responseTimeMs === null) {
      this.numNoneRequests += 1;
    } else {
      this.totalResponseTime += responseTimeMs;
      if (this.minResponseTime === null || responseTimeMs < this.minResponseTime) {
        this.minResponseTime = responseTimeMs;
      }
      if (responseTimeMs > this.maxResponseTime) {
        this.maxResponseTime = responseTimeMs;
        this.maxIsFloat = true;
      }
      const key = bucketResponseTime(responseTimeMs);
      this.responseTimes.set(key, (this.responseTimes.get(key) ?? 0) + 1);
      this.histogram.record(responseTimeMs);
    }
    this.totalContentLength += contentLength;
  }

  /**
   * {@linkcode log} for `count` requests at once, in order: request `i` took `responseTimesMs[i]`
   * and finished at `nowsS[i]`, with no content. The counters end exactly as after `count` calls
   * of `log(responseTimesMs[i], 0, nowsS[i])` (same additions in the same order, map keys added
   * in the same order); the per-second count is updated once per run of one second. With the
   * window cache on, it is those calls.
   */
  logMany(responseTimesMs: Float64Array, nowsS: Float64Array, count: number): void {
    if (count <= 0) return;
    if (this.#useCache) {
      for (let i = 0; i < count; i++) this.log(responseTimesMs[i], 0, nowsS[i]);
      return;
    }
    const perSec = this.numReqsPerSec;
    const buckets = this.responseTimes;
    const histogram = this.histogram;
    let total = this.totalResponseTime;
    let min = this.minResponseTime;
    let max = this.maxResponseTime;
    let maxIsFloat = this.maxIsFloat;
    let second = Math.floor(nowsS[0]);
    let inSecond = 0;
    for (let i = 0; i < count; i++) {
      const t = Math.floor(nowsS[i]);
      if (t !== second) {
        perSec.set(second, (perSec.get(second) ?? 0) + inSecond);
        second = t;
        inSecond = 0;
      }
      inSecond++;
      const ms = responseTimesMs[i];
      total += ms;
      if (min === null || ms < min) min = ms;
      if (ms > max) {
        max = ms;
        maxIsFloat = true;
      }
      const key = bucketResponseTime(ms);
      buckets.set(key, (buckets.get(key) ?? 0) + 1);
      histogram.record(ms);
    }
    perSec.set(second, (perSec.get(second) ?? 0) + inSecond);
    this.numRequests += count;
    this.lastRequestTimestamp = nowsS[count - 1];
    this.totalResponseTime = total;
    this.minResponseTime = min;
    this.maxResponseTime = max;
    this.maxIsFloat = maxIsFloat;
  }

  /** Counts one failure at `nowS` (the request itself is logged with {@linkcode log}). */
  logError(nowS: number): void {
    this.numFailures += 1;
    const t = Math.floor(nowS);
    this.numFailPerSec.set(t, (this.numFailPerSec.get(t) ?? 0) + 1);
  }

  /** Failures ÷ requests (1.0 when there are failures but no requests). */
  get failRatio(): number {
    if (this.numRequests === 0) return this.numFailures > 0 ? 1 : 0;
    return this.numFailures / this.numRequests;
  }

  /** Mean of raw times (a Python float; 0.0 when empty). */
  get avgResponseTime(): number {
    const n = this.numRequests - this.numNoneRequests;
    return n === 0 ? 0 : this.totalResponseTime / n;
  }

  /** Locust's median: lower median of the bucketed times clamped into [min, max]. */
  get medianResponseTime(): PyNumber {
    if (this.responseTimes.size === 0) return { value: 0, isFloat: false };
    let median: PyNumber = {
      value: medianFromDict(
        this.numRequests - this.numNoneRequests,
        this.responseTimes,
        this.#responseTimeKeys(),
      ),
      isFloat: false,
    };
    if (median.value > this.maxResponseTime) {
      median = { value: this.maxResponseTime, isFloat: this.maxIsFloat };
    } else if (this.minResponseTime !== null && median.value < this.minResponseTime) {
      median = { value: this.minResponseTime, isFloat: true };
    }
    return median;
  }

  /** Mean requests/s over the seconds [max(L-12, start), L-2) where L = last request of any entry. */
  get currentRps(): number {
    return this.#currentRate(this.numReqsPerSec);
  }

  /** As {@linkcode currentRps} for failures. */
  get currentFailPerSec(): number {
    return this.#currentRate(this.numFailPerSec);
  }

  /** Requests ÷ (last request of any entry − stats start); 0.0 before any request. */
  get totalRps(): number {
    return this.#totalRate(this.numRequests);
  }

  /** Failures ÷ (last request of any entry − stats start). */
  get totalFailPerSec(): number {
    return this.#totalRate(this.numFailures);
  }

  /** Bytes ÷ requests: a Python float, or int 0 when there are no requests. */
  get avgContentLength(): PyNumber {
    if (this.numRequests === 0) return { value: 0, isFloat: false };
    return { value: this.totalContentLength / this.numRequests, isFloat: true };
  }

  /** Whole-run percentile of the bucketed times (`p` in 0..1). */
  responseTimePercentile(p: number): number {
    return this.responseTimePercentiles([p])[0];
  }

  /** {@linkcode responseTimePercentile} for several percentiles at once (one sort). */
  responseTimePercentiles(ps: readonly number[]): number[] {
    return calculateResponseTimePercentiles(this.responseTimes, ps, {
      numRequests: this.numRequests - this.numNoneRequests,
      sortedKeys: this.#responseTimeKeys(),
    });
  }

  /** {@linkcode responseTimes}' keys in ascending order, sorted again only when they changed. */
  #responseTimeKeys(): Float64Array {
    const m = this.responseTimes;
    if (this.#sortedKeysOf !== m || this.#sortedKeys.length !== m.size) {
      this.#sortedKeys = sortedKeys(m);
      this.#sortedKeysOf = m;
    }
    return this.#sortedKeys;
  }

  /**
   * Locust's "current" percentile at `nowS`: the difference between now and the snapshot
   * nearest to 10 s ago (searched t-10, t-11, t-9, ... t-18, t-2); `null` when none is cached.
   */
  currentResponseTimePercentile(p: number, nowS: number): number | null {
    const cache = this.responseTimesCache;
    if (cache === null) {
      throw new Error("current percentiles need the response-times cache (useResponseTimesCache)");
    }
    const t = Math.floor(nowS);
    const w = CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW;
    const acceptable = [t - w];
    for (let i = 1; i < 9; i++) acceptable.push(t - w - i, t - w + i);
    let cached: CachedResponseTimes | undefined;
    for (const ts of acceptable) {
      cached = cache.get(ts);
      if (cached) break;
    }
    if (!cached) return null;
    const diff = new Map<number, number>();
    for (const [k, v] of this.responseTimes) {
      const d = v - (cached.responseTimes.get(k) ?? 0);
      if (d !== 0) diff.set(k, d);
    }
    return calculateResponseTimePercentile(diff, p, {
      numRequests: (this.numRequests - this.numNoneRequests) -
        (cached.numRequests - cached.numNoneRequests),
    });
  }

  #currentRate(perSec: Map<number, number>): number {
    const last = this.#stats.total.lastRequestTimestamp;
    if (last === null) return 0;
    const start = Math.max(Math.floor(last) - 12, Math.floor(this.#stats.total.startTime));
    const end = Math.floor(last) - 2;
    let sum = 0;
    let n = 0;
    for (let t = start; t < end; t++) {
      sum += perSec.get(t) ?? 0;
      n++;
    }
    return sum / Math.max(n, 1);
  }

  #totalRate(count: number): number {
    const last = this.#stats.total.lastRequestTimestamp;
    if (last === null) return 0;
    const span = last - this.#stats.total.startTime;
    return span === 0 ? 0 : count / span;
  }

  #cacheResponseTimes(t: number): void {
    if (this.responseTimesCache === null) this.responseTimesCache = new Map();
    const cache = this.responseTimesCache;
    // Map.set keeps an existing key's position, as OrderedDict assignment does.
    cache.set(t, {
      responseTimes: new Map(this.responseTimes),
      numRequests: this.numRequests,
      numNoneRequests: this.numNoneRequests,
    });
    const size = CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW + 10;
    while (cache.size > size) cache.delete(cache.keys().next().value!);
  }
}

/** One distinct failure (Locust's `StatsError`). */
export interface StatsErrorRow {
  /** HTTP method. */
  method: string;
  /** Entry name. */
  name: string;
  /** Error text as Locust renders it (`HTTPError('500 Server Error: ...')`). */
  error: string;
  /** How many times it happened. */
  occurrences: number;
  /** First occurrence, Unix seconds. */
  firstSeenS: number;
  /** Last occurrence, Unix seconds. */
  lastSeenS: number;
  /** Locust's sort key: sha256 hex of `method.name.repr(error)`. */
  key: string;
}

/** One distinct unhandled exception in user code (Locust's `runner.exceptions`). */
export interface ExceptionRow {
  /** Occurrences. */
  count: number;
  /** `str(exception)`. */
  message: string;
  /** Formatted traceback (multi-line). */
  traceback: string;
  /** Node ids (`local`). */
  nodes: Set<string>;
}

/** Locust's `StatsError.parse_error` on a string: masks `object at 0x7f..>` to `0x....`. */
export function maskObjectAddress(error: string): string {
  const target = "object at 0x";
  const idx = error.indexOf(target);
  if (idx < 0) return error;
  const start = idx + target.length - 2;
  const end = error.indexOf(">", start);
  if (end < 0) return error;
  return error.replaceAll(error.slice(start, end), "0x....");
}

/** Options for {@linkcode RequestStats}. */
export interface RequestStatsOptions {
  /** Keep per-second snapshots for windowed percentiles (default true). */
  useResponseTimesCache?: boolean;
}

/** A (name, method) pair's finished request, as passed to {@linkcode RequestStats.logRequest}. */
export interface RequestRecord {
  /** HTTP method (Locust's `request_type`). */
  method: string;
  /** Entry name (URL path). */
  name: string;
  /** Response time in ms, or `null` for none. */
  responseTimeMs: number | null;
  /** Response body size in bytes. */
  contentLength: number;
  /** Completion time, Unix seconds. */
  nowS: number;
  /** Error text when the request failed (Locust's rendering), else undefined. */
  error?: string;
}

/** Per-interval aggregated figures taken by {@linkcode RequestStats.takeInterval}. */
export interface IntervalStats {
  /** Requests finished in the interval. */
  requests: number;
  /** Failures in the interval. */
  failures: number;
  /** Raw times of the interval. */
  histogram: LatencyHistogram;
}

/**
 * All request statistics of a run (Locust's `RequestStats`): entries by (name, method), the
 * `Aggregated` total, failures, exceptions; plus our per-interval histogram.
 */
export class RequestStats {
  /** Entries keyed by `name\0method`. */
  readonly entries: Map<string, StatsEntry> = new Map();
  /** Distinct failures keyed by Locust's sha256 key. */
  errors: Map<string, StatsErrorRow> = new Map();
  /** Distinct exceptions keyed by message + traceback. */
  exceptions: Map<string, ExceptionRow> = new Map();
  /** The Aggregated entry. */
  total: StatsEntry;
  #useCache: boolean;
  #errorKeys: Map<string, { text: string; key: string }> = new Map();
  #interval: LatencyHistogram = new LatencyHistogram();
  #intervalRequests = 0;
  #intervalFailures = 0;

  /** Creates empty stats whose start time is `nowS`. */
  constructor(nowS: number, options: RequestStatsOptions = {}) {
    this.#useCache = options.useResponseTimesCache ?? true;
    this.total = new StatsEntry(this, "Aggregated", "", nowS, this.#useCache);
  }

  /** The entry for (name, method), created on first use at `nowS`. */
  get(name: string, method: string, nowS: number): StatsEntry {
    const key = `${name}\0${method}`;
    let e = this.entries.get(key);
    if (!e) {
      e = new StatsEntry(this, name, method, nowS, this.#useCache);
      this.entries.set(key, e);
    }
    return e;
  }

  /** Logs a finished request (and its failure, when `error` is set), as Locust's request event. */
  logRequest(r: RequestRecord): void {
    this.total.log(r.responseTimeMs, r.contentLength, r.nowS);
    this.get(r.name, r.method, r.nowS).log(r.responseTimeMs, r.contentLength, r.nowS);
    this.#intervalRequests += 1;
    if (r.responseTimeMs !== null) this.#interval.record(r.responseTimeMs);
    if (r.error !== undefined) this.logError(r.method, r.name, r.error, r.nowS);
  }

  /** Logs a failure of a request already passed to {@linkcode logRequest}. */
  logError(method: string, name: string, error: string, nowS: number): void {
    this.total.logError(nowS);
    this.get(name, method, nowS).logError(nowS);
    this.#intervalFailures += 1;
    const rawKey = `${method}\0${name}\0${error}`;
    let cachedKey = this.#errorKeys.get(rawKey);
    if (cachedKey === undefined) {
      const text = maskObjectAddress(error);
      cachedKey = {
        text,
        key: createHash("sha256").update(`${method}.${name}.${pyStrRepr(text)}`, "utf8")
          .digest("hex"),
      };
      this.#errorKeys.set(rawKey, cachedKey);
    }
    const { text, key } = cachedKey;
    const row = this.errors.get(key);
    if (row) {
      row.occurrences += 1;
      row.lastSeenS = nowS;
    } else {
      this.errors.set(key, {
        method,
        name,
        error: text,
        occurrences: 1,
        firstSeenS: nowS,
        lastSeenS: nowS,
        key,
      });
    }
  }

  /** Records an unhandled exception in user code (not a request failure). */
  logException(message: string, traceback: string, node = "local"): void {
    const key = `${message}\0${traceback}`;
    const row = this.exceptions.get(key);
    if (row) {
      row.count += 1;
      row.nodes.add(node);
    } else {
      this.exceptions.set(key, { count: 1, message, traceback, nodes: new Set([node]) });
    }
  }

  /** Entries sorted as Locust sorts them: by (name, method). */
  sortedEntries(): StatsEntry[] {
    return [...this.entries.values()].sort((a, b) =>
      a.name < b.name
        ? -1
        : a.name > b.name
        ? 1
        : a.method < b.method
        ? -1
        : a.method > b.method
        ? 1
        : 0
    );
  }

  /** Failures sorted by Locust's key (sha256 hex). */
  sortedErrors(): StatsErrorRow[] {
    return [...this.errors.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Returns the requests, failures and raw-time histogram since the last call, and starts anew. */
  takeInterval(): IntervalStats {
    const out: IntervalStats = {
      requests: this.#intervalRequests,
      failures: this.#intervalFailures,
      histogram: this.#interval,
    };
    this.#interval = new LatencyHistogram();
    this.#intervalRequests = 0;
    this.#intervalFailures = 0;
    return out;
  }

  /** Clears everything (Locust's `reset_all`), restarting at `nowS`. */
  resetAll(nowS: number): void {
    this.total.reset(nowS);
    for (const e of this.entries.values()) e.reset(nowS);
    this.errors = new Map();
    this.#interval = new LatencyHistogram();
    this.#intervalRequests = 0;
    this.#intervalFailures = 0;
  }
}
