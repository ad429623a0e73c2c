import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url).pathname;
const fixtures = new URL("../../../shared/fixtures/", import.meta.url);
const haveFixtures = await Deno.stat(new URL("dog.jpg", fixtures)).then(() => true, () => false);

async function deno(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repo,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("importing lib/model/mod.ts loads neither onnxruntime nor sharp (no FFI permission needed)", async () => {
  // Native addons need --allow-ffi (sharp also --allow-env): a static import of either would fail
  // under --allow-read alone.
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/noop_path.ts`;
    await Deno.writeTextFile(
      script,
      `import * as m from ${
        JSON.stringify(new URL("../../lib/model/mod.ts", import.meta.url).href)
      };
const labels = m.imagenetLabels();
console.log(labels.length, labels[258], m.detectImageFormat(new Uint8Array([0xff, 0xd8, 0xff])));
`,
    );
    const r = await deno([
      "run",
      "--no-check",
      "--config",
      `${repo}deno.json`,
      "--allow-read",
      script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "1000 Samoyed jpeg");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Whether a Vulkan WebGPU adapter exists with DENO_WEBGPU_BACKEND=vulkan (the setting the test
 * below uses to hide Mesa's GL adapter): where one does, the no-adapter path cannot be reached.
 */
async function haveVulkanAdapter(): Promise<boolean> {
  const r = await deno(
    ["eval", "console.log(Boolean(await navigator.gpu?.requestAdapter()))"],
    { DENO_WEBGPU_BACKEND: "vulkan" },
  );
  return r.stdout.trim() === "true";
}
const vulkanAdapter = haveFixtures && await haveVulkanAdapter();
if (vulkanAdapter) {
  console.warn("ignoring the no-adapter classify test: a Vulkan WebGPU adapter exists here");
}

Deno.test({
  name:
    "deno task classify --backend webgpu without an adapter exits 1 saying which backend to try",
  ignore: !haveFixtures || vulkanAdapter,
  fn: async () => {
    // DENO_WEBGPU_BACKEND=vulkan hides the Mesa GL adapter on machines without a Vulkan driver.
    const r = await deno(
      [
        "run",
        "-A",
        "scripts/classify.ts",
        new URL("dog.jpg", fixtures).pathname,
        "--model",
        new URL("mobilenetv2-12-int8.onnx", fixtures).pathname,
        "--backend",
        "webgpu",
      ],
      { DENO_WEBGPU_BACKEND: "vulkan" },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /backend "webgpu" cannot load: no WebGPU adapter.*try --backend native/);
  },
});
