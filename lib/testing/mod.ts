/**
 * Test-suite plumbing shared by the test runner script.
 *
 * @module
 */
export { countJunitResults, type JunitCounts, type JunitSummary } from "./junit.ts";
