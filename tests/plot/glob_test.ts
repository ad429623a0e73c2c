import assert from "node:assert/strict";
import { expandGlob, isGlob } from "../../lib/plot/mod.ts";

Deno.test("expandGlob() matches *, ?, [..] and ** and returns sorted paths", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glob_" });
  try {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    for (
      const f of [
        "x_1_stats_history.csv",
        "x_2_stats_history.csv",
        "x_2_stats.csv",
        "a/b/y_stats_history.csv",
      ]
    ) {
      await Deno.writeTextFile(`${dir}/${f}`, "");
    }
    assert.deepEqual(await expandGlob(`${dir}/x_*_stats_history.csv`), [
      `${dir}/x_1_stats_history.csv`,
      `${dir}/x_2_stats_history.csv`,
    ]);
    assert.deepEqual(await expandGlob(`${dir}/x_?_stats.csv`), [`${dir}/x_2_stats.csv`]);
    assert.deepEqual(await expandGlob(`${dir}/x_[1]_*`), [`${dir}/x_1_stats_history.csv`]);
    assert.deepEqual(await expandGlob(`${dir}/**/*_stats_history.csv`), [
      `${dir}/a/b/y_stats_history.csv`,
      `${dir}/x_1_stats_history.csv`,
      `${dir}/x_2_stats_history.csv`,
    ]);
    assert.deepEqual(await expandGlob(`${dir}/none_*`), []);
    assert.deepEqual(await expandGlob("plain/path.csv"), ["plain/path.csv"]);
    assert.equal(isGlob("a*b"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
