import { deepStrictEqual } from "node:assert/strict";
import { countJunitResults } from "../../lib/testing/mod.ts";

Deno.test("countJunitResults() counts passed, failed and skipped cases", () => {
  const xml = `<?xml version="1.0"?><testsuites><testsuite name="a">
    <testcase name="ok" time="0.1"></testcase>
    <testcase name="ok2"/>
    <testcase name="bad"><failure message="x">boom</failure></testcase>
    <testcase name="skip"><skipped/></testcase>
  </testsuite></testsuites>`;
  deepStrictEqual(countJunitResults(xml), {
    passed: 2,
    failed: 1,
    skipped: 1,
    steps: { passed: 0, failed: 0, skipped: 0 },
  });
});

Deno.test("countJunitResults() counts steps apart from tests, as Deno reports them", () => {
  // The shape Deno 2.9 writes for two tests with steps, one nested, one failing, one ignored.
  const xml = `<testsuites><testsuite name="./a_test.ts">
    <testcase name="one" classname="./a_test.ts"></testcase>
    <testcase name="a &gt; b" classname="./a_test.ts"></testcase>
    <testcase name="four" classname="./a_test.ts"><failure message="1 test step failed"/></testcase>
    <testcase name="one &gt; s1" classname="./a_test.ts"></testcase>
    <testcase name="one &gt; s1 &gt; inner" classname="./a_test.ts"></testcase>
    <testcase name="one &gt; s2" classname="./a_test.ts"><skipped/></testcase>
    <testcase name="four &gt; f1" classname="./a_test.ts"><failure message="x"/></testcase>
    <testcase name="one &gt; s1" classname="./b_test.ts"></testcase>
  </testsuite></testsuites>`;
  // "a > b" is a test whose name holds " > " (no test "a"); the last case has no parent in its
  // own file, so it is a test too.
  deepStrictEqual(countJunitResults(xml), {
    passed: 3,
    failed: 1,
    skipped: 0,
    steps: { passed: 2, failed: 1, skipped: 1 },
  });
});
