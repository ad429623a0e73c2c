/**
 * docs/autoscaling.md's worked examples are computed here with the project's own policy code
 * (`decide`, `replayTrace`) and the shipped configs; every table row the doc shows must be the
 * row computed here, so the doc cannot drift from the code.
 */
import assert from "node:assert/strict";
import { type AutoscalingConfig, loadConfig } from "../../lib/config/mod.ts";
import {
  type AutoscalingContext,
  decide,
  parseTrace,
  type ReplayInput,
  replayTrace,
} from "../../lib/autoscaler/mod.ts";

const root = new URL("../../", import.meta.url).pathname;
/** Table cells without padding, so `deno fmt`'s column alignment does not matter. */
const cells = (line: string) => line.trim().replace(/\s*\|\s*/g, "|");
const docRows = new Set(
  (await Deno.readTextFile(`${root}docs/autoscaling.md`)).split("\n").map(cells),
);

async function autoscaling(config: string): Promise<AutoscalingConfig> {
  const { config: c } = await loadConfig(`${root}configs/${config}`);
  return c.applications[0].deployments[0].autoscaling_config!;
}

/** One tick of the real policy wrapper with `running` replicas, all at the target, no delay. */
function desiredAt(config: AutoscalingConfig, running: number, totalOngoing: number): number {
  const ctx: AutoscalingContext = {
    appName: "app",
    deploymentName: "dep",
    config,
    currentNumReplicas: running,
    targetNumReplicas: running,
    totalNumRequests: totalOngoing,
    totalQueuedRequests: 0,
    capacityAdjustedMinReplicas: config.min_replicas,
    capacityAdjustedMaxReplicas: config.max_replicas,
    policyState: {},
    policyKwargs: {},
    currentTimeMs: 0,
    lastScaleUpTimeMs: null,
    lastScaleDownTimeMs: null,
  };
  return decide(ctx).desiredReplicas;
}

/** Fails listing every expected row the doc lacks (so the doc can be fixed from the output). */
function assertRowsInDoc(rows: string[]): void {
  const missing = rows.filter((row) => !docRows.has(cells(row)));
  assert.deepEqual(
    missing,
    [],
    `docs/autoscaling.md lacks these computed rows:\n${missing.join("\n")}`,
  );
}

const fmt = (x: number) => String(Math.round(x * 1000) / 1000);

Deno.test("the doc's policy arithmetic is what decide() computes for the shipped configs", async () => {
  const antiStall = { ...(await autoscaling("basic.yaml")), downscaling_factor: 0.1 };
  const cases: [string, AutoscalingConfig, number, number][] = [
    ["basic.yaml", await autoscaling("basic.yaml"), 1, 11],
    ["aggressive_upscale.yaml", await autoscaling("aggressive_upscale.yaml"), 1, 11],
    ["basic.yaml", await autoscaling("basic.yaml"), 6, 1],
    ["conservative_downscale.yaml", await autoscaling("conservative_downscale.yaml"), 6, 1],
    ["latency_optimized.yaml", await autoscaling("latency_optimized.yaml"), 6, 1],
    ["basic.yaml, downscaling_factor 0.1", antiStall, 3, 3.8],
    ["basic.yaml", await autoscaling("basic.yaml"), 60, 400],
  ];
  const rows = cases.map(([name, config, running, ongoing]) => {
    const raw = ongoing / config.target_ongoing_requests;
    const up = raw > running;
    const factor = (up ? config.upscaling_factor : config.downscaling_factor) ?? 1;
    return `| ${name} | ${running} | ${fmt(ongoing)} | ${fmt(raw)} | ${fmt(factor)} | ${
      desiredAt(config, running, ongoing)
    } |`;
  });
  assertRowsInDoc(rows);
});

async function replayRows(config: string, input: ReplayInput, endS: number): Promise<string[]> {
  const trace = parseTrace(
    (await Deno.readTextFile(`${root}configs/traces/tutorial_ongoing.csv`)) + `${endS},1\n`,
  );
  const { decisions } = replayTrace(trace, { config: await autoscaling(config), input });
  return decisions.map((d) =>
    `| ${config} | ${input} | ${fmt(d.elapsed_s)} s | ${d.from_replicas} → ${d.to_replicas} | ${
      fmt(d.total_ongoing_requests)
    } |`
  );
}

Deno.test("the doc's delay timeline is what replayTrace() decides over the tutorial trace", async () => {
  const basic = await replayRows("basic.yaml", "aggregated", 1200);
  // The claim the README relies on: basic.yaml's first downscale comes after the 660 s test.
  const downs = basic.filter((row) =>
    /(\d+) → (\d+)/.exec(row)!.slice(1).map(Number).reduce((a, b) => a - b) > 0
  );
  assert.equal(downs.length, 1);
  assert.ok(Number(/\| (\d+(\.\d+)?) s \|/.exec(downs[0])![1]) > 660, downs[0]);
  assertRowsInDoc([
    ...basic,
    ...await replayRows("aggressive_upscale.yaml", "aggregated", 1200),
    ...await replayRows("basic.yaml", "instantaneous", 1200),
  ]);
});
