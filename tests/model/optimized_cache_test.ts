import assert from "node:assert/strict";
import { createClassifier, sha256Hex } from "../../lib/model/mod.ts";
import { channelMeanNhwc } from "./_tiny_models.ts";

// The native optimized-model cache on a tiny model (sessions in milliseconds); the ResNet-50
// parity check (cached graph vs normal session, logits within 1e-4) is in resnet50_test.ts.

const model = channelMeanNhwc(32);
const key = sha256Hex(model);
const redish = new Float32Array(3 * 32 * 32).map((_, i) => (i % 3 === 0 ? 1 : -0.5));

async function onnxFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch {
    // absent
  }
  return names.sort();
}

Deno.test("with a cacheKey the native backend saves the optimized graph once, then loads it (same scores)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "autoscale_lab_optimized_" });
  try {
    const first = await createClassifier(model, {
      backend: "native",
      threads: 1,
      warmup: false,
      cacheKey: key,
      optimizedCacheDir: dir,
    });
    const files = await onnxFiles(dir);
    assert.equal(first.optimizedCache, "written");
    assert.equal(files.length, 1, `one cached file, no temporaries left: ${files}`);
    assert.match(files[0], /^[0-9a-f]{32}\.onnx$/);
    const second = await createClassifier(model, {
      backend: "native",
      threads: 1,
      warmup: false,
      cacheKey: key,
      optimizedCacheDir: dir,
    });
    try {
      assert.equal(second.optimizedCache, "hit");
      assert.deepEqual(await onnxFiles(dir), files);
      const a = await first.logits(redish);
      const b = await second.logits(redish);
      assert.deepEqual([...b], [...a]);
    } finally {
      await first.close();
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt cached optimized graph is deleted, logged once, and the model optimized again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "autoscale_lab_optimized_" });
  try {
    const opts = { backend: "native", threads: 1, warmup: false, cacheKey: key } as const;
    await (await createClassifier(model, { ...opts, optimizedCacheDir: dir })).close();
    const [name] = await onnxFiles(dir);
    await Deno.writeFile(`${dir}/${name}`, new TextEncoder().encode("not a model"));
    const logs: string[] = [];
    const again = await createClassifier(model, {
      ...opts,
      optimizedCacheDir: dir,
      log: (l) => logs.push(l),
    });
    try {
      assert.equal(again.optimizedCache, "written");
      assert.equal(
        logs.filter((l) => l.includes("could not be loaded")).length,
        1,
        logs.join("\n"),
      );
      assert.ok(logs[0].includes(name), logs[0]);
    } finally {
      await again.close();
    }
    // The rewritten file is good again.
    const third = await createClassifier(model, { ...opts, optimizedCacheDir: dir });
    assert.equal(third.optimizedCache, "hit");
    await third.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a cacheKey nothing is cached; an unusable cache folder means a plain session", async () => {
  const dir = await Deno.makeTempDir({ prefix: "autoscale_lab_optimized_" });
  try {
    const plain = await createClassifier(model, {
      backend: "native",
      threads: 1,
      warmup: false,
      optimizedCacheDir: `${dir}/optimized`,
    });
    assert.equal(plain.optimizedCache, "off");
    await plain.close();
    assert.deepEqual(await onnxFiles(dir), []);

    // A folder below a regular file cannot be created.
    await Deno.writeTextFile(`${dir}/file`, "x");
    const logs: string[] = [];
    const noDir = await createClassifier(model, {
      backend: "native",
      threads: 1,
      warmup: false,
      cacheKey: key,
      optimizedCacheDir: `${dir}/file/optimized`,
      log: (l) => logs.push(l),
    });
    try {
      assert.equal(noDir.optimizedCache, "off");
      assert.ok(logs.some((l) => l.includes(`cannot use ${dir}/file/optimized`)), logs.join("\n"));
      assert.equal((await noDir.logits(redish)).length, 3);
    } finally {
      await noDir.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
