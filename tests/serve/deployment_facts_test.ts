/**
 * What `backend: auto` judges a deployment's replica layouts on, read from its config: the most
 * replicas it may run (autoscaling or fixed), CPUs, and the batch it can form. Also what
 * `/api/status` shows of the compared layouts.
 */
import assert from "node:assert/strict";
import { makeConfig } from "./_helpers.ts";
import { backendChoiceJson, deploymentFacts } from "../../lib/serve/_replica_options.ts";
import { type BackendChoice, chooseLayout } from "../../lib/model/mod.ts";

const cores = navigator.hardwareConcurrency;

Deno.test("an autoscaling deployment is judged at its max_replicas, a fixed one at num_replicas", () => {
  const scaling = makeConfig({
    autoscaling_config: { min_replicas: 1, max_replicas: 6 },
    max_ongoing_requests: 8,
    max_batch_size: 16,
    ray_actor_options: { num_cpus: 2 },
  }).applications[0].deployments[0];
  assert.deepEqual(deploymentFacts(scaling, 12), {
    maxReplicas: 6,
    numCpus: 2,
    clusterCpus: 12,
    machineCpus: cores,
    maxBatchSize: 16,
    maxOngoingRequests: 8,
  });
  const fixed = makeConfig({ num_replicas: 3 }).applications[0].deployments[0];
  const facts = deploymentFacts(fixed, 4);
  assert.equal(facts.maxReplicas, 3);
  assert.equal(facts.maxBatchSize, 1, "batching off by default");
});

Deno.test("/api/status shows the layouts compared and the facts, in snake_case", () => {
  const facts = {
    maxReplicas: 16,
    numCpus: 1,
    clusterCpus: 16,
    machineCpus: 16,
    maxBatchSize: 32,
    maxOngoingRequests: 32,
  };
  const timings = [
    { backend: "native" as const, batch: 32, p50Ms: 2327.27, imagesPerS: 13.75, runs: 3 },
    { backend: "webgpu" as const, batch: 32, p50Ms: 53.78, imagesPerS: 595, runs: 3 },
  ];
  const c = chooseLayout(timings, facts);
  const choice: BackendChoice = {
    backend: c.backend!,
    source: "measured",
    reason: c.reason,
    timings,
    batch: 32,
    measuredAt: "2026-12-04T00:00:00.000Z",
    layout: { facts, cpuReplicas: c.cpuReplicas, layouts: c.layouts },
  };
  const json = backendChoiceJson([{ loadTimings: {} }, { loadTimings: { backendChoice: choice } }])
    .backend_choice!;
  assert.equal(json.backend, "webgpu");
  assert.deepEqual(json.layouts, [
    {
      backend: "webgpu",
      scaling: "one_device",
      replicas: 1,
      batch: 32,
      per_replica_images_per_s: 595,
      images_per_s: 595,
    },
    {
      backend: "native",
      scaling: "replicas",
      replicas: 16,
      batch: 32,
      per_replica_images_per_s: 13.75,
      images_per_s: 220,
    },
  ]);
  assert.deepEqual(json.deployment, {
    max_replicas: 16,
    num_cpus: 1,
    cluster_cpus: 16,
    machine_cpus: 16,
    max_batch_size: 32,
    max_ongoing_requests: 32,
    cpu_replicas: 16,
  });
  // A choice made without the deployment's facts shows no layouts (as before).
  const { layout: _, ...perReplica } = choice;
  const plain = backendChoiceJson([{ loadTimings: { backendChoice: perReplica } }]).backend_choice!;
  assert.equal(plain.layouts, undefined);
});
