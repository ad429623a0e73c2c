import assert from "node:assert/strict";
import {
  formatIntRange,
  formatNumber,
  formatRate,
  formatSeconds,
  formatWaitTime,
  parseShape,
  renderStagesCsv,
  scaleShape,
  stageRows,
} from "../../lib/loadgen/mod.ts";

Deno.test("numbers for people: no float noise, no 2-2 ranges", () => {
  assert.equal(formatSeconds(660 * 0.005), "3.3 s");
  assert.equal(formatSeconds(3.3000000000000003), "3.3 s");
  assert.equal(formatSeconds(0.25), "0.25 s");
  assert.equal(formatSeconds(66), "1 min 6 s");
  assert.equal(formatSeconds(660), "11 min");
  assert.equal(formatSeconds(3900), "1 h 5 min");
  assert.equal(formatRate(100 / 3), "33.33/s");
  assert.equal(formatNumber(0.1 + 0.2), "0.3");
  assert.equal(formatNumber(-0.0001), "0");
  assert.equal(formatNumber(100 / 3, { maxDecimals: 3 }), "33.333");
  assert.equal(formatIntRange([2, 2]), "2");
  assert.equal(formatIntRange([10, 12]), "10-12");
});

Deno.test("_stages.csv writes Spawn Rate and boundaries without float noise", () => {
  const shape = scaleShape(
    parseShape("stages:\n  - {duration: 60, users: 20, spawn_rate: 3.3333333333333335}\n"),
    0.1,
  );
  assert.equal(
    renderStagesCsv(stageRows(shape)),
    "Stage,Start (s),End (s),Users,Spawn Rate\nstage 1,0,6,20,33.333\n",
  );
});

Deno.test("wait times print without float noise", () => {
  assert.equal(formatWaitTime({ kind: "constant", seconds: 0.1 * 0.1 }), "constant(0.01)");
  assert.equal(formatWaitTime({ kind: "between", minS: 0.1 + 0.2, maxS: 3 }), "between(0.3, 3)");
});
