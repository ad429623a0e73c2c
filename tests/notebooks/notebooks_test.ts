/**
 * Executes every notebook, built from its source in notebooks/_src, headlessly in quick mode
 * (AUTOSCALE_LAB_QUICK=1) with `jupyter nbconvert --execute` on the project-local Deno kernel, and
 * fails if any cell fails — including a checked claim (lib/claims) that its data contradicts.
 * Skips, saying why, when jupyter-nbconvert is not installed (CI installs it).
 */
import assert from "node:assert/strict";
import {
  buildScratchNotebook,
  executeNotebook,
  KERNEL_NAME,
  sources,
} from "../../notebooks/_build.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const NOTEBOOKS = `${REPO}notebooks/`;

async function hasNbconvert(): Promise<boolean> {
  try {
    const out = await new Deno.Command("jupyter", {
      args: ["nbconvert", "--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const notebooks: string[] = [];
for await (const e of Deno.readDir(NOTEBOOKS)) {
  if (e.isFile && /^\d\d_.*\.ipynb$/.test(e.name)) notebooks.push(e.name);
}
notebooks.sort();
const nbconvert = await hasNbconvert();
if (!nbconvert) {
  console.warn(
    "tests/notebooks: skipping notebook execution: `jupyter nbconvert` not found " +
      "(apt-get install -y --no-install-recommends jupyter-nbconvert)",
  );
}

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
interface NotebookJson {
  metadata: { kernelspec?: { name?: string } };
  cells: { cell_type: string; source: string[] | string; outputs?: Output[] }[];
}

Deno.test("the project-local kernelspec has no absolute paths and sets NO_COLOR", async () => {
  const spec = JSON.parse(await Deno.readTextFile(`${REPO}kernels/${KERNEL_NAME}/kernel.json`));
  assert.equal(spec.argv[0], "deno");
  assert.ok(spec.argv.every((a: string) => !a.startsWith("/")), JSON.stringify(spec.argv));
  assert.equal(spec.env.NO_COLOR, "1");
});

Deno.test("committed notebooks use the local kernel, import only lib/*/mod.ts and carry chart outputs", async () => {
  assert.ok(notebooks.length >= 7, `expected 7 notebooks, found ${notebooks.join(", ")}`);
  for (const name of notebooks) {
    const nb: NotebookJson = JSON.parse(await Deno.readTextFile(`${NOTEBOOKS}${name}`));
    assert.equal(nb.metadata.kernelspec?.name, KERNEL_NAME, name);
    const code = nb.cells.filter((c) => c.cell_type === "code")
      .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source)).join("\n");
    for (const m of code.matchAll(/from\s+"([^"]+)"/g)) {
      assert.match(m[1], /^\.\.\/lib\/[a-z_]+\/mod\.ts$/, `${name} imports ${m[1]}`);
    }
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    assert.ok(!outputs.some((o) => o.output_type === "error"), `${name} has an error output`);
    assert.ok(
      outputs.some((o) => o.data && ("image/svg+xml" in o.data || "image/png" in o.data)),
      `${name} carries no chart output: run \`deno task notebooks\` and commit the result`,
    );
  }
});

// One results folder for the whole run (02-07 read 01's calibration, 04 reads 03's run), away
// from the full run's results/notebooks/.
const resultsDir = await Deno.makeTempDir({ prefix: "nb_results_" });
const sourceNames = await sources();

async function runQuick(
  name: string,
  tag: string,
): Promise<{ code: number; tail: string; nb: NotebookJson | null; s: number }> {
  const input = await buildScratchNotebook(name, tag);
  const dir = await Deno.makeTempDir({ prefix: "nb_" });
  try {
    const t0 = performance.now();
    const { code, stderr } = await executeNotebook(input, {
      quick: true,
      outputDir: dir,
      outputName: name,
      timeoutS: 120,
      env: { AUTOSCALE_LAB_RESULTS_DIR: resultsDir },
      // As `deno task notebooks` runs them: without it, a result the kernel publishes just after
      // 'idle' is dropped, and 07 (one chart, in its last cell) failed 2 of 4 runs at load ~1-2.
      grace: true,
    });
    const s = (performance.now() - t0) / 1000;
    const tail = stderr.split("\n").filter((l) => !/MissingIDField|validate\(nb\)|unstable/.test(l))
      .slice(-30).join("\n");
    let nb: NotebookJson | null = null;
    try {
      nb = JSON.parse(await Deno.readTextFile(`${dir}/${name}.ipynb`));
    } catch { /* no output written */ }
    return { code, tail, nb, s };
  } finally {
    await Deno.remove(input).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

for (const name of sourceNames) {
  Deno.test({
    name: `notebook ${name} runs top to bottom in quick mode, claims checked`,
    ignore: !nbconvert,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const { code, tail, nb, s } = await runQuick(name, "test");
      assert.equal(code, 0, `${name} failed after ${s.toFixed(1)} s:\n${tail}`);
      const outputs = nb!.cells.flatMap((c) => c.outputs ?? []);
      const errors = outputs.filter((o) => o.output_type === "error");
      assert.equal(errors.length, 0, errors.map((e) => `${e.ename}: ${e.evalue}`).join("\n"));
      assert.ok(
        outputs.some((o) => o.data && "image/svg+xml" in o.data),
        `${name}: no inline chart in quick mode`,
      );
      console.log(`${name}: ${s.toFixed(1)} s in quick mode`);
    },
  });
}

Deno.test({
  name: "a notebook whose data contradicts one of its claims fails its run",
  ignore: !nbconvert,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // A real source with one extra cell: a deliberately false claim about the data it computed.
    const name = "99_false_claim";
    const src = `${REPO}notebooks/_src/${name}.md`;
    await Deno.writeTextFile(
      src,
      '# a false claim\n\n```ts\nimport { claim } from "../lib/claims/mod.ts";\n' +
        "const latenciesMs = [120, 180, 300];\n" +
        'claim("latency is flat", latenciesMs[2] <= latenciesMs[0] * 1.1, `p50 ${latenciesMs.join(" -> ")} ms`);\n```\n',
    );
    try {
      const { code, tail } = await runQuick(name, "test");
      assert.notEqual(code, 0, "the run must fail");
      assert.match(tail, /ClaimError|claim contradicted by the data: latency is flat/);
    } finally {
      await Deno.remove(src);
    }
  },
});

Deno.test({
  name: "notebook results folder is removed after the series",
  sanitizeResources: false,
  fn: async () => {
    await Deno.remove(resultsDir, { recursive: true }).catch(() => {});
  },
});
