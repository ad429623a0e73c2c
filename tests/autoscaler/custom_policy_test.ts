import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/mod.ts";
import {
  DirectMetrics,
  loadPolicy,
  parseTrace,
  replayTrace,
  startAutoscaler,
  VirtualClock,
} from "../../lib/autoscaler/mod.ts";
import { config, FakeDeployment } from "./_helpers.ts";

const repo = new URL("../../", import.meta.url);
const examplePath = new URL("examples/policies/scheduled_peaks.yaml", repo).pathname;
const exampleDir = new URL("examples/policies/", repo).pathname;

Deno.test("the schedule policy example raises the floor ahead of the peak and lowers it after", async () => {
  const { config: serve } = await loadConfig(examplePath);
  const cfg = serve.applications[0].deployments[0].autoscaling_config!;
  const policy = await loadPolicy(cfg.policy!.policy_function, { baseDir: exampleDir });
  // A quiet morning: 1 ongoing request from 08:00 to 11:00 UTC.
  const trace = parseTrace("time_s,total_ongoing_requests\n0,1\n10800,1\n");
  const startMs = Date.parse("2026-01-05T08:00:00Z");
  const { decisions } = replayTrace(trace, { config: cfg, policy, startMs });
  const at = (d: { time_ms: number }) => new Date(d.time_ms).toISOString().slice(11, 19);
  assert.deepEqual(
    decisions.map((d) => [at(d), d.from_replicas, d.to_replicas, d.reason]),
    [
      // Peak 08:30, lead 15 min -> wants 6 from 08:15; the 30 s upscale delay still applies.
      ["08:15:30", 2, 6, "upscale"],
      // Peak ends 10:00; the 1800 s downscale delay applies before returning to min_replicas.
      ["10:30:00", 6, 2, "downscale"],
    ],
  );
});

Deno.test("startAutoscaler() imports policy_function relative to policyBaseDir and uses it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/always_five.ts`,
    "export const alwaysFive = (ctx) => ({ desiredReplicas: 5, policyState: { seen: ctx.totalNumRequests } });\n",
  );
  const clock = new VirtualClock();
  const dep = new FakeDeployment(1);
  const h = startAutoscaler(dep, {
    config: config({
      upscale_delay_s: 0,
      policy: { policy_function: "./always_five.ts:alwaysFive", policy_kwargs: {} },
    }),
    appName: "app",
    deploymentName: "Model",
    clock,
    metrics: new DirectMetrics(),
    policyBaseDir: dir,
  });
  assert.equal(h.status().reason, "waiting_for_policy");
  assert.deepEqual(await h.ready, { ok: true });
  clock.advanceTo(100);
  assert.equal(dep.target, 5);
  assert.equal(h.status().policy, "./always_five.ts:alwaysFive");
  h.stop();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a policy_function that cannot be loaded holds the target and says what was wrong", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/p.ts`, "export const other = () => 1;\nexport const n = 3;\n");
  const cases: [string, RegExp][] = [
    ["./missing.ts:fn", /cannot import file:\/\/.*\/missing\.ts/],
    ["./p.ts:fn", /has no exported function "fn"; its exported functions are: other/],
    ["nocolon", /must look like "\.\/my_policy\.ts:functionName"/],
  ];
  for (const [ref, want] of cases) {
    await assert.rejects(loadPolicy(ref, { baseDir: dir }), want, ref);
    const clock = new VirtualClock();
    const dep = new FakeDeployment(2);
    const lines: string[] = [];
    const h = startAutoscaler(dep, {
      config: config({ policy: { policy_function: ref, policy_kwargs: {} } }),
      appName: "app",
      deploymentName: "Model",
      clock,
      policyBaseDir: dir,
      log: (l) => lines.push(l),
    });
    const result = await h.ready;
    assert.equal(result.ok, false);
    clock.advanceTo(5_000);
    assert.equal(dep.target, 2);
    assert.match(h.status().message, want);
    assert.match(lines.join("\n"), /the target stays at 2/);
    h.stop();
  }
  await Deno.remove(dir, { recursive: true });
});
