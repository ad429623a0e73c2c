/**
 * Test-suite plumbing shared by the test runner script.
 *
 * @module
 */
export { countJunitResults, type JunitCounts } from "./junit.ts";
