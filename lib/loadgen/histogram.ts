/**
 * An HdrHistogram-style latency histogram: log-linear buckets with 3 significant digits
 * (relative error at most 1/2048 of the value), constant-time recording, no allocation per
 * sample, mergeable and subtractable, so per-second interval histograms give exact interval
 * percentiles (unlike Locust's snapshot differences). Values are recorded in milliseconds and
 * stored as integer microseconds from 1 µs up to `highestTrackableMs` (default one hour);
 * larger values are clamped into the top bucket and still counted.
 *
 * Percentiles follow HdrHistogram's rule (the highest value equivalent to the bucket holding
 * the ceil(p·n)-th sample) and are then clamped into the recorded [min, max], so a reported
 * percentile never exceeds the reported maximum.
 *
 * @module
 */

const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10; // 2·10^3 sub-buckets rounded up to 2^11
const SUB_BUCKET_COUNT = 1 << (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1); // 2048
const SUB_BUCKET_HALF_COUNT = SUB_BUCKET_COUNT / 2; // 1024

/** Options for {@linkcode LatencyHistogram}. */
export interface LatencyHistogramOptions {
  /** Largest value kept exactly, in ms; larger samples are clamped (default 3,600,000 = 1 h). */
  highestTrackableMs?: number;
}

/** Plain-data form of a histogram (sparse bucket counts), for JSON export and merging. */
export interface LatencyHistogramData {
  /** Largest trackable value in ms. */
  highestTrackableMs: number;
  /** Samples recorded. */
  count: number;
  /** Sum of the raw samples in ms. */
  sumMs: number;
  /** Smallest raw sample in ms (`null` when empty). */
  minMs: number | null;
  /** Largest raw sample in ms (`null` when empty). */
  maxMs: number | null;
  /** `[bucketIndex, count]` pairs for non-empty buckets. */
  buckets: [number, number][];
}

function bitLength(v: number): number {
  return v === 0 ? 0 : 32 - Math.clz32(v);
}

/** Index of the bucket holding the integer value `v` (µs), HdrHistogram layout. */
function countsIndex(v: number): number {
  // bucketIndex: how many times v had to be halved to fit the sub-bucket range.
  let bucketIndex: number;
  if (v < SUB_BUCKET_COUNT) bucketIndex = 0;
  else if (v < 2 ** 31) bucketIndex = bitLength(v) - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1);
  else bucketIndex = Math.floor(Math.log2(v)) + 1 - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1);
  // v >>> k is floor(v / 2^k) for integers 0 <= v < 2^32, without a division and a Math.pow.
  const subBucketIndex = v < 2 ** 31 ? v >>> bucketIndex : Math.floor(v / 2 ** bucketIndex);
  return (bucketIndex + 1) * SUB_BUCKET_HALF_COUNT + (subBucketIndex - SUB_BUCKET_HALF_COUNT);
}

/** Lowest integer value (µs) that lands in counts index `i`. */
function valueFromIndex(i: number): number {
  let bucketIndex = Math.floor(i / SUB_BUCKET_HALF_COUNT) - 1;
  let subBucketIndex = (i % SUB_BUCKET_HALF_COUNT) + SUB_BUCKET_HALF_COUNT;
  if (bucketIndex < 0) {
    subBucketIndex -= SUB_BUCKET_HALF_COUNT;
    bucketIndex = 0;
  }
  return subBucketIndex * 2 ** bucketIndex;
}

/** Width (µs) of the bucket at counts index `i`. */
function bucketWidth(i: number): number {
  const bucketIndex = Math.max(0, Math.floor(i / SUB_BUCKET_HALF_COUNT) - 1);
  return 2 ** bucketIndex;
}

/** A log-linear latency histogram with 3 significant digits; values in ms. */
export class LatencyHistogram {
  /** Largest trackable value in ms. */
  readonly highestTrackableMs: number;
  #counts: Float64Array;
  #maxIndex: number;
  #count = 0;
  #sumMs = 0;
  #minMs = Infinity;
  #maxMs = -Infinity;
  #lowIndex = Infinity; // lowest non-empty index (speeds up sparse scans)
  #highIndex = -1;

  /** Creates an empty histogram. */
  constructor(options: LatencyHistogramOptions = {}) {
    const highest = options.highestTrackableMs ?? 3_600_000;
    if (!(highest >= 1) || !Number.isFinite(highest)) {
      throw new RangeError(
        `LatencyHistogram highestTrackableMs must be a finite number >= 1, got ${highest}`,
      );
    }
    this.highestTrackableMs = highest;
    this.#maxIndex = countsIndex(Math.ceil(highest * 1000));
    this.#counts = new Float64Array(this.#maxIndex + 1);
  }

  /** Records one sample of `valueMs` milliseconds (negative values count as 0). */
  record(valueMs: number, count = 1): void {
    const v = valueMs > 0 ? valueMs : 0;
    const us = Math.round(v * 1000);
    let i: number;
    if (us < SUB_BUCKET_COUNT) i = us;
    else if (us < 2 ** 31) {
      // countsIndex() inlined for the common range: bucket b = bitLength(us) - 11, and the index
      // (b + 1)·1024 + (us >>> b) - 1024.
      const b = 21 - Math.clz32(us);
      i = (b << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (us >>> b);
    } else i = countsIndex(us);
    if (i > this.#maxIndex) i = this.#maxIndex;
    this.#counts[i] += count;
    this.#count += count;
    this.#sumMs += v * count;
    if (v < this.#minMs) this.#minMs = v;
    if (v > this.#maxMs) this.#maxMs = v;
    if (i < this.#lowIndex) this.#lowIndex = i;
    if (i > this.#highIndex) this.#highIndex = i;
  }

  /**
   * Records `valueMs` and, for coordinated-omission correction at record time, the samples a
   * fixed-interval sender would have seen during the stall: `valueMs - k·expectedIntervalMs`
   * while that stays >= the interval (HdrHistogram's `recordValueWithExpectedInterval`).
   */
  recordCorrected(valueMs: number, expectedIntervalMs: number): void {
    this.record(valueMs);
    if (!(expectedIntervalMs > 0) || valueMs <= expectedIntervalMs) return;
    for (let v = valueMs - expectedIntervalMs; v >= expectedIntervalMs; v -= expectedIntervalMs) {
      this.record(v);
    }
  }

  /** Samples recorded. */
  get count(): number {
    return this.#count;
  }

  /** Sum of raw samples, ms. */
  get sumMs(): number {
    return this.#sumMs;
  }

  /** Smallest raw sample in ms, `null` when empty. */
  get minMs(): number | null {
    return this.#count === 0 ? null : this.#minMs;
  }

  /** Largest raw sample in ms, `null` when empty. */
  get maxMs(): number | null {
    return this.#count === 0 ? null : this.#maxMs;
  }

  /** Mean of raw samples in ms, `null` when empty. */
  get meanMs(): number | null {
    return this.#count === 0 ? null : this.#sumMs / this.#count;
  }

  /**
   * The value (ms) at percentile `p` (0..100): the highest value equivalent to the bucket
   * holding the ceil(p/100·n)-th smallest sample, clamped into [min, max]. `null` when empty.
   */
  percentileMs(p: number): number | null {
    if (this.#count === 0) return null;
    const rank = this.#rank(p);
    if (rank === 0) return this.#minMs;
    let seen = 0;
    for (let i = this.#lowIndex; i <= this.#highIndex; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return this.#bucketValueMs(i);
    }
    return this.#maxMs;
  }

  /**
   * Several percentiles at once (same rule as {@linkcode percentileMs}), in one pass over the
   * buckets: a `_latency.csv` row asks for four every simulated second.
   */
  percentilesMs(ps: readonly number[]): (number | null)[] {
    if (this.#count === 0 || ps.length < 2) return ps.map((p) => this.percentileMs(p));
    const out = new Array<number | null>(ps.length);
    const ranks = ps.map((p) => this.#rank(p));
    const order: number[] = [];
    for (let j = 0; j < ps.length; j++) {
      if (ranks[j] === 0) out[j] = this.#minMs;
      else order.push(j);
    }
    order.sort((a, b) => ranks[a] - ranks[b]);
    const counts = this.#counts, high = this.#highIndex;
    let i = this.#lowIndex;
    let seen = 0;
    for (const j of order) {
      // The first bucket whose cumulative count reaches the rank, as percentileMs() finds it.
      while (i <= high && seen + counts[i] < ranks[j]) seen += counts[i++];
      out[j] = i <= high ? this.#bucketValueMs(i) : this.#maxMs;
    }
    return out;
  }

  /** The 1-based rank of percentile `p` (0..100) among the samples; 0 for p = 0 (the minimum). */
  #rank(p: number): number {
    if (!(p >= 0 && p <= 100)) {
      throw new RangeError(`percentile must be within 0..100, got ${p}`);
    }
    if (p === 0) return 0;
    const x = (p / 100) * this.#count;
    return Math.max(1, Math.ceil(x - 1e-9 * Math.max(1, x))); // 99.9% of 20000 is 19980
  }

  /** The highest value equivalent to bucket `i`, in ms, clamped into [min, max]. */
  #bucketValueMs(i: number): number {
    const highestEquivalentUs = valueFromIndex(i) + bucketWidth(i) - 1;
    const ms = highestEquivalentUs / 1000;
    return Math.min(this.#maxMs, Math.max(this.#minMs, ms));
  }

  /** Adds every sample of `other` to this histogram (same trackable range required). */
  add(other: LatencyHistogram): void {
    this.#checkCompatible(other, "add");
    if (other.#count === 0) return;
    for (let i = other.#lowIndex; i <= other.#highIndex; i++) {
      const c = other.#counts[i];
      if (c !== 0) this.#counts[i] += c;
    }
    this.#count += other.#count;
    this.#sumMs += other.#sumMs;
    if (other.#minMs < this.#minMs) this.#minMs = other.#minMs;
    if (other.#maxMs > this.#maxMs) this.#maxMs = other.#maxMs;
    if (other.#lowIndex < this.#lowIndex) this.#lowIndex = other.#lowIndex;
    if (other.#highIndex > this.#highIndex) this.#highIndex = other.#highIndex;
  }

  /** Empties the histogram (keeps its memory). */
  reset(): void {
    if (this.#highIndex >= 0) this.#counts.fill(0, this.#lowIndex, this.#highIndex + 1);
    this.#count = 0;
    this.#sumMs = 0;
    this.#minMs = Infinity;
    this.#maxMs = -Infinity;
    this.#lowIndex = Infinity;
    this.#highIndex = -1;
  }

  /** An independent copy. */
  clone(): LatencyHistogram {
    const copy = new LatencyHistogram({ highestTrackableMs: this.highestTrackableMs });
    copy.add(this);
    return copy;
  }

  /** Plain data (sparse buckets), e.g. for JSON export. */
  toJSON(): LatencyHistogramData {
    const buckets: [number, number][] = [];
    for (let i = this.#lowIndex; i <= this.#highIndex; i++) {
      if (this.#counts[i] !== 0) buckets.push([i, this.#counts[i]]);
    }
    return {
      highestTrackableMs: this.highestTrackableMs,
      count: this.#count,
      sumMs: this.#sumMs,
      minMs: this.minMs,
      maxMs: this.maxMs,
      buckets,
    };
  }

  /** Rebuilds a histogram from {@linkcode LatencyHistogram.toJSON} output. */
  static fromJSON(data: LatencyHistogramData): LatencyHistogram {
    const h = new LatencyHistogram({ highestTrackableMs: data.highestTrackableMs });
    for (const [i, c] of data.buckets) {
      if (!Number.isInteger(i) || i < 0 || i > h.#maxIndex) {
        throw new RangeError(`histogram data has bucket index ${i} outside 0..${h.#maxIndex}`);
      }
      h.#counts[i] += c;
      if (i < h.#lowIndex) h.#lowIndex = i;
      if (i > h.#highIndex) h.#highIndex = i;
    }
    h.#count = data.count;
    h.#sumMs = data.sumMs;
    h.#minMs = data.minMs ?? Infinity;
    h.#maxMs = data.maxMs ?? -Infinity;
    return h;
  }

  #checkCompatible(other: LatencyHistogram, what: string): void {
    if (other.highestTrackableMs !== this.highestTrackableMs) {
      throw new RangeError(
        `cannot ${what} histograms with different ranges (${this.highestTrackableMs} ms vs ${other.highestTrackableMs} ms)`,
      );
    }
  }
}
