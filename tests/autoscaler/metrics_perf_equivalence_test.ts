import assert from "node:assert/strict";
import { MetricsPipeline } from "../../lib/autoscaler/mod.ts";
// Internals the public surface keeps private, tested where they live.
import {
  mergeInstantaneousTotal,
  MetricsStore,
  pipelineTiming,
  SampleWindow,
  type TimedValue,
} from "../../lib/autoscaler/metrics.ts";
import { config } from "./_helpers.ts";

/** The merge as first written (global stable sort of every point): the reference. */
function referenceMerge(series: readonly (readonly TimedValue[])[]): TimedValue[] {
  const active = series.filter((s) => s.length > 0);
  if (active.length === 0) return [];
  const events: { tMs: number; idx: number; value: number; seq: number }[] = [];
  let seq = 0;
  active.forEach((s, idx) => {
    for (const p of s) {
      events.push({ tMs: Math.round(p.tMs / 10) * 10, idx, value: p.value, seq: seq++ });
    }
  });
  events.sort((a, b) => a.tMs - b.tMs || a.seq - b.seq);
  const current = new Array<number>(active.length).fill(0);
  let total = 0;
  const merged: TimedValue[] = [];
  let i = 0;
  while (i < events.length) {
    const tMs = events[i].tMs;
    for (; i < events.length && events[i].tMs === tMs; i++) {
      const e = events[i];
      total += e.value - current[e.idx];
      current[e.idx] = e.value;
    }
    const last = merged[merged.length - 1];
    if (last === undefined || Math.abs(last.value - total) > 1e-9) {
      merged.push({ tMs, value: total });
    }
  }
  return merged;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
}

Deno.test("mergeInstantaneousTotal() gives the global sort's points for aligned, ragged, unsorted and fractional series", () => {
  for (let trial = 0; trial < 300; trial++) {
    const rnd = lcg(trial + 1);
    const k = 2 + Math.floor(rnd() * 30);
    const mode = trial % 4; // 0 aligned grid, 1 jittered, 2 some unsorted, 3 fractional values
    const series: TimedValue[][] = [];
    for (let i = 0; i < k; i++) {
      const n = Math.floor(rnd() * 40);
      const s: TimedValue[] = [];
      let t = Math.floor(rnd() * 5) * 500;
      for (let j = 0; j < n; j++) {
        const tMs = mode === 0 ? t : t + rnd() * 30 - 15;
        const value = mode === 3 ? rnd() * 7 : Math.floor(rnd() * 6);
        s.push({ tMs, value });
        t += mode === 0 ? 500 : Math.floor(rnd() * 3) * 7;
      }
      if (mode === 2 && s.length > 2 && rnd() < 0.5) s.reverse();
      series.push(s);
    }
    assert.deepEqual(mergeInstantaneousTotal(series), referenceMerge(series), `trial ${trial}`);
  }
});

Deno.test("a pipeline told the replica-set version aggregates exactly as one that checks every report", () => {
  const cfg = config({ max_replicas: 400, metrics_interval_s: 2, look_back_period_s: 6 });
  const checked = new MetricsPipeline(cfg, 0);
  const versioned = new MetricsPipeline(cfg, 0);
  const rnd = lcg(7);
  const ongoing = new Map<string, number>();
  let version = 0;
  let next = 0;
  let drops = 0;
  for (let tMs = 0; tMs <= 60_000; tMs += 100) {
    // Replicas start and stop between samples (sometimes one of each in the same tick).
    if (rnd() < 0.2) {
      ongoing.set(`r${next++}`, 0);
      version++;
    }
    if (ongoing.size > 1 && rnd() < 0.15) {
      const ids = [...ongoing.keys()];
      ongoing.delete(ids[Math.floor(rnd() * ids.length)]);
      version++;
    }
    for (const id of ongoing.keys()) ongoing.set(id, Math.floor(rnd() * 6));
    const queued = Math.floor(rnd() * 4);
    const before = checked.store.sources().length;
    checked.observe(tMs, { queued, ongoingByReplica: ongoing });
    versioned.observe(tMs, { queued, ongoingByReplica: ongoing, replicaSetVersion: version });
    if (checked.store.sources().length < before) drops++;
    assert.deepEqual(versioned.aggregate(tMs), checked.aggregate(tMs), `tick ${tMs}`);
    assert.deepEqual(versioned.store.sources(), checked.store.sources(), `tick ${tMs}`);
  }
  assert.ok(drops > 10, `replica reports were dropped between pushes (${drops})`);
});

Deno.test("MetricsStore.prune() drops a stale report even when the replica-set version is unchanged", () => {
  const timing = pipelineTiming(config({ metrics_interval_s: 1 })); // stale after 10 s
  const store = new MetricsStore(timing, 0);
  const running = new Set(["r1"]);
  store.ingest({ sourceId: "r1", kind: "replica", pushedAtMs: 0, series: [{ tMs: 0, value: 3 }] });
  store.prune(5_000, running, 1);
  store.prune(10_000, running, 1);
  assert.deepEqual(store.sources(), ["r1"]);
  store.prune(10_001, running, 1);
  assert.deepEqual(store.sources(), []);
});

Deno.test("a window's packed snapshot keeps its samples while the window records on", () => {
  const w = new SampleWindow(3_000);
  const rnd = lcg(3);
  const taken: { packed: ReturnType<SampleWindow["packedSnapshot"]>; copy: TimedValue[] }[] = [];
  for (let tMs = 0; tMs <= 120_000; tMs += 100) {
    w.record(tMs, Math.floor(rnd() * 6));
    if (tMs >= 4_600 && tMs % 2_300 === 0) {
      taken.push({ packed: w.packedSnapshot(), copy: w.snapshot() });
    }
  }
  assert.ok(taken.length > 40);
  for (const { packed, copy } of taken) {
    assert.deepEqual(
      [...packed.tMs].map((tMs, i) => ({ tMs, value: packed.values[i] })),
      copy,
      "the samples of a push stay as they were pushed",
    );
    // The window: 3 s of samples plus the one holding at its start.
    assert.equal(copy.length, 31);
    assert.ok(copy[1].tMs > copy[copy.length - 1].tMs - 3_000);
  }
});

Deno.test("mergeInstantaneousTotal() merges packed series as the same points in arrays", () => {
  const rnd = lcg(9);
  for (let trial = 0; trial < 50; trial++) {
    const series: TimedValue[][] = [];
    for (let i = 0, k = 1 + Math.floor(rnd() * 20); i < k; i++) {
      const s: TimedValue[] = [];
      for (let t = Math.floor(rnd() * 4) * 500; t < 20_000; t += 500) {
        s.push({ tMs: t + (trial % 2) * Math.floor(rnd() * 7), value: Math.floor(rnd() * 5) });
      }
      series.push(s);
    }
    const packed = series.map((s) => ({
      tMs: Float64Array.from(s, (p) => p.tMs),
      values: Float64Array.from(s, (p) => p.value),
    }));
    assert.deepEqual(mergeInstantaneousTotal(packed), mergeInstantaneousTotal(series));
    assert.deepEqual(mergeInstantaneousTotal(series), referenceMerge(series), `trial ${trial}`);
  }
});
