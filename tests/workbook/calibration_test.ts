/** The series' calibration: spec, SLO rule, round trip, and a clear error without notebook 01. */
import assert from "node:assert/strict";
import {
  buildCalibration,
  calibratedServiceTime,
  readCalibration,
  sloFromServiceP99,
  writeCalibration,
} from "../../lib/workbook/mod.ts";

Deno.test("the calibration's spec and SLO come from the measured service time", async () => {
  const c = buildCalibration({
    model: "resnet50",
    backend: "native",
    quick: false,
    serviceTime: { meanMs: 145.7, p50Ms: 140, p99Ms: 230, samples: 80 },
    modelSamplesMs: [100, 120, 140],
    preprocessSamplesMs: [30, 30, 30],
    maxSustainableQps: 9.5,
  });
  assert.equal(c.serviceTimeSpec, "lognormal:145.7,230.0");
  assert.equal(c.sloMs, 500, "2 x 230 ms, rounded up to 50 ms");
  assert.equal(c.preprocessShare, 0.25);
  const model = calibratedServiceTime(c);
  assert.equal(model.meanMs, 145.7);
  const dir = await Deno.makeTempDir();
  try {
    await writeCalibration(dir, c);
    assert.deepEqual(await readCalibration(dir), c);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(() => readCalibration(`${dir}/gone`), /run notebook 01 first/);
});

Deno.test("a p99 at or below the mean still gives a valid lognormal spec", () => {
  const c = buildCalibration({
    model: "m",
    backend: "native",
    quick: true,
    serviceTime: { meanMs: 100, p50Ms: 100, p99Ms: 100, samples: 3 },
    modelSamplesMs: [90],
    preprocessSamplesMs: [10],
    maxSustainableQps: 10,
  });
  assert.equal(c.serviceTimeSpec, "lognormal:100.0,105.0");
  assert.equal(sloFromServiceP99(10), 50);
  assert.doesNotThrow(() => calibratedServiceTime(c));
});
