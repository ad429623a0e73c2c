import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseConfig } from "../../lib/config/mod.ts";
import { parseTrace, replayTrace } from "../../lib/autoscaler/mod.ts";
import { LATENCY_HEADER, parseShape, REPLICAS_HEADER, stageRows } from "../../lib/loadgen/mod.ts";
import {
  countOscillations,
  fixedDuration,
  loadFromShape,
  lognormalDuration,
  simulate,
  ticksToTraceCsv,
} from "../../lib/sim/mod.ts";

const CONFIG = `
applications:
  - name: app
    import_path: x:app
    deployments:
      - name: Model
        max_ongoing_requests: 4
        autoscaling_config:
          min_replicas: 1
          max_replicas: 12
          target_ongoing_requests: 2
          upscale_delay_s: 3
          downscale_delay_s: 8
          metrics_interval_s: 1
          look_back_period_s: 4
          upscaling_factor: 0.6
          downscaling_factor: 0.5
        user_config:
          model: noop:50
`;

const SHAPE = `
name: test
wait_time: between(0.2, 0.6)
stages:
  - { name: base, duration: 20s, users: 4, spawn_rate: 4 }
  - { name: spike, duration: 40s, users: 40, spawn_rate: 10 }
  - { name: after, duration: 40s, users: 4, spawn_rate: 10 }
`;

async function readDir(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    files.set(e.name, await Deno.readTextFile(`${dir}/${e.name}`));
  }
  return files;
}

async function runToDir(seed: number, dir: string) {
  const { config } = parseConfig(CONFIG, { sourcePath: "test.yaml" });
  const shape = parseShape(SHAPE);
  return await simulate(config, {
    load: loadFromShape(shape),
    stages: stageRows(shape),
    serviceTime: lognormalDuration(50, { p99Ms: 90 }),
    replicaConcurrency: 1,
    seed,
    outPrefix: `${dir}/run`,
  });
}

Deno.test("simulate() writes identical files for the same seed and different ones for another", async () => {
  const base = await Deno.makeTempDir({ prefix: "sim_test_" });
  try {
    const a = await runToDir(7, `${base}/a`);
    await runToDir(7, `${base}/b`);
    await runToDir(8, `${base}/c`);
    const [fa, fb, fc] = await Promise.all(["a", "b", "c"].map((d) => readDir(`${base}/${d}`)));
    deepStrictEqual(
      [...fa.keys()].sort(),
      [
        "run_exceptions.csv",
        "run_failures.csv",
        "run_latency.csv",
        "run_replicas.csv",
        "run_stages.csv",
        "run_stats.csv",
        "run_stats_history.csv",
      ],
    );
    deepStrictEqual(fa, fb);
    notDeepStrictEqual(fa.get("run_stats.csv"), fc.get("run_stats.csv"));
    // The extra files have the load test's headers and one row per simulated second.
    const replicas = fa.get("run_replicas.csv")!.split("\n");
    strictEqual(replicas[0], REPLICAS_HEADER);
    // One pass a second from 0 to the end inclusive, as the load generator's runner writes.
    strictEqual(replicas.length - 2, 101); // header + 101 passes + trailing newline
    strictEqual(fa.get("run_latency.csv")!.split("\n")[0], LATENCY_HEADER);
    ok(fa.get("run_stats.csv")!.includes(`,Aggregated,${a.summary.requests},`));
    ok(a.summary.scalingDecisions >= 2, `only ${a.summary.scalingDecisions} decisions`);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("the simulator's autoscaler makes exactly the decisions replay makes for its aggregated input", async () => {
  const { config } = parseConfig(CONFIG, { sourcePath: "test.yaml" });
  const shape = parseShape(SHAPE);
  const startupS = 1.5;
  const startEpochMs = Date.UTC(2026, 0, 1);
  const sim = await simulate(config, {
    load: loadFromShape(shape),
    serviceTime: fixedDuration(200),
    startupTime: fixedDuration(startupS * 1000),
    replicaConcurrency: 4,
    recordTicks: true,
    startEpochMs,
  });
  ok(sim.decisions.length >= 4, `only ${sim.decisions.length} decisions to compare`);
  ok(sim.summary.oscillations >= 1);
  // The trace file round-trips through replay's own parser.
  const trace = parseTrace(ticksToTraceCsv(sim.ticks), { source: "sim_trace.csv" });
  const replay = replayTrace(trace, {
    config: config.applications[0].deployments[0].autoscaling_config!,
    input: "aggregated",
    startupS,
    // The control loop starts at its seeded phase into the load, with its first tick.
    startMs: sim.ticks[0].nowMs,
  });
  const view = (
    d: { time_ms: number; from_replicas: number; to_replicas: number; reason: string },
  ) => `${d.time_ms - startEpochMs} ms: ${d.from_replicas} -> ${d.to_replicas} (${d.reason})`;
  deepStrictEqual(replay.decisions.map(view), sim.decisions.map(view));
  strictEqual(replay.ticks, sim.ticks.length);
});

Deno.test("countOscillations() counts changes of direction only", () => {
  strictEqual(countOscillations([]), 0);
  strictEqual(countOscillations([{ from: 1, to: 3 }, { from: 3, to: 5 }]), 0);
  strictEqual(
    countOscillations([{ from: 1, to: 3 }, { from: 3, to: 2 }, { from: 2, to: 1 }, {
      from: 1,
      to: 4,
    }]),
    2,
  );
});
