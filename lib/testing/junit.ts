/**
 * Reading Deno's JUnit report: counts of passed, failed and skipped tests, and of their steps
 * apart (Deno writes each `t.step` as a `<testcase>` named `test > step`).
 *
 * @module
 */

/** Counts of outcomes in one JUnit report. */
export interface JunitCounts {
  /** Cases that ran and neither failed nor were skipped. */
  passed: number;
  /** Cases with a `<failure>` or `<error>` element. */
  failed: number;
  /** Cases with a `<skipped>` element (ignored tests). */
  skipped: number;
}

/** Counts of tests and, apart, of their steps. */
export interface JunitSummary extends JunitCounts {
  /** The `t.step` cases, counted apart from the tests. */
  steps: JunitCounts;
}

interface Case {
  name: string;
  suite: string;
  outcome: keyof JunitCounts;
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

function attribute(tag: string, name: string): string {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return m ? unescapeXml(m[1]) : "";
}

/**
 * Counts `<testcase>` elements in a JUnit XML report by outcome (failure/error = failed), tests
 * apart from steps. A case is a step when its name is another case's name in the same file
 * followed by ` > `, as Deno names steps (`outer > inner > innermost` nests).
 *
 * ```ts
 * const { passed, steps } = countJunitResults(await Deno.readTextFile("results/test_junit.xml"));
 * ```
 */
export function countJunitResults(xml: string): JunitSummary {
  const cases: Case[] = [];
  const testcase = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(testcase)) {
    const body = match[3] ?? "";
    cases.push({
      name: attribute(match[1], "name"),
      suite: attribute(match[1], "classname"),
      outcome: /<(failure|error)\b/.test(body)
        ? "failed"
        : /<skipped\b/.test(body)
        ? "skipped"
        : "passed",
    });
  }
  const names = new Set(cases.map((c) => `${c.suite}\u0000${c.name}`));
  const isStep = (c: Case): boolean => {
    let at = c.name.lastIndexOf(" > ");
    while (at > 0) {
      if (names.has(`${c.suite}\u0000${c.name.slice(0, at)}`)) return true;
      at = c.name.lastIndexOf(" > ", at - 1);
    }
    return false;
  };
  const summary: JunitSummary = {
    passed: 0,
    failed: 0,
    skipped: 0,
    steps: { passed: 0, failed: 0, skipped: 0 },
  };
  for (const c of cases) {
    if (isStep(c)) summary.steps[c.outcome]++;
    else summary[c.outcome]++;
  }
  return summary;
}
