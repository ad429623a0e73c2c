import assert from "node:assert/strict";
import { stringify } from "yaml";
import { parseConfig, type ServeConfig } from "../../lib/config/mod.ts";
import { checkApplyable, formatPlan, planApply } from "../../lib/serve/mod.ts";

function cfg(deps: Record<string, unknown>[], extra: Record<string, unknown> = {}): ServeConfig {
  return parseConfig(stringify({
    applications: [{
      name: "app",
      route_prefix: "/",
      import_path: "main:app",
      deployments: deps,
      ...extra,
    }],
  })).config;
}

const base = { name: "Model", num_replicas: 2, user_config: { model: "noop:5" } };

Deno.test("planApply() calls knob changes lightweight and model, backend or CPU changes rolling", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ max_ongoing_requests: 9 }, "lightweight"],
    [{ num_replicas: 3 }, "lightweight"],
    [
      { num_replicas: null, autoscaling_config: { min_replicas: 1, max_replicas: 3 } },
      "lightweight",
    ],
    [{ graceful_shutdown_timeout_s: 5 }, "lightweight"],
    [{ user_config: { model: "noop:5", top_k: 2 } }, "lightweight"],
    [{ user_config: { model: "noop:6" } }, "rolling"],
    [{ user_config: { model: "noop:5", backend: "wasm" } }, "rolling"],
    [{ ray_actor_options: { num_cpus: 0.5 } }, "rolling"],
    [{}, "unchanged"],
  ];
  for (const [change, kind] of cases) {
    const plan = planApply(cfg([base]), cfg([{ ...base, ...change }]));
    assert.equal(plan.changes[0].kind, kind, JSON.stringify(change));
  }
});

Deno.test("planApply() names each changed field with old and new values; deprecated aliases compare by effect", () => {
  const a = {
    ...base,
    num_replicas: null,
    autoscaling_config: { max_replicas: 4, smoothing_factor: 2 },
  };
  const b = {
    ...base,
    num_replicas: null,
    autoscaling_config: { max_replicas: 5, upscaling_factor: 2, downscaling_factor: 2 },
  };
  const plan = planApply(cfg([a]), cfg([b]));
  assert.deepEqual(plan.changes[0].fields, ["autoscaling_config.max_replicas: 4 -> 5"]);
  assert.deepEqual(formatPlan(plan), [
    "app/Model: lightweight update (in place, no replica restarts)",
    "    autoscaling_config.max_replicas: 4 -> 5",
  ]);
});

Deno.test("planApply() rolls every deployment on an import_path change and lists added and removed ones", () => {
  const plan = planApply(
    cfg([base, { ...base, name: "Old" }]),
    cfg([base, { ...base, name: "New" }], { import_path: "other:app" }),
  );
  assert.deepEqual(plan.changes.map((c) => `${c.deployment}:${c.kind}`), [
    "Model:rolling",
    "New:added",
    "Old:removed",
  ]);
  assert.match(plan.changes[0].fields[0], /^import_path: main:app -> other:app$/);
  assert.deepEqual(planApply(null, cfg([base])).changes.map((c) => c.kind), ["added"]);
});

Deno.test("checkApplyable() refuses fixed replicas beyond the cluster and a replica bigger than it", () => {
  const big = cfg([{ ...base, num_replicas: 3, ray_actor_options: { num_cpus: 1 } }]);
  assert.deepEqual(checkApplyable(big, { numCpus: 3 }), []);
  assert.match(
    checkApplyable(big, { numCpus: 2 })[0],
    /need 3 CPUs \(app\/Model 3 x 1;.*cluster has 2/,
  );
  const huge = cfg([{ ...base, num_replicas: 1, ray_actor_options: { num_cpus: 4 } }]);
  assert.match(checkApplyable(huge, { numCpus: 2 })[0], /needs ray_actor_options.num_cpus=4/);
  const auto = cfg([{
    ...base,
    num_replicas: null,
    autoscaling_config: { min_replicas: 0, max_replicas: 50 },
  }]);
  assert.deepEqual(checkApplyable(auto, { numCpus: 2 }), [], "only min_replicas must fit");
});
