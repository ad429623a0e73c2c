/**
 * Runs the whole test suite with `deno test` and ends with the plain line
 * `N passed, N failed, N skipped` that CI reads (Deno's own summary has another shape). It counts
 * tests, as Deno's summary does; steps (`t.step`) are counted on a line of their own before it.
 *
 * Usage: `deno task test [-- extra deno test args, e.g. tests/config/]`
 *
 * @module
 */
import { countJunitResults, type JunitSummary } from "../lib/testing/mod.ts";

const junitPath = "results/test_junit.xml";
const extraArgs = Deno.args.filter((arg) => arg !== "--");
if (extraArgs.includes("--help") || extraArgs.includes("-h")) {
  console.log(`usage: deno task test [deno test flags] [tests/<area>/ ...]

Runs the test suite (default: everything under tests/) with every permission, writes a JUnit
report to ${junitPath}, and ends with the line "N passed, N failed, N skipped" that CI reads: it
counts tests; their steps (t.step) are counted on the line before it.
Examples:
  deno task test                      # the whole suite
  deno task test tests/autoscaler/    # one area
  deno task test --filter policy      # tests whose name matches`);
  Deno.exit(0);
}
const targets = extraArgs.some((arg) => !arg.startsWith("-")) ? [] : ["tests/"];

await Deno.mkdir("results", { recursive: true });
// A stale report from an earlier run must never be counted as this run's.
await Deno.remove(junitPath).catch(() => {});
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "--allow-all", `--junit-path=${junitPath}`, ...extraArgs, ...targets],
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
const { code } = await child.status;

let summary: JunitSummary = {
  passed: 0,
  failed: 0,
  skipped: 0,
  steps: { passed: 0, failed: 0, skipped: 0 },
};
try {
  summary = countJunitResults(await Deno.readTextFile(junitPath));
} catch (error) {
  console.error(`could not read ${junitPath}: ${(error as Error).message}`);
}
// A run that failed before any test reported (type error, crash) still counts as a failure.
if (code !== 0 && summary.failed === 0) summary.failed = 1;
const { steps } = summary;
if (steps.passed + steps.failed + steps.skipped > 0) {
  // Steps are counted apart: the closing line below counts tests only, as Deno's "N passed" does.
  console.log(
    `steps (t.step, inside those tests): ${steps.passed} passed, ${steps.failed} failed, ` +
      `${steps.skipped} skipped`,
  );
}
// CI reads this line: it stays the last one, in exactly this format, and counts tests.
console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
Deno.exit(code);
