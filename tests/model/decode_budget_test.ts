import assert from "node:assert/strict";
import { DecodeBudget } from "../../lib/model/_decode_budget.ts";

/** A decode that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => open = r);
  return { open, opened };
}

Deno.test("decodes over the pixel budget wait their turn; small ones run side by side", async () => {
  const budget = new DecodeBudget();
  const running: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const decode = (name: string, pixels: number) => {
    const g = gate();
    gates.set(name, g);
    return budget.run(pixels, 100, async () => {
      running.push(name);
      await g.opened;
      running.splice(running.indexOf(name), 1);
      return name;
    });
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const a = decode("big-a", 90);
  const b = decode("big-b", 90);
  const c = decode("huge", 10_000); // capped at the budget: runs alone
  await tick();
  assert.deepEqual(running, ["big-a"]);
  assert.equal(budget.inUse, 90);
  gates.get("big-a")!.open();
  assert.equal(await a, "big-a");
  await tick();
  assert.deepEqual(running, ["big-b"]);
  gates.get("big-b")!.open();
  await b;
  await tick();
  assert.deepEqual(running, ["huge"]);
  assert.equal(budget.inUse, 100);
  gates.get("huge")!.open();
  await c;
  assert.equal(budget.inUse, 0);

  const small = [decode("s1", 30), decode("s2", 30), decode("s3", 30)];
  await tick();
  assert.deepEqual(running, ["s1", "s2", "s3"]);
  for (const name of ["s1", "s2", "s3"]) gates.get(name)!.open();
  assert.deepEqual(await Promise.all(small), ["s1", "s2", "s3"]);
  assert.equal(budget.inUse, 0);
});
