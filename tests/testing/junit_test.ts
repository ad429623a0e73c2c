import { deepStrictEqual } from "node:assert/strict";
import { countJunitResults } from "../../lib/testing/mod.ts";

Deno.test("countJunitResults() counts passed, failed and skipped cases", () => {
  const xml = `<?xml version="1.0"?><testsuites><testsuite name="a">
    <testcase name="ok" time="0.1"></testcase>
    <testcase name="ok2"/>
    <testcase name="bad"><failure message="x">boom</failure></testcase>
    <testcase name="skip"><skipped/></testcase>
  </testsuite></testsuites>`;
  deepStrictEqual(countJunitResults(xml), { passed: 2, failed: 1, skipped: 1 });
});
