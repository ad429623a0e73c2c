/**
 * `backend: auto` judges whole-deployment layouts: CPU backends x the replicas the CPUs allow,
 * WebGPU bounded by its one device. Fake timings, so it runs without a GPU.
 */
import assert from "node:assert/strict";
import {
  type BackendTiming,
  chooseByMeasurement,
  chooseLayout,
  type ConcreteBackend,
  cpuReplicas,
  createClassifier,
  type DeploymentFacts,
  formableBatch,
  probeWebGpu,
} from "../../lib/model/mod.ts";

/** A timing of `imagesPerS` at `batch` (p50 derived from it). */
function timing(
  backend: ConcreteBackend,
  imagesPerS: number | null,
  batch = 32,
  extra: Partial<BackendTiming> = {},
): BackendTiming {
  return {
    backend,
    batch,
    p50Ms: imagesPerS === null ? null : (batch * 1000) / imagesPerS,
    imagesPerS,
    runs: 3,
    ...extra,
  };
}

/** The H200 machine's shape: 16 one-CPU replicas on 16 cores, batching up to 32. */
const H200: DeploymentFacts = {
  maxReplicas: 16,
  numCpus: 1,
  clusterCpus: 16,
  machineCpus: 16,
  maxBatchSize: 32,
  maxOngoingRequests: 32,
};

Deno.test("the choice flips to webgpu exactly when its one-device figure beats replicas x native", () => {
  const native = timing("native", 13.75); // 16 x 13.75 = 220 img/s for the deployment
  const picks = [100, 219, 220, 221, 595].map((gpu) => {
    const c = chooseLayout([native, timing("wasm", 2.6), timing("webgpu", gpu)], H200);
    return `${gpu}:${c.backend}`;
  });
  // 220 is a tie: the earlier backend (native) keeps it.
  assert.deepEqual(picks, ["100:native", "219:native", "220:native", "221:webgpu", "595:webgpu"]);

  const c = chooseLayout([native, timing("webgpu", 100)], H200);
  const gpu = c.layouts.find((l) => l.backend === "webgpu")!;
  assert.equal(gpu.imagesPerS, 100, "webgpu is not multiplied by the replicas");
  assert.equal(gpu.scaling, "one_device");
  assert.equal(gpu.replicas, 1);
  const cpu = c.layouts.find((l) => l.backend === "native")!;
  assert.deepEqual([cpu.replicas, cpu.imagesPerS, cpu.scaling], [16, 220, "replicas"]);
  assert.equal(c.cpuReplicas, 16);
  assert.match(
    c.reason,
    /^most images\/s for the deployment: native 220 img\/s \(16 replicas x 13\.8\) > webgpu 100 img\/s \(one device\) at batch 32$/,
  );
});

Deno.test("per replica webgpu wins, per deployment native does (the old per-replica pick differs)", () => {
  const timings = [timing("native", 14.7), timing("webgpu", 39.3)];
  assert.equal(chooseLayout(timings, H200).backend, "native");
  // One replica allowed: the per-replica figures decide, and webgpu wins.
  assert.equal(chooseLayout(timings, { ...H200, maxReplicas: 1 }).backend, "webgpu");
  // A 2-core machine runs only 2 one-thread replicas side by side, whatever the cluster claims.
  assert.equal(cpuReplicas({ ...H200, machineCpus: 2 }), 2);
  assert.equal(chooseLayout(timings, { ...H200, machineCpus: 2 }).backend, "webgpu");
});

Deno.test("a software (fallback) adapter is never chosen, however fast it was timed", () => {
  const c = chooseLayout(
    [timing("native", 1), timing("webgpu", 100_000, 32, { fallback: true })],
    { ...H200, maxReplicas: 1 },
  );
  assert.equal(c.backend, "native");
  const gpu = c.layouts.find((l) => l.backend === "webgpu")!;
  assert.equal(gpu.imagesPerS, null);
  assert.match(gpu.note!, /software \(fallback\) adapter/);
  assert.equal(c.layouts.at(-1)!.backend, "webgpu", "not comparable layouts come last");
  // Only a fallback adapter: nothing can be chosen.
  assert.equal(chooseLayout([timing("webgpu", 500, 32, { fallback: true })], H200).backend, null);
});

Deno.test("with batching off (or max_ongoing_requests 1) webgpu is judged at batch 1", () => {
  // WebGPU timed at batch 1 and at 32; native at 1 (13.75 img/s per replica).
  const timings = [
    timing("native", 13.75, 1),
    timing("webgpu", 20, 1),
    timing("webgpu", 595, 32),
  ];
  for (
    const facts of [
      { ...H200, maxBatchSize: 1 },
      { ...H200, maxBatchSize: 32, maxOngoingRequests: 1 },
    ]
  ) {
    assert.equal(formableBatch(facts), 1);
    const c = chooseLayout(timings, facts);
    assert.equal(c.batch, 1);
    assert.equal(c.backend, "native", c.reason);
    const gpu = c.layouts.find((l) => l.backend === "webgpu")!;
    assert.deepEqual([gpu.batch, gpu.imagesPerS], [1, 20]);
  }
  // Batching on: the batch-32 figure counts (native's batch-1 figure is the best it has).
  const on = chooseLayout(timings, H200);
  assert.equal(on.backend, "webgpu");
  assert.match(
    on.reason,
    /webgpu 595 img\/s \(one device\) > native 220 img\/s \(16 replicas x 13\.8, timed at batch 1\) at batch 32$/,
  );
  // A timing only above the formable batch is not compared.
  const off = chooseLayout([timing("native", 13.75, 1), timing("webgpu", 595, 32)], {
    ...H200,
    maxBatchSize: 1,
  });
  assert.equal(off.backend, "native");
  assert.match(off.layouts[1].note!, /timed only at batch 32, above the batch 1/);
});

Deno.test("replicas the CPUs allow: max_replicas, cluster CPUs / num_cpus, cores / threads", () => {
  assert.equal(cpuReplicas({ ...H200, maxReplicas: 4 }), 4);
  assert.equal(cpuReplicas({ ...H200, numCpus: 2 }), 8);
  assert.equal(cpuReplicas({ ...H200, clusterCpus: 6, machineCpus: 64 }), 6);
  // Half-CPU replicas: the cluster places 32, but 1-thread sessions run 16 at a time on 16 cores.
  assert.equal(cpuReplicas({ ...H200, maxReplicas: 100, numCpus: 0.5 }), 16);
  assert.equal(cpuReplicas({ ...H200, clusterCpus: 0.3, numCpus: 0.1, maxReplicas: 9 }), 3);
  // num_cpus 0: placement does not count CPUs; the cores still bound it.
  assert.equal(cpuReplicas({ ...H200, maxReplicas: 100, numCpus: 0 }), 16);
  // A replica bigger than the cluster still counts as one.
  assert.equal(cpuReplicas({ ...H200, numCpus: 32 }), 1);
});

Deno.test("facts out of range are refused with the field named", async () => {
  assert.throws(
    () => chooseLayout([], { ...H200, maxReplicas: 0 }),
    /deployment facts: maxReplicas must be a positive number, got 0/,
  );
  assert.throws(
    () => cpuReplicas({ ...H200, numCpus: -1 }),
    /numCpus must be a non-negative number, got -1/,
  );
  assert.throws(
    () => chooseLayout([], { ...H200, machineCpus: Number.NaN }),
    /machineCpus must be a positive number, got NaN/,
  );
  // auto refuses them before opening any session.
  const f = fakes({ native: 1 });
  await assert.rejects(
    chooseByMeasurement(["native"], { ...f, deployment: { ...H200, clusterCpus: 0 } }),
    /clusterCpus must be a positive number, got 0/,
  );
  assert.deepEqual(f.opened, []);
});

/** Fake sessions: each backend's per-image ms; a missing backend fails to open. */
function fakes(msPerImage: Partial<Record<ConcreteBackend, number>>) {
  const timed: ConcreteBackend[] = [];
  const opened: ConcreteBackend[] = [];
  return {
    timed,
    opened,
    open: (b: ConcreteBackend) => {
      opened.push(b);
      return msPerImage[b] === undefined
        ? Promise.reject(new Error(`backend "${b}" cannot load`))
        : Promise.resolve(b);
    },
    time: (b: ConcreteBackend, batch: number) => {
      timed.push(b);
      return Promise.resolve([1, 1, 1].map(() => msPerImage[b]! * batch));
    },
    release: () => Promise.resolve(),
  };
}

Deno.test("auto with the deployment's facts picks the layout, logs it and re-decides from the cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "layout_choice_test_" });
  try {
    const cacheFile = `${dir}/choice.json`;
    // Per replica: webgpu 50 img/s beats native 20 img/s; 16 native replicas serve 320.
    const first = fakes({ native: 50, wasm: 400, webgpu: 20 });
    const lines: string[] = [];
    const a = await chooseByMeasurement(["native", "wasm", "webgpu"], {
      ...first,
      deployment: { ...H200, maxBatchSize: 8 },
      cacheFile,
      log: (l) => lines.push(l),
    });
    assert.equal(a.choice.backend, "native");
    assert.equal(a.choice.batch, 8, "timed at the batch the deployment can form");
    assert.equal(a.choice.source, "measured");
    assert.deepEqual(
      a.choice.layout!.layouts.map((l) => [l.backend, l.imagesPerS]),
      [["native", 320], ["webgpu", 50], ["wasm", 40]],
    );
    assert.deepEqual(lines, [
      "auto: native (most images/s for the deployment: native 320 img/s (16 replicas x 20.0) > " +
      "webgpu 50.0 img/s (one device) > wasm 40.0 img/s (16 replicas x 2.50) at batch 8)",
    ]);

    // Same machine and batch, a deployment of one replica: decided again from the cached
    // figures without timing anything, and now webgpu serves more.
    const second = fakes({ native: 50, wasm: 400, webgpu: 20 });
    const b = await chooseByMeasurement(["native", "wasm", "webgpu"], {
      ...second,
      deployment: { ...H200, maxBatchSize: 8, maxReplicas: 1 },
      cacheFile,
    });
    assert.deepEqual(second.timed, []);
    assert.deepEqual(second.opened, ["webgpu"]);
    assert.equal(b.choice.backend, "webgpu");
    assert.equal(b.choice.source, "cache");
    assert.equal(b.choice.layout!.cpuReplicas, 1);
    assert.match(b.choice.reason, /^most images\/s for the deployment: webgpu 50\.0 img\/s/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on a CPU-only machine the layout choice is the per-replica one (native over wasm)", async () => {
  const f = fakes({ native: 50, wasm: 400 });
  const { choice } = await chooseByMeasurement(["native", "wasm"], {
    ...f,
    deployment: { ...H200, maxBatchSize: 1 },
  });
  assert.equal(choice.backend, "native");
  assert.equal(choice.batch, 1);
  assert.ok(!choice.layout!.layouts.some((l) => l.backend === "webgpu"));
});

const fixture = new URL("../../../shared/fixtures/mobilenetv2-12-int8.onnx", import.meta.url);
const haveFixture = await Deno.stat(fixture).then(() => true, () => false);
const gpu = await probeWebGpu();

Deno.test({
  name: "a real classifier on this machine: auto with deployment facts picks native, not WebGPU",
  ignore: !haveFixture || (gpu.available && !gpu.fallback),
  fn: async () => {
    const lines: string[] = [];
    const classifier = await createClassifier(await Deno.readFile(fixture), {
      backend: "auto",
      threads: 1,
      warmup: false,
      deployment: { ...H200, maxReplicas: 2, clusterCpus: 2, machineCpus: 2, maxBatchSize: 1 },
      log: (l) => lines.push(l),
    });
    try {
      assert.equal(classifier.backend, "native");
      const layout = classifier.backendChoice?.layout;
      assert.ok(layout, "the compared layouts are kept on the classifier");
      assert.equal(layout.cpuReplicas, 2);
      assert.deepEqual(layout.layouts.map((l) => l.backend).sort(), ["native", "wasm"]);
      const verdict = lines.find((l) =>
        /^auto: native \(most images\/s for the deployment: /.test(l)
      );
      assert.ok(verdict, lines.join("\n"));
    } finally {
      await classifier.close();
    }
  },
});
if (!haveFixture) {
  console.warn(`skipping the real-classifier test: ${fixture.pathname} is absent`);
}
