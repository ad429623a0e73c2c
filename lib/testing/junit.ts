/**
 * Reading Deno's JUnit report: counts of passed, failed and skipped test cases.
 *
 * @module
 */

/** Counts of test outcomes in one JUnit report. */
export interface JunitCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts `<testcase>` elements in a JUnit XML report by outcome (failure/error = failed). */
export function countJunitResults(xml: string): JunitCounts {
  const counts: JunitCounts = { passed: 0, failed: 0, skipped: 0 };
  const testcase = /<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(testcase)) {
    const body = match[2] ?? "";
    if (/<(failure|error)\b/.test(body)) counts.failed++;
    else if (/<skipped\b/.test(body)) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}
