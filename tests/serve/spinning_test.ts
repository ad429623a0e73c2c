import assert from "node:assert/strict";
import { intraOpSpinning } from "../../lib/serve/_spinning.ts";

Deno.test("intra-op spinning only for 2+ threads with a core left over and no oversubscription", () => {
  // The build machine: 2 cores. A 2-CPU replica would leave no core for preprocessing.
  assert.equal(intraOpSpinning(2, { clusterCpus: 2, machineCpus: 2 }), false);
  // 2 x 2-CPU replicas on 2 cores (cluster of 4 logical CPUs): oversubscribed.
  assert.equal(intraOpSpinning(2, { clusterCpus: 4, machineCpus: 2 }), false);
  // 1 thread has no intra-op pool to spin.
  assert.equal(intraOpSpinning(1, { clusterCpus: 16, machineCpus: 16 }), false);
  assert.equal(intraOpSpinning(1.5, { clusterCpus: 16, machineCpus: 16 }), false);
  // A 16-core machine: a 2-CPU or 8-CPU replica has cores to itself.
  assert.equal(intraOpSpinning(2, { clusterCpus: 16, machineCpus: 16 }), true);
  assert.equal(intraOpSpinning(8, { clusterCpus: 16, machineCpus: 16 }), true);
  // ... but not one that takes every core.
  assert.equal(intraOpSpinning(16, { clusterCpus: 16, machineCpus: 16 }), false);
});
