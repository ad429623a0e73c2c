/**
 * `backend: auto` chooses by measurement: fake sessions with fake timings, so the choice, the
 * cache and the fallbacks are checked without a GPU.
 */
import assert from "node:assert/strict";
import {
  type BackendTiming,
  chooseByMeasurement,
  type ConcreteBackend,
  pickFastest,
} from "../../lib/model/mod.ts";

/** Fake sessions: `ms[backend]` is each run's time; a missing backend fails to open. */
function fakes(ms: Partial<Record<ConcreteBackend, number>>) {
  const opened: ConcreteBackend[] = [];
  const timed: ConcreteBackend[] = [];
  const released: ConcreteBackend[] = [];
  return {
    opened,
    timed,
    released,
    open: (b: ConcreteBackend) => {
      opened.push(b);
      return ms[b] === undefined
        ? Promise.reject(new Error(`backend "${b}" cannot load`))
        : Promise.resolve(b);
    },
    time: (b: ConcreteBackend, batch: number) => {
      timed.push(b);
      return Promise.resolve([ms[b]! * 1.1, ms[b]!, ms[b]! * 0.9].map((x) => x * batch));
    },
    release: (b: ConcreteBackend) => {
      released.push(b);
      return Promise.resolve();
    },
  };
}

Deno.test("auto picks the backend with the most images/s and releases the others", async () => {
  const f = fakes({ native: 10, wasm: 80, webgpu: 4 });
  const lines: string[] = [];
  const { choice, session } = await chooseByMeasurement(["native", "wasm", "webgpu"], {
    ...f,
    batch: 8,
    log: (l) => lines.push(l),
  });
  assert.equal(choice.backend, "webgpu");
  assert.equal(session, "webgpu");
  assert.equal(choice.source, "measured");
  assert.deepEqual(f.released.sort(), ["native", "wasm"]);
  const webgpu = choice.timings.find((t) => t.backend === "webgpu")!;
  assert.equal(webgpu.p50Ms, 32); // 4 ms per image x batch 8
  assert.equal(webgpu.imagesPerS, 250);
  assert.match(lines.join("\n"), /^auto: webgpu \(fastest measured: webgpu 250 img\/s/m);
});

Deno.test("a GPU slower than the CPU loses: native wins over a slow webgpu", async () => {
  const f = fakes({ native: 10, wasm: 80, webgpu: 50 });
  const { choice } = await chooseByMeasurement(["native", "wasm", "webgpu"], { ...f, batch: 1 });
  assert.equal(choice.backend, "native");
  assert.match(choice.reason, /native 100 img\/s .* > webgpu 20\.0 img\/s .* > wasm 12\.5 img\/s/);
});

Deno.test("a backend that cannot open is skipped and reported; the rest are compared", async () => {
  const f = fakes({ wasm: 80 });
  const { choice } = await chooseByMeasurement(["native", "wasm"], { ...f, batch: 1 });
  assert.equal(choice.backend, "wasm");
  const native = choice.timings.find((t) => t.backend === "native")!;
  assert.equal(native.imagesPerS, null);
  assert.match(native.error!, /cannot load/);
});

Deno.test("when no backend opens, the first error is thrown", async () => {
  const f = fakes({});
  await assert.rejects(
    chooseByMeasurement(["native", "wasm"], { ...f, batch: 1 }),
    /backend "native" cannot load/,
  );
});

Deno.test("a software (fallback) adapter is never picked, even when timed fastest", () => {
  const t = (backend: ConcreteBackend, imagesPerS: number, fallback = false): BackendTiming => ({
    backend,
    batch: 1,
    p50Ms: 1000 / imagesPerS,
    imagesPerS,
    runs: 3,
    fallback,
  });
  assert.equal(pickFastest([t("native", 20), t("webgpu", 500, true)])!.backend, "native");
  assert.equal(pickFastest([t("webgpu", 500, true)]), null);
});

Deno.test("the choice is cached: the next start opens only the cached backend, without timing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "backend_choice_test_" });
  try {
    const cacheFile = `${dir}/sub/choice.json`;
    const first = fakes({ native: 10, wasm: 80 });
    const a = await chooseByMeasurement(["native", "wasm"], { ...first, batch: 4, cacheFile });
    assert.equal(a.choice.source, "measured");
    assert.deepEqual(first.timed, ["native", "wasm"]);

    const second = fakes({ native: 10, wasm: 80 });
    const lines: string[] = [];
    const b = await chooseByMeasurement(["native", "wasm"], {
      ...second,
      batch: 4,
      cacheFile,
      log: (l) => lines.push(l),
    });
    assert.equal(b.choice.backend, "native");
    assert.equal(b.choice.source, "cache");
    assert.deepEqual(second.opened, ["native"]);
    assert.deepEqual(second.timed, []);
    assert.match(lines[0], /^auto: native \(cached measurement: native 100 img\/s/);

    // A cache made for another batch is measured again.
    const third = fakes({ native: 10, wasm: 80 });
    await chooseByMeasurement(["native", "wasm"], { ...third, batch: 8, cacheFile });
    assert.deepEqual(third.timed, ["native", "wasm"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt cache file is ignored and measured again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "backend_choice_test_" });
  try {
    const cacheFile = `${dir}/choice.json`;
    await Deno.writeTextFile(cacheFile, "{not json");
    const f = fakes({ native: 10, wasm: 80 });
    const { choice } = await chooseByMeasurement(["native", "wasm"], { ...f, batch: 1, cacheFile });
    assert.equal(choice.source, "measured");
    assert.equal(JSON.parse(await Deno.readTextFile(cacheFile)).backend, "native");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
