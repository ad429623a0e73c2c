import { ok, rejects, strictEqual, throws } from "node:assert/strict";
import {
  createRng,
  type DurationModel,
  durationModelFromText,
  DurationSpecError,
  lognormalDuration,
  parseDurationSpec,
} from "../../lib/sim/mod.ts";

function quantiles(model: DurationModel, n = 200_000, seed = 1) {
  const rng = createRng(seed);
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = model.sampleMs(rng);
  xs.sort();
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  return { mean, p50: xs[Math.floor(n * 0.5)], p99: xs[Math.floor(n * 0.99)] };
}

Deno.test("lognormalDuration() draws the requested mean and p99", () => {
  const q = quantiles(lognormalDuration(45, { p99Ms: 80 }));
  ok(Math.abs(q.mean - 45) / 45 < 0.01, `mean ${q.mean}`);
  ok(Math.abs(q.p99 - 80) / 80 < 0.02, `p99 ${q.p99}`);
});

Deno.test("lognormalDuration() refuses a p99 below the mean or impossibly far above it", () => {
  throws(() => lognormalDuration(45, { p99Ms: 40 }), /greater than the mean/);
  throws(() => lognormalDuration(10, { p99Ms: 1000 }), /too far above the mean 10 ms: must be <=/);
});

Deno.test("parseDurationSpec() understands fixed, noop, units, exp, lognormal and resnet50", async () => {
  const rng = createRng(3);
  strictEqual((await parseDurationSpec("45")).sampleMs(rng), 45);
  strictEqual((await parseDurationSpec("noop:20")).sampleMs(rng), 20);
  strictEqual((await parseDurationSpec("fixed:1.5s")).sampleMs(rng), 1500);
  strictEqual((await parseDurationSpec("2", { defaultUnit: "s" })).sampleMs(rng), 2000);
  strictEqual((await parseDurationSpec("exp:30")).kind, "exponential");
  const ln = await parseDurationSpec("lognormal:mean=45ms,p99=0.08s");
  strictEqual(ln.description, "lognormal mean 45 ms, p99 80 ms");
  strictEqual((await parseDurationSpec("resnet50")).description, "lognormal mean 45 ms, p99 80 ms");
});

Deno.test("parseDurationSpec() names the flag and the fix for a bad spec", async () => {
  await rejects(
    parseDurationSpec("lognormal:45", { what: "--service-time" }),
    /--service-time: lognormal needs a mean and a p99, e.g. lognormal:45,80/,
  );
  await rejects(
    parseDurationSpec("fixed:fast", { what: "--service-time" }),
    /--service-time: expected a number with an optional ms or s unit/,
  );
  await rejects(
    parseDurationSpec("nonexistent_file.json", { what: "--service-time" }),
    (e: Error) =>
      e instanceof DurationSpecError && /is not a known model .* could not be read/.test(e.message),
  );
});

Deno.test("durationModelFromText() reads samples from JSON and CSV", () => {
  const rng = createRng(1);
  const json = durationModelFromText(JSON.stringify({ samples_ms: [10, 20, 30] }));
  strictEqual(json.meanMs, 20);
  for (let i = 0; i < 50; i++) ok([10, 20, 30].includes(json.sampleMs(rng)));
  const nested = durationModelFromText(JSON.stringify({ model: "x", run: { latencies_ms: [5] } }));
  strictEqual(nested.sampleMs(rng), 5);
  const csv = durationModelFromText("latency_ms\n12\n14\n", { source: "b.csv" });
  strictEqual(csv.meanMs, 13);
  throws(
    () => durationModelFromText("ms\n12\nabc\n", { source: "b.csv" }),
    /b\.csv:3: expected a number/,
  );
});

Deno.test("durationModelFromText() interpolates percentiles from JSON or a Locust stats file", () => {
  const fromJson = durationModelFromText(JSON.stringify({ p50_ms: 40, p90_ms: 60, p99_ms: 90 }));
  const q = quantiles(fromJson);
  ok(Math.abs(q.p50 - 40) < 0.5 && Math.abs(q.p99 - 90) < 0.5, JSON.stringify(q));
  const stats = [
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%",
    "POST,/,100,0,42,45.0,30.1,120.5,10.0,2.0,0.0,42,45,48,50,60,70,85,95,120,120,120",
    ",Aggregated,100,0,42,45.0,30.1,120.5,10.0,2.0,0.0,42,45,48,50,60,70,85,95,120,120,120",
  ].join("\r\n");
  const locust = quantiles(durationModelFromText(stats, { source: "run_stats.csv" }));
  ok(Math.abs(locust.p50 - 42) < 0.5 && Math.abs(locust.p99 - 95) < 0.5, JSON.stringify(locust));
  throws(() => durationModelFromText("{}", { source: "x.json" }), /x\.json: found neither/);
});

Deno.test("durationModelFromText() reads deno task benchmark's JSON: inference samples + preprocessing", () => {
  const bench = JSON.stringify({
    preprocess: { ms: { p50: 20, p99: 40 } },
    configs: [
      { backend: "wasm", threads: 1, raw: { oursMs: [300, 310] } },
      { backend: "native", threads: 1, raw: { oursMs: [40, 50], endToEndMs: [70] } },
    ],
  });
  const native = durationModelFromText(bench, { source: "bench.json" });
  strictEqual(native.meanMs, 65);
  ok(native.description.includes("native/1 inference + 20.0 ms preprocessing"), native.description);
  strictEqual(durationModelFromText(bench, { select: "wasm/1" }).meanMs, 325);
  throws(() => durationModelFromText(bench, { select: "webgpu/1" }), /has native\/1|wasm\/1/);
});
