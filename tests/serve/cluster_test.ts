import assert from "node:assert/strict";
import { Cluster, sessionThreads } from "../../lib/serve/mod.ts";

Deno.test("Cluster accounts fractional CPUs exactly and refuses what does not fit", () => {
  const c = new Cluster(1.5);
  assert.ok(c.tryAllocate(0.5));
  assert.ok(c.tryAllocate(0.5));
  assert.ok(c.tryAllocate(0.5));
  assert.equal(c.cpusUsed, 1.5);
  assert.equal(c.tryAllocate(0.1), false);
  c.free(0.5);
  assert.equal(c.cpusUsed, 1);
  assert.ok(c.tryAllocate(0.3));
  assert.ok(c.tryAllocate(0.2));
  assert.equal(c.fits(0.001), false);
});

Deno.test("Cluster rejects a negative or non-finite CPU count", () => {
  assert.throws(() => new Cluster(-1), /num_cpus must be a number >= 0, got -1/);
  assert.throws(() => new Cluster(NaN), /num_cpus/);
});

Deno.test("sessionThreads() is max(1, floor(num_cpus))", () => {
  assert.deepEqual([0, 0.5, 1, 1.9, 2, 4.5].map(sessionThreads), [1, 1, 1, 1, 2, 4]);
});
