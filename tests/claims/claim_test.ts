import assert from "node:assert/strict";
import { claim, ClaimError, claims } from "../../lib/claims/mod.ts";

Deno.test("claim() renders a claim that its data supports", () => {
  const md = claim("p99 falls", 431 < 812, "812 ms -> 431 ms");
  assert.equal(md, "✔ **p99 falls** — 812 ms -> 431 ms");
});

Deno.test("claim() throws when the data contradicts the claim", () => {
  assert.throws(() => claim("p99 falls", 900 < 812, "812 ms -> 900 ms"), (e: unknown) => {
    assert.ok(e instanceof ClaimError);
    assert.equal(e.claimName, "p99 falls");
    assert.match(e.message, /812 ms -> 900 ms/);
    return true;
  });
});

Deno.test("claims() names every contradicted claim", () => {
  assert.throws(
    () =>
      claims([
        { name: "a holds", holds: true, evidence: "1" },
        { name: "b holds", holds: false, evidence: "2" },
        { name: "c holds", holds: false, evidence: "3" },
      ]),
    /b holds; c holds/,
  );
  assert.equal(claims([{ name: "a", holds: true, evidence: "1" }]), "- ✔ **a** — 1");
});
