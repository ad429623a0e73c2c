/** The emulated model (`emulate:SPEC`): drawn holds, one request at a time, named everywhere. */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { createEmulatedClassifier, prepareEmulatedModel } from "../../lib/serve/emulated_model.ts";
import type { ServeStatusJson } from "../../lib/serve/mod.ts";
import { makeConfig, postImage, readResponse, serve, TINY_PNG } from "./_helpers.ts";

Deno.test("an emulated replica holds each request for its drawn time, one request at a time", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
  try {
    const classifier = createEmulatedClassifier({ spec: "fixed:100" }, { seed: 1 });
    assert.equal(classifier.backend, "emulate");
    const doneAtMs: number[] = [];
    const calls = [0, 1, 2].map((i) =>
      classifier.classify().then((r) => {
        doneAtMs[i] = clock.now;
        return r;
      })
    );
    await clock.tickAsync(99);
    assert.deepEqual(doneAtMs, [], "nothing is answered before its 100 ms hold");
    await clock.tickAsync(300);
    // Serial: the second waits for the first, the third for the second.
    assert.deepEqual(doneAtMs, [100, 200, 300]);
    const results = await Promise.all(calls);
    assert.equal(results[0].top[0].label, "emulated");
  } finally {
    clock.uninstall();
  }
});

Deno.test("emulated holds follow the spec's distribution (lognormal mean and p99)", async () => {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"], loopLimit: 10_000 });
  try {
    const classifier = createEmulatedClassifier({ spec: "lognormal:45,80" }, { seed: 7 });
    const n = 2000;
    const holdsMs: number[] = [];
    let last = clock.now;
    const all = Array.from({ length: n }, () =>
      classifier.classify().then(() => {
        holdsMs.push(clock.now - last);
        last = clock.now;
      }));
    await clock.runAllAsync();
    await Promise.all(all);
    holdsMs.sort((a, b) => a - b);
    const mean = holdsMs.reduce((s, v) => s + v, 0) / n;
    const p99 = holdsMs[Math.floor(n * 0.99)];
    assert.ok(Math.abs(mean - 45) < 2.5, `mean ${mean.toFixed(1)} ms, want ~45`);
    assert.ok(Math.abs(p99 - 80) < 8, `p99 ${p99} ms, want ~80`);
  } finally {
    clock.uninstall();
  }
});

Deno.test("prepareEmulatedModel() reads a Locust _stats.csv once and says EMULATED", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/run_stats.csv`;
    await Deno.writeTextFile(
      path,
      "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n,Aggregated,100,0,140,150,100,400,10,5,0,140,150,160,170,200,250,300,350,390,400,400\n",
    );
    const prepared = await prepareEmulatedModel(path);
    assert.match(prepared.info.name, /^emulate:.*run_stats\.csv \(EMULATED, no compute: empirical/);
    assert.equal(prepared.info.emulated, true);
    assert.equal(prepared.replicaModel.kind, "emulate");
    // The replica gets the file's text, so it reads no file itself.
    if (prepared.replicaModel.kind === "emulate") {
      assert.match(prepared.replicaModel.source.fileText ?? "", /Aggregated/);
    }
    await assert.rejects(
      () => prepareEmulatedModel(`${dir}/missing_stats.csv`),
      /emulate: cannot read the service-time file .*missing_stats\.csv/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a service with model emulate:SPEC answers through real replicas and says it is emulated", async () => {
  const s = await serve(makeConfig({ num_replicas: 2, user_config: { model: "emulate:fixed:1" } }));
  try {
    const r = await postImage(s.url, TINY_PNG, { accept: "application/json" });
    assert.equal(r.status, 200);
    assert.equal((r.body as { label: string }).label, "emulated");
    const notImage = await postImage(s.url, new TextEncoder().encode("hello"));
    assert.equal(notImage.status, 415, "a body that is not an image is still refused");
    const status = (await readResponse(await fetch(`${s.url}/api/status`))).body as ServeStatusJson;
    assert.equal(status.model.emulated, true);
    assert.equal(status.model.backend, "emulate");
    assert.match(status.model.name, /^emulate:fixed:1 \(EMULATED, no compute: fixed 1 ms/);
    assert.equal(status.applications.default.deployments.Model.replica_states.RUNNING, 2);
  } finally {
    await s.shutdown();
  }
});
