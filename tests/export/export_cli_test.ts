import assert from "node:assert/strict";
import { stringify } from "yaml";
import { exported, ROOT, schemasPresent } from "./_helpers.ts";

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "scripts/export.ts",
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, out: d.decode(out.stdout) + d.decode(out.stderr) };
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test({
  name:
    "deno task export production.yaml --to rayservice writes a RayService that validates, with the table",
  ignore: !schemasPresent,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const { code, out } = await run([
        "configs/production.yaml",
        "--to",
        "rayservice",
        "--out",
        dir,
      ]);
      assert.equal(code, 0, out);
      assert.match(out, /autoscaling_config\.upscaling_factor\s+1\.2\s+verbatim/);
      assert.match(out, /image-classifier\.rayservice\.yaml: valid \(RayService/);
      assert.ok(await exists(`${dir}/image-classifier.rayservice.yaml`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "--to knative refuses to write what loses production's knobs unless --lossy, then validates",
  ignore: !schemasPresent,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const refused = await run(["configs/production.yaml", "--to", "knative", "--out", dir]);
      assert.equal(refused.code, 1, refused.out);
      assert.match(refused.out, /upscale_delay_s\s+20\s+LOST/);
      assert.match(
        refused.out,
        /not written: knative cannot carry downscaling_factor|not written: knative cannot carry/,
      );
      assert.equal(await exists(`${dir}/image-classifier.knative.yaml`), false);
      const lossy = await run([
        "configs/production.yaml",
        "--to",
        "knative",
        "--out",
        dir,
        "--lossy",
      ]);
      assert.equal(lossy.code, 0, lossy.out);
      assert.match(lossy.out, /valid \(Service;/);
      const keda = await run(["configs/production.yaml", "--to", "keda", "--out", dir, "--lossy"]);
      assert.equal(keda.code, 0, keda.out);
      assert.match(keda.out, /valid \(ScaledObject, Deployment, Service;/);
      assert.match(
        keda.out,
        /upscale_delay_s\s+20\s+approximated\s+scaleUp\.stabilizationWindowSeconds: 20/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--check FILE names each broken field of a hand-written manifest and exits 1",
  ignore: !schemasPresent,
  async fn() {
    const [svc] = await exported("production", "knative");
    const ann = (svc.spec as { template: { metadata: { annotations: Record<string, unknown> } } })
      .template.metadata.annotations;
    ann["autoscaling.knative.dev/max-scale"] = 1;
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    try {
      await Deno.writeTextFile(file, stringify(svc));
      const { code, out } = await run(["--check", file]);
      assert.equal(code, 1, out);
      assert.match(
        out,
        /spec\.template\.metadata\.annotations\["autoscaling\.knative\.dev\/max-scale"\]: must be string/,
      );
      ann["autoscaling.knative.dev/max-scale"] = "50";
      await Deno.writeTextFile(file, stringify(svc));
      const ok = await run(["--check", file]);
      assert.equal(ok.code, 0, ok.out);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("--compare prints the engines table for basic.yaml on the tutorial shape and writes the chart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, out } = await run(["configs/basic.yaml", "--compare", "--out", dir]);
    assert.equal(code, 0, out);
    assert.match(out, /^engine\s+mean replicas/m);
    for (const label of ["ray (Serve)", "knative (KPA)", "keda (HPA)"]) {
      assert.match(out, new RegExp(`^${label.replace(/[()]/g, "\\$&")}\\s`, "m"));
    }
    const svg = await Deno.readTextFile(`${dir}/basic_compare_replicas.svg`);
    assert.match(svg, /^<svg/);
    assert.match(svg, /knative \(KPA\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad target or a missing config is a clear usage error", async () => {
  const bad = await run(["configs/basic.yaml", "--to", "kubernetes"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.out,
    /--to must be one of serve, rayservice, knative, keda, keda-http or all, got "kubernetes"/,
  );
  const missing = await run(["configs/nope.yaml", "--to", "serve"]);
  assert.equal(missing.code, 2);
  assert.match(missing.out, /file not found/);
});
