import assert from "node:assert/strict";
import { DeploymentSeriesStore } from "../../lib/dashboard/series.ts";
import { deploymentsOf } from "../../lib/dashboard/shaping.ts";
import { twoAppStatus } from "./_fixtures.ts";

const refs = (...apps: string[]) =>
  deploymentsOf(twoAppStatus(Object.fromEntries(apps.map((a) => [a, { running: 1 }]))));

Deno.test("DeploymentSeriesStore keeps at most maxSeries, dropping the longest-removed first", () => {
  const store = new DeploymentSeriesStore({ capacity: 10, historyMs: 60_000, maxSeries: 3 });
  store.record(1000, refs("a", "b", "c"));
  store.record(2000, refs("a", "c")); // b removed at 2000
  store.record(3000, refs("a")); // c removed at 3000
  assert.deepEqual(store.keys(), ["a/Model", "b/Model", "c/Model"], "within the cap: all kept");
  store.record(4000, refs("a", "d")); // 4 series > 3: b (removed first) goes
  assert.deepEqual(store.keys(), ["a/Model", "c/Model", "d/Model"]);
  store.record(5000, refs("a", "d", "e", "f")); // present ones are never dropped
  assert.deepEqual(store.keys(), ["a/Model", "d/Model", "e/Model", "f/Model"]);
});

Deno.test("DeploymentSeriesStore says which option is wrong", () => {
  assert.throws(
    () => new DeploymentSeriesStore({ capacity: 0, historyMs: 1000 }),
    /series capacity must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => new DeploymentSeriesStore({ capacity: 5, historyMs: 0 }),
    /historyMs must be > 0, got 0/,
  );
  assert.throws(
    () => new DeploymentSeriesStore({ capacity: 5, historyMs: 1000, maxSeries: 1.5 }),
    /maxSeries must be an integer >= 1, got 1.5/,
  );
});
