import assert from "node:assert/strict";
import {
  hpaKnobs,
  hpaScale,
  kpaKnobs,
  kpaScale,
  kpaTargetPerPod,
  PEER_POLICIES,
} from "../../lib/autoscaler/peers/mod.ts";
import { loadPolicy, PolicyError, replayTrace } from "../../lib/autoscaler/mod.ts";
import { parseConfig } from "../../lib/config/mod.ts";
import { BUILTIN_POLICY_NAMES } from "../../lib/config/builtin_policies.ts";

// peers.md §1.4: defaults except containerConcurrency: 10.
const kpa = kpaKnobs({ container_concurrency: 10 });

Deno.test("knative-kpa: peers.md §1.4 worked example, burst: target 7, panic, 3 -> 8 in one tick", () => {
  assert.equal(kpaTargetPerPod(kpa), 7);
  const t0 = 1_000_000;
  const burst = kpaScale({ stableTotal: 18, panicTotal: 50, readyPods: 3, nowMs: t0 }, kpa);
  assert.equal(burst.stablePods, 3);
  assert.equal(burst.panicPods, 8);
  assert.deepEqual(burst.bounds, [1, 3000]);
  assert.equal(burst.inPanic, true);
  assert.equal(burst.desired, 8);

  // Still panicking 30 s later with the load gone: it never scales down in panic.
  const calm = kpaScale(
    { stableTotal: 10, panicTotal: 10, readyPods: 8, nowMs: t0 + 30_000 },
    kpa,
    { state: burst.state },
  );
  assert.equal(calm.inPanic, true);
  assert.equal(calm.desired, 8);

  // 60 s after the last over-threshold tick panic ends: 8 -> 4 (max-scale-down-rate 2), then 4 -> 2.
  const out = kpaScale({ stableTotal: 10, panicTotal: 10, readyPods: 8, nowMs: t0 + 60_000 }, kpa, {
    state: calm.state,
  });
  assert.equal(out.inPanic, false);
  assert.equal(out.stablePods, 4);
  assert.equal(out.desired, 4);
  const next = kpaScale(
    { stableTotal: 10, panicTotal: 10, readyPods: 4, nowMs: t0 + 62_000 },
    kpa,
    { state: out.state },
  );
  assert.equal(next.desired, 2);
});

Deno.test("knative-kpa: with scale-down-delay 5m the count stays at 8 until five minutes of lower recommendations", () => {
  const knobs = kpaKnobs({ container_concurrency: 10, scale_down_delay_s: 300 });
  const t0 = 1_000_000;
  let r = kpaScale({ stableTotal: 18, panicTotal: 50, readyPods: 3, nowMs: t0 }, knobs);
  assert.equal(r.desired, 8);
  let ready = 8;
  const seen: number[] = [];
  // Load drops at once; tick every 2 s for 12 minutes.
  for (let t = t0 + 2000; t <= t0 + 720_000; t += 2000) {
    r = kpaScale({ stableTotal: 10, panicTotal: 10, readyPods: ready, nowMs: t }, knobs, {
      state: r.state,
    });
    ready = r.desired;
    seen.push(r.desired);
  }
  // Panic ends at t0 + 60 s, so the last tick recommending 8 is at 58 s; the rolling max over
  // 300 s lets the count fall exactly 300 s after it (and not one tick earlier).
  const firstBelow8 = seen.findIndex((d) => d < 8);
  assert.equal((firstBelow8 + 1) * 2, 58 + 300);
  // The 8 -> 4 step then holds: the tick at 358 s still recommended 4 (8 pods were ready), so 4 -> 2 comes 300 s later.
  assert.equal(seen[firstBelow8], 4);
  const firstBelow4 = seen.findIndex((d) => d < 4);
  assert.equal((firstBelow4 + 1) * 2, 358 + 300);
  assert.equal(seen.at(-1), 2);
});

Deno.test("hpa: peers.md §2.1 worked example: 3 pods at 6 against 2 -> 7 now (policy cap), 9 next period", () => {
  const knobs = hpaKnobs({});
  const t0 = 1_000_000;
  const first = hpaScale({
    currentReplicas: 3,
    metricTotal: 3 * 6,
    target: 2,
    minReplicas: 1,
    maxReplicas: 100,
    nowMs: t0,
  }, knobs);
  assert.equal(first.recommendation, 9);
  assert.equal(first.desired, 7);
  assert.equal(first.limitedBy, "ScaleUpLimit");
  const second = hpaScale(
    {
      currentReplicas: 7,
      metricTotal: 3 * 6,
      target: 2,
      minReplicas: 1,
      maxReplicas: 100,
      nowMs: t0 + 15_000,
    },
    knobs,
    { state: first.state },
  );
  assert.equal(second.desired, 9);
});

Deno.test("hpa: a ratio within the 10 % tolerance changes nothing; scale-down waits for the 300 s window", () => {
  const knobs = hpaKnobs({});
  const base = { target: 2, minReplicas: 1, maxReplicas: 100 };
  const t0 = 1_000_000;
  // 10 pods, 21 in flight: ratio 1.05, inside tolerance.
  const same = hpaScale({ ...base, currentReplicas: 10, metricTotal: 21, nowMs: t0 }, knobs);
  assert.equal(same.desired, 10);
  // Load falls to 4 (recommendation 2); the window holds the earlier 10 for 300 s.
  let s = same.state;
  let desired = 10;
  let dropAtS: number | null = null;
  for (let t = 15; t <= 330; t += 15) {
    const r = hpaScale(
      { ...base, currentReplicas: desired, metricTotal: 4, nowMs: t0 + t * 1000 },
      knobs,
      { state: s },
    );
    s = r.state;
    if (r.desired < desired && dropAtS === null) dropAtS = t;
    desired = r.desired;
  }
  assert.equal(dropAtS, 300);
  assert.equal(desired, 2);
});

Deno.test("peer policies: the config accepts exactly the names lib/autoscaler/peers registers", async () => {
  assert.deepEqual([...BUILTIN_POLICY_NAMES].sort(), Object.keys(PEER_POLICIES).sort());
  for (const name of BUILTIN_POLICY_NAMES) {
    assert.equal(await loadPolicy(name), PEER_POLICIES[name]);
    const { config } = parseConfig(
      `applications:\n  - name: a\n    import_path: x:y\n    deployments:\n      - name: D\n        autoscaling_config:\n          max_replicas: 5\n          policy: ${name}\n`,
    );
    assert.equal(
      config.applications[0].deployments[0].autoscaling_config?.policy?.policy_function,
      name,
    );
  }
});

Deno.test("knative-kpa in replay: a step to 20 in flight scales within a few 2 s ticks, where Ray's default waits 30 s", async () => {
  const yaml = (policy: string) =>
    `applications:\n  - name: a\n    import_path: x:y\n    deployments:\n      - name: D\n        autoscaling_config:\n          max_replicas: 20\n          target_ongoing_requests: 2\n          upscale_delay_s: 0\n          downscale_delay_s: 0\n${policy}`;
  const trace = [{ timeS: 0, totalOngoing: 1 }, { timeS: 10, totalOngoing: 20 }, {
    timeS: 60,
    totalOngoing: 20,
  }];
  const kpaCfg = parseConfig(yaml(
    "          policy:\n            policy_function: knative-kpa\n            policy_kwargs: {target: 2, target_utilization_percentage: 100}\n",
  )).config.applications[0].deployments[0].autoscaling_config!;
  const result = replayTrace(trace, { config: kpaCfg, policy: await loadPolicy("knative-kpa") });
  const firstUp = result.decisions.find((d) => d.to_replicas > d.from_replicas);
  assert.ok(firstUp, "KPA scaled up");
  assert.ok(
    firstUp.elapsed_s >= 10 && firstUp.elapsed_s <= 12.1,
    `first upscale at ${firstUp.elapsed_s} s`,
  );
  assert.equal(result.rows.at(-1)?.target_replicas, 10);
});

Deno.test("peer policies: a bad policy_kwargs value is refused naming the key and the range", () => {
  assert.throws(
    () => kpaKnobs({ panic_threshold_percentage: 50 }),
    (e: Error) =>
      e instanceof PolicyError &&
      /panic_threshold_percentage must be a number from 110 to 1000, got 50/.test(e.message),
  );
  assert.throws(() => kpaKnobs({ windw_s: 60 }), /unknown policy_kwargs key "windw_s"/);
  assert.throws(
    () => hpaKnobs({ scale_up: { policies: [{ type: "Pod", value: 4, period_s: 15 }] } }),
    /scale_up.policies\[0\].type must be Pods or Percent/,
  );
});
