import assert from "node:assert/strict";
import { loadShape } from "../../lib/loadgen/mod.ts";
import { compareClaims, compareEngines, formatCompareTable } from "../../lib/export/mod.ts";
import { config, ROOT } from "./_helpers.ts";

Deno.test("docs/beyond_one_machine.md shows what --compare prints for basic.yaml on the tutorial shape", async () => {
  const doc = await Deno.readTextFile(`${ROOT}docs/beyond_one_machine.md`);
  const block = /<!-- compare:basic:begin -->\s*```text\n([\s\S]*?)```\s*<!-- compare:basic:end -->/
    .exec(doc);
  assert.ok(block, "the doc has the compare:basic block");
  const outDir = await Deno.makeTempDir();
  try {
    const shape = await loadShape(`${ROOT}configs/loadtest/tutorial.yaml`);
    const result = await compareEngines(await config("basic"), shape, {
      outDir,
      name: "basic",
      seed: 1,
    });
    const printed = [formatCompareTable(result), "", ...(await compareClaims(result))].join("\n") +
      "\n";
    assert.equal(
      block[1],
      printed,
      "the doc is stale: paste the output of `deno task export configs/basic.yaml --compare`",
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
