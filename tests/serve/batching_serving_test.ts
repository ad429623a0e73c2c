/**
 * Batching end to end: a real replica worker with `max_batch_size: 4` runs four concurrent
 * requests as one session run and answers each with its own label; status shows what `auto`
 * measured and the replica layouts it compared. (Timing of batch formation is covered on virtual time in batching_test.ts.)
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { makeConfig, postImage, serve } from "./_helpers.ts";
import { channelMeanNhwc } from "../model/_tiny_models.ts";

async function solidPng(r: number, g: number, b: number): Promise<Uint8Array<ArrayBuffer>> {
  const buf = await sharp({
    create: { width: 16, height: 16, channels: 3, background: { r, g, b } },
  }).png().toBuffer();
  return new Uint8Array(buf);
}

Deno.test("max_batch_size 4: four concurrent requests share one run, each gets its own label", async () => {
  const dir = await Deno.makeTempDir({ prefix: "batching_serving_" });
  const modelPath = `${dir}/channel_mean.onnx`;
  // 3 "classes": the mean of each colour channel, so a red image is class 0, green 1, blue 2.
  await Deno.writeFile(modelPath, channelMeanNhwc(8));
  const s = await serve(
    makeConfig({
      num_replicas: 1,
      max_ongoing_requests: 8,
      max_batch_size: 4,
      batch_wait_timeout_s: 30, // only a full batch can run before the test's own timeout
      user_config: { model: modelPath },
    }),
    { numCpus: 1 },
  );
  try {
    const images = [
      await solidPng(250, 10, 10),
      await solidPng(10, 250, 10),
      await solidPng(10, 10, 250),
      await solidPng(240, 20, 20),
    ];
    const replies = await Promise.all(
      images.map((png) => postImage(`${s.url}/?top=1`, png, { accept: "application/json" })),
    );
    const bodies = replies.map((r) => {
      assert.equal(r.status, 200, r.text);
      return r.body as { label: string; timings_ms: Record<string, number> };
    });
    assert.deepEqual(bodies.map((b) => b.label), ["class 0", "class 1", "class 2", "class 0"]);
    // One session run for all four: each reports that run's time.
    const inference = new Set(bodies.map((b) => b.timings_ms.inference));
    assert.equal(inference.size, 1, `inference times ${[...inference].join(", ")}`);

    const status = s.status();
    const dep = status.applications.default.deployments.Model;
    assert.equal(dep.ongoing_requests, 0);
    const choice = status.model.backend_choice;
    assert.ok(choice, "auto's choice is in status");
    assert.equal(choice.batch, 4);
    assert.ok(["measured", "cache"].includes(choice.source), choice.source);
    assert.equal(choice.backend, status.model.backend);
    assert.ok(choice.timings.some((t) => t.backend === "native"));
    // The layouts compared for the deployment: one replica on one CPU, batches of up to 4.
    assert.deepEqual(choice.deployment, {
      max_replicas: 1,
      num_cpus: 1,
      cluster_cpus: 1,
      machine_cpus: navigator.hardwareConcurrency,
      max_batch_size: 4,
      max_ongoing_requests: 8,
      cpu_replicas: 1,
    });
    const native = choice.layouts?.find((l) => l.backend === "native");
    assert.ok(native, JSON.stringify(choice.layouts));
    assert.deepEqual([native.scaling, native.replicas, native.batch], ["replicas", 1, 4]);
    assert.equal(native.images_per_s, native.per_replica_images_per_s);
    assert.equal(choice.layouts![0].backend, choice.backend, "best layout first");
    assert.match(choice.reason, /^most images\/s for the deployment: /);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const served = metrics.split("\n").find((l) =>
      l.startsWith("ray_serve_deployment_request_counter_total{")
    );
    assert.ok(served?.endsWith(" 4"), `per-request counter: ${served}`);
  } finally {
    await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
