import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/mod.ts";
import type { AutoscalingConfig } from "../../lib/config/mod.ts";
import {
  parseTrace,
  REPLAY_CSV_HEADER,
  replayRowsToCsv,
  replayTrace,
  type ScalingDecision,
} from "../../lib/autoscaler/mod.ts";
import { config } from "./_helpers.ts";

const repo = new URL("../../", import.meta.url);
const tracePath = new URL("configs/traces/tutorial_hour.csv", repo);

async function tutorialConfig(name: string): Promise<AutoscalingConfig> {
  const { config } = await loadConfig(new URL(`configs/${name}.yaml`, repo).pathname);
  return config.applications[0].deployments[0].autoscaling_config!;
}

async function replayTutorial(name: string): Promise<ScalingDecision[]> {
  const trace = parseTrace(await Deno.readTextFile(tracePath), { source: "tutorial_hour.csv" });
  return replayTrace(trace, { config: await tutorialConfig(name) }).decisions;
}

Deno.test("replay of the tutorial configs: aggressive upscales sooner and further than basic", async () => {
  const basic = await replayTutorial("basic");
  const aggressive = await replayTutorial("aggressive_upscale");
  // Load rises to 20 at 60 s: basic waits 30 s and goes to ceil(20/2) = 10; aggressive waits
  // 15 s and overshoots with upscaling_factor 1.5: ceil(1 + 1.5 * 9) = 15.
  assert.deepEqual(
    [basic[0].elapsed_s, basic[0].to_replicas],
    [90, 10],
  );
  assert.deepEqual([aggressive[0].elapsed_s, aggressive[0].to_replicas], [75, 15]);
  const peak = (ds: ScalingDecision[]) => Math.max(...ds.map((d) => d.to_replicas));
  assert.ok(peak(aggressive) > peak(basic), `peaks ${peak(aggressive)} vs ${peak(basic)}`);
});

Deno.test("replay of the tutorial configs: conservative holds longer and steps down gently", async () => {
  const basic = await replayTutorial("basic");
  const conservative = await replayTutorial("conservative_downscale");
  const downs = (ds: ScalingDecision[]) => ds.filter((d) => d.to_replicas < d.from_replicas);
  const b = downs(basic);
  const c = downs(conservative);
  // Basic: after 600 s of lower load it drops 20 -> 1 in one step.
  assert.deepEqual(b.map((d) => [d.elapsed_s, d.from_replicas, d.to_replicas]), [[960, 20, 1]]);
  // Conservative: first drop 300 s later, and in steps of 80 % of the gap: 20 -> 5 -> 2 -> 1.
  assert.ok(c[0].elapsed_s >= b[0].elapsed_s + 300, `first downscale at ${c[0].elapsed_s} s`);
  assert.deepEqual(c.map((d) => [d.from_replicas, d.to_replicas]), [[20, 5], [5, 2], [2, 1]]);
});

Deno.test("replay --startup-s: replicas become RUNNING that long after the target rises", () => {
  const trace = parseTrace("time_s,total_ongoing_requests\n0,13\n60,13\n");
  const cfg = config({ upscale_delay_s: 10 });
  const { rows } = replayTrace(trace, { config: cfg, startupS: 20 });
  const firstTarget7 = rows.find((r) => r.target_replicas === 7)!;
  const firstRunning7 = rows.find((r) => r.running_replicas === 7)!;
  assert.equal(firstTarget7.time_s, 10);
  assert.equal(firstRunning7.time_s, 30);
  // Until then the status would read "Upscaling from 1 to 7 replicas." and the target holds.
  assert.ok(rows.every((r) => r.target_replicas <= 7));
});

Deno.test("replay --input instantaneous goes through the metrics pipeline (pushes, look-back mean)", () => {
  const trace = parseTrace("time_s,total_ongoing_requests\n0,0\n5,20\n120,20\n");
  const cfg = config({ upscale_delay_s: 0, metrics_interval_s: 10, look_back_period_s: 30 });
  const aggregated = replayTrace(trace, { config: cfg, input: "aggregated" }).decisions;
  const instantaneous = replayTrace(trace, { config: cfg, input: "instantaneous" }).decisions;
  // Aggregated: the value is the input at 5 s, so 1 -> 10 at once.
  assert.deepEqual([aggregated[0].elapsed_s, aggregated[0].to_replicas], [5, 10]);
  // Instantaneous: nothing is seen before the first push at 10 s, and the 30 s mean rises slowly.
  assert.equal(instantaneous[0].elapsed_s, 10);
  assert.ok(instantaneous[0].to_replicas < 10, `first step ${instantaneous[0].to_replicas}`);
  assert.equal(instantaneous.at(-1)!.to_replicas, 10);
});

Deno.test("replay rows: one per changed tick plus the first and last, with the exact header", () => {
  const trace = parseTrace("time_s,total_ongoing_requests\n0,2\n10,2\n");
  const { rows, ticks } = replayTrace(trace, { config: config() });
  assert.equal(ticks, 101);
  assert.deepEqual(rows.map((r) => r.time_s), [0, 10]);
  const csv = replayRowsToCsv(rows);
  assert.equal(csv.split("\n")[0], REPLAY_CSV_HEADER);
  assert.equal(csv.split("\n")[1], "0.0,2,1,1,1,steady");
});

Deno.test("parseTrace() names the file and line of bad input", () => {
  const cases: [string, RegExp][] = [
    ["", /t\.csv: empty trace/],
    [
      "time,value\n0,1\n",
      /t\.csv:1: the header must name the columns time_s and total_ongoing_requests/,
    ],
    ["time_s,total_ongoing_requests\n0,1\nabc,2\n", /t\.csv:3: time_s must be a number/],
    [
      "time_s,total_ongoing_requests\n0,-1\n",
      /t\.csv:2: total_ongoing_requests must be a number >= 0, got "-1"/,
    ],
    ["time_s,total_ongoing_requests\n5,1\n2,1\n", /t\.csv:3: time_s must not go backwards/],
    ["time_s,total_ongoing_requests\n", /t\.csv: the trace has a header but no rows/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseTrace(text, { source: "t.csv" }), want);
  }
});

Deno.test("deno task replay writes the CSV and reports bad flags with exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/replay.csv`;
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("scripts/replay.ts", repo).pathname, ...args],
      cwd: repo.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run([
    "--config",
    "configs/basic.yaml",
    "--trace",
    "configs/traces/tutorial_ongoing.csv",
    "--out",
    out,
  ]);
  const stderr = new TextDecoder().decode(ok.stderr);
  assert.equal(ok.code, 0, stderr);
  assert.match(stderr, /elapsed \d+ ms/);
  assert.match(stderr, /1 -> 10 +upscale/);
  const csv = await Deno.readTextFile(out);
  assert.equal(csv.split("\n")[0], REPLAY_CSV_HEADER);

  const bad = await run(["--config", "configs/basic.yaml", "--trace", "x.csv", "--input", "avg"]);
  assert.equal(bad.code, 2);
  assert.match(
    new TextDecoder().decode(bad.stderr),
    /--input must be "aggregated" or "instantaneous", got "avg"/,
  );
  await Deno.remove(dir, { recursive: true });
});
