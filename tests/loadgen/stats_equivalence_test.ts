import assert from "node:assert/strict";
import { LatencyHistogram, RequestStats } from "../../lib/loadgen/mod.ts";
import {
  calculateResponseTimePercentile,
  calculateResponseTimePercentiles,
  medianFromDict,
} from "../../lib/loadgen/locust_stats.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
}

/** HdrHistogram's bucket index as first written (division by a power of two), the reference. */
function referenceIndex(v: number): number {
  let bucketIndex: number;
  if (v < 2048) bucketIndex = 0;
  else if (v < 2 ** 31) bucketIndex = 32 - Math.clz32(v) - 11;
  else bucketIndex = Math.floor(Math.log2(v)) + 1 - 11;
  return (bucketIndex + 1) * 1024 + (Math.floor(v / 2 ** bucketIndex) - 1024);
}

Deno.test("LatencyHistogram puts every value in the bucket of the reference index formula", () => {
  const rnd = lcg(3);
  const values: number[] = [0, 2.047, 2.048, 2.049, 4.095, 4.096, 2147483.647, 2147483.648];
  for (let i = 0; i < 20_000; i++) values.push(Math.exp(rnd() * 22) / 1000);
  const h = new LatencyHistogram({ highestTrackableMs: 1e7 });
  const expected = new Map<number, number>();
  const maxIndex = referenceIndex(Math.ceil(1e7 * 1000));
  for (const v of values) {
    h.record(v);
    const i = Math.min(referenceIndex(Math.round(v * 1000)), maxIndex);
    expected.set(i, (expected.get(i) ?? 0) + 1);
  }
  const got = new Map(h.toJSON().buckets);
  assert.deepEqual([...got].sort((a, b) => a[0] - b[0]), [...expected].sort((a, b) => a[0] - b[0]));
});

Deno.test("calculateResponseTimePercentile(s)() and medianFromDict() match the comparator-sort walk", () => {
  const refPercentile = (m: Map<number, number>, p: number) => {
    let n = 0;
    for (const c of m.values()) n += c;
    const k = Math.trunc(n * p);
    let processed = 0;
    for (const key of [...m.keys()].sort((a, b) => b - a)) {
      processed += m.get(key)!;
      if (n - processed <= k) return key;
    }
    return 0;
  };
  const refMedian = (total: number, m: Map<number, number>) => {
    let pos = (total - 1) / 2;
    let k = 0;
    for (k of [...m.keys()].sort((a, b) => a - b)) {
      if (pos < m.get(k)!) return k;
      pos -= m.get(k)!;
    }
    return k;
  };
  const rnd = lcg(11);
  for (let trial = 0; trial < 200; trial++) {
    const m = new Map<number, number>();
    const n = Math.floor(rnd() * 300);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const key = Math.round(Math.exp(rnd() * 12) * 10) / 10;
      const c = 1 + Math.floor(rnd() * 50);
      m.set(key, (m.get(key) ?? 0) + c);
      total += c;
    }
    for (const p of [0, 0.5, 0.66, 0.9, 0.99, 0.999, 0.9999, 1]) {
      assert.equal(
        calculateResponseTimePercentile(m, p),
        refPercentile(m, p),
        `trial ${trial} p ${p}`,
      );
    }
    const ps = [0, 0.5, 0.66, 0.9, 0.99, 0.999, 0.9999, 1];
    assert.deepEqual(
      calculateResponseTimePercentiles(m, ps),
      ps.map((p) => refPercentile(m, p)),
      `trial ${trial} all at once`,
    );
    assert.equal(medianFromDict(total, m), refMedian(total, m), `trial ${trial} median`);
  }
});

Deno.test("LatencyHistogram.percentilesMs() in one pass equals percentileMs() one at a time", () => {
  const rnd = lcg(5);
  const ps = [99.9, 50, 0, 90, 100, 95, 99, 50, 66.6, 0.1];
  for (let trial = 0; trial < 100; trial++) {
    const h = new LatencyHistogram();
    const n = Math.floor(rnd() * 2000);
    for (let i = 0; i < n; i++) h.record(Math.exp(rnd() * 10) * (trial % 3 === 0 ? 1 : 0.01));
    assert.deepEqual(h.percentilesMs(ps), ps.map((p) => h.percentileMs(p)), `trial ${trial}`);
  }
  const one = new LatencyHistogram();
  one.record(3);
  assert.throws(() => one.percentileMs(101), RangeError);
  assert.throws(() => one.percentilesMs([50, 101]), /within 0\.\.100, got 101/);
});

Deno.test("a stats entry's percentiles and median follow buckets added after an earlier read", () => {
  const stats = new RequestStats(0, { useResponseTimesCache: false });
  const entry = stats.get("/", "POST", 0);
  const times = [12, 30, 30, 45];
  times.forEach((ms, i) => entry.log(ms, 0, i));
  const ps = [0.5, 0.9, 1];
  const check = (label: string) => {
    const m = new Map(entry.responseTimes);
    assert.deepEqual(
      entry.responseTimePercentiles(ps),
      calculateResponseTimePercentiles(m, ps),
      label,
    );
    assert.equal(entry.medianResponseTime.value, medianFromDict(entry.numRequests, m), label);
  };
  check("first read");
  for (const ms of [900, 901, 5, 5, 5, 5, 5]) entry.log(ms, 0, 5); // new buckets after the read
  check("after new buckets");
  entry.reset(10); // a new map
  entry.log(70, 0, 10);
  check("after reset");
});

Deno.test("StatsEntry.logMany() leaves every counter as log() one request at a time", () => {
  const rnd = lcg(23);
  const one = new RequestStats(1000, { useResponseTimesCache: false }).get("/", "POST", 1000);
  const many = new RequestStats(1000, { useResponseTimesCache: false }).get("/", "POST", 1000);
  let nowS = 1000;
  for (let batch = 0; batch < 50; batch++) {
    const n = Math.floor(rnd() * 40);
    const ms = new Float64Array(n), at = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      nowS += rnd() * 0.3;
      ms[i] = rnd() < 0.05 ? 12_000 * rnd() : Math.exp(rnd() * 7) / 3;
      at[i] = nowS;
      one.log(ms[i], 0, nowS);
    }
    many.logMany(ms, at, n);
  }
  const fields = (e: typeof one) => ({
    numRequests: e.numRequests,
    totalResponseTime: e.totalResponseTime,
    minResponseTime: e.minResponseTime,
    maxResponseTime: e.maxResponseTime,
    maxIsFloat: e.maxIsFloat,
    lastRequestTimestamp: e.lastRequestTimestamp,
    totalContentLength: e.totalContentLength,
    numReqsPerSec: [...e.numReqsPerSec],
    responseTimes: [...e.responseTimes],
    histogram: e.histogram.toJSON(),
  });
  assert.ok(one.numRequests > 500);
  assert.deepEqual(fields(many), fields(one));
});
