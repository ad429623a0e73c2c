import assert from "node:assert/strict";
import sharp from "sharp";
import {
  type Classifier,
  createClassifier,
  imagenetLabels,
  probeWebGpu,
  topK,
} from "../../lib/model/mod.ts";
import { channelMeanNhwc } from "./_tiny_models.ts";

const fixtures = new URL("../../../shared/fixtures/", import.meta.url);
const haveFixtures = await Deno.stat(new URL("mobilenetv2-12-int8.onnx", fixtures)).then(
  () => true,
  () => false,
);
if (!haveFixtures) {
  console.warn(
    `skipping fixture tests: ${fixtures.pathname} is absent (it holds the real MobileNetV2 and dog.jpg)`,
  );
}
const gpu = await probeWebGpu();
const realGpu = gpu.available && !gpu.fallback;
if (haveFixtures && !gpu.available) {
  console.warn(`skipping the webgpu fixture test: no WebGPU adapter (${gpu.description})`);
}

const read = (name: string) => Deno.readFile(new URL(name, fixtures));

/**
 * Expected top-5 for dog.jpg through MobileNetV2-int8 with torchvision-style preprocessing
 * (bilinear, antialiased). The README gives top-1 Samoyed at p ~0.88 with bilinear (~0.73 with
 * Lanczos, ~0.83 without mean/std): the probability window below tells those apart.
 */
const EXPECTED_TOP5 = [258, 259, 261, 231, 279]; // Samoyed, Pomeranian, keeshond, collie, Arctic fox

async function checkDog(classifier: Classifier) {
  const result = await classifier.classify(await read("dog.jpg"), { top: 5 });
  const [best] = result.top;
  assert.equal(best.index, 258);
  assert.equal(best.label, "Samoyed");
  assert.ok(best.probability > 0.85 && best.probability < 0.91, `p(Samoyed) = ${best.probability}`);
  assert.deepEqual(result.top.map((p) => p.index), EXPECTED_TOP5);
  const labels = imagenetLabels();
  for (const p of result.top) assert.equal(p.label, labels[p.index]);
  assert.ok(result.preprocessMs > 0 && result.inferenceMs > 0);
}

for (const backend of ["native", "wasm"] as const) {
  Deno.test({
    name:
      `MobileNetV2 classifies dog.jpg as Samoyed (p ~0.88) with the expected top-5 on ${backend}`,
    ignore: !haveFixtures,
    fn: async () => {
      const denoWorker = globalThis.Worker;
      const classifier = await createClassifier(await read("mobilenetv2-12-int8.onnx"), {
        backend,
        threads: 2,
      });
      try {
        // ORT-web's glue swaps in node's Worker on init; later Deno Workers would hang.
        assert.equal(globalThis.Worker, denoWorker, "globalThis.Worker is left as it was");
        assert.equal(classifier.backend, backend);
        assert.deepEqual(
          [
            classifier.io.inputName,
            classifier.io.layout,
            classifier.io.size,
            classifier.io.classes,
          ],
          ["input", "NCHW", 224, 1000],
        );
        await checkDog(classifier);
      } finally {
        await classifier.close();
      }
    },
  });
}

Deno.test({
  name: "backend auto measures its candidates and says why (a software WebGPU adapter is not one)",
  ignore: !haveFixtures,
  fn: async () => {
    const lines: string[] = [];
    const classifier = await createClassifier(await read("mobilenetv2-12-int8.onnx"), {
      backend: "auto",
      threads: 1,
      log: (l) => lines.push(l),
    });
    try {
      // On a CPU-only machine native beats wasm; with a real GPU either may win the measurement.
      if (!realGpu) assert.equal(classifier.backend, "native");
      assert.equal(classifier.backendChoice?.backend, classifier.backend);
      assert.equal(classifier.backendChoice?.source, "measured"); // no cacheKey: never cached
      const verdict = lines.find((l) => /^auto: (native|wasm|webgpu) \(fastest measured: /.test(l));
      assert.ok(verdict, lines.join("\n"));
      if (!realGpu) assert.ok(!/webgpu/.test(verdict), verdict);
    } finally {
      await classifier.close();
    }
  },
});

Deno.test({
  name: "concurrent classify() calls on one wasm classifier all succeed (runs are serialised)",
  ignore: !haveFixtures,
  fn: async () => {
    const classifier = await createClassifier(await read("mobilenetv2-12-int8.onnx"), {
      backend: "wasm",
      threads: 1,
      warmup: false,
    });
    try {
      const dog = await read("dog.jpg");
      const results = await Promise.all([1, 2, 3].map(() => classifier.classify(dog, { top: 1 })));
      for (const r of results) assert.equal(r.top[0].label, "Samoyed");
    } finally {
      await classifier.close();
    }
  },
});

Deno.test("createClassifier() takes input name, NHWC layout and size from the model's metadata", async () => {
  // Scores = mean of each normalised channel; a pure red image gives
  // [(1-0.485)/0.229, (0-0.456)/0.224, (0-0.406)/0.225] = [2.24891, -2.03571, -1.80444].
  for (const backend of ["native", "wasm"] as const) {
    const classifier = await createClassifier(channelMeanNhwc(32), { backend, threads: 1 });
    try {
      assert.deepEqual(
        [classifier.io.inputName, classifier.io.layout, classifier.io.size, classifier.io.classes],
        ["pixels", "NHWC", 32, 3],
      );
      const red = new Uint8Array(
        await sharp({ create: { width: 40, height: 50, channels: 3, background: "#ff0000" } })
          .png()
          .toBuffer(),
      );
      const { top } = await classifier.classify(red, { top: 3 });
      const logits = [2.24891, -2.03571, -1.80444];
      const z = logits.reduce((s, v) => s + Math.exp(v), 0);
      assert.deepEqual(top.map((p) => p.index), [0, 2, 1]);
      assert.equal(top[0].label, "class 0"); // not ImageNet: no ImageNet names
      for (const p of top) {
        assert.ok(Math.abs(p.probability - Math.exp(logits[p.index]) / z) < 1e-4, backend);
      }
    } finally {
      await classifier.close();
    }
  }
});

Deno.test("topK() returns softmax probabilities, best first, skipping a background class", () => {
  const logits = new Float32Array([5, 1, 3, 2]); // index 0 = background when offset 1
  const top = topK(logits, 2, 1, ["a", "b", "c"]);
  const z = Math.exp(5) + Math.exp(1) + Math.exp(3) + Math.exp(2);
  assert.deepEqual(top.map((p) => [p.index, p.label]), [[1, "b"], [2, "c"]]);
  assert.ok(Math.abs(top[0].probability - Math.exp(3) / z) < 1e-12);
  assert.deepEqual(topK(logits, 10).map((p) => p.index), [0, 2, 3, 1]);
});

async function classifyInWorker(backend: "native" | "webgpu") {
  const model = await read("mobilenetv2-12-int8.onnx");
  const shared = new Uint8Array(new SharedArrayBuffer(model.length));
  shared.set(model);
  const worker = new Worker(new URL("./_classify_worker.ts", import.meta.url), { type: "module" });
  try {
    return await new Promise<
      {
        ok: boolean;
        backend?: string;
        top?: { index: number; probability: number }[];
        error?: string;
      }
    >(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("worker did not answer in 60 s")), 60_000);
        worker.onmessage = (e) => {
          clearTimeout(timer);
          resolve(e.data);
        };
        worker.onerror = (e) => {
          clearTimeout(timer);
          e.preventDefault();
          reject(new Error(e.message));
        };
        worker.postMessage({ model: shared, backend, threads: 1, fixtures: fixtures.href });
      },
    );
  } finally {
    worker.terminate();
  }
}

Deno.test({
  name:
    "a classifier works inside a Web Worker (model bytes in a SharedArrayBuffer), also after wasm ran in the parent",
  ignore: !haveFixtures,
  fn: async () => {
    const reply = await classifyInWorker("native");
    assert.equal(reply.error, undefined);
    assert.equal(reply.backend, "native");
    assert.deepEqual(reply.top?.map((p) => p.index), EXPECTED_TOP5);
  },
});

Deno.test({
  // The webgpu bundle builds URLs against location.origin, which is "null" in a Worker. Runs on a
  // software adapter too (Mesa llvmpipe here: ~3 s to load, ~1 s per image for this small model;
  // its int8 nodes run on ORT's CPU fallback inside the webgpu session).
  name: "MobileNetV2 classifies dog.jpg as Samoyed (p ~0.88) on webgpu inside a Web Worker",
  ignore: !haveFixtures || !gpu.available,
  fn: async () => {
    const reply = await classifyInWorker("webgpu");
    assert.equal(reply.error, undefined);
    assert.equal(reply.backend, "webgpu");
    assert.deepEqual(reply.top?.map((p) => p.index), EXPECTED_TOP5);
    const p = reply.top![0].probability;
    assert.ok(p > 0.85 && p < 0.91, `p(Samoyed) = ${p}`);
  },
});
