import assert from "node:assert/strict";
import { mergeInstantaneousTotal, type TimedValue } from "../../lib/autoscaler/mod.ts";

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
