import assert from "node:assert/strict";
import {
  type ChartElement,
  chartSvg,
  dashboardChart,
  latencyChart,
  loadRun,
  queueChart,
  replicasChart,
  rpsChart,
  scalingDecisions,
  usersChart,
} from "../../lib/plot/mod.ts";

const FIXTURES = new URL("../fixtures/plot/", import.meta.url).pathname;
const ours = await loadRun(`${FIXTURES}ours_extras_stats_history.csv`);
const locust = await loadRun(`${FIXTURES}locust_basic_stats_history.csv`);

function marks(chart: ChartElement, kind: string): ChartElement[] {
  return Array.from(chart.querySelectorAll(`g[aria-label="${kind}"]`));
}
function paths(chart: ChartElement, kind: string): number {
  return marks(chart, kind).reduce((n, g) => n + g.querySelectorAll("path").length, 0);
}

Deno.test("usersChart() draws the users line, the planned stages and a rule per stage boundary", () => {
  const chart = usersChart(ours);
  assert.equal(chart.localName, "svg");
  assert.equal(paths(chart, "line"), 2, "users + planned stages");
  const rules = marks(chart, "rule");
  assert.equal(rules.length, 1);
  assert.equal(rules[0].querySelectorAll("line").length, 3, "4 stages -> 3 boundaries");
  assert.match(chart.textContent ?? "", /Users over time/);
  assert.match(chart.textContent ?? "", /40 users/);
});

Deno.test("several runs are overlaid with one line per run and a legend naming each", () => {
  const chart = usersChart([ours, locust]);
  assert.equal(paths(chart, "line"), 2);
  const text = chart.textContent ?? "";
  assert.ok(text.includes("ours_extras") && text.includes("locust_basic"));
  const rps = rpsChart([ours, locust]);
  assert.equal(paths(rps, "line"), 4, "requests/s and failures/s per run");
});

Deno.test("latencyChart() draws p50/p90/p99 and the SLO line; a Locust run says its percentiles are cumulative", () => {
  const chart = latencyChart(ours, { sloMs: 500 });
  assert.equal(paths(chart, "line"), 3);
  assert.equal(marks(chart, "rule").length, 2, "stage boundaries + SLO");
  assert.equal(marks(chart, "rule")[1].querySelectorAll("line").length, 1);
  assert.match(chart.textContent ?? "", /SLO 500 ms/);
  assert.match(chart.textContent ?? "", /_latency\.csv/);
  const fromLocust = latencyChart(locust);
  assert.match(fromLocust.textContent ?? "", /cumulative percentiles/);
  assert.match(fromLocust.textContent ?? "", /inferred from user-count changes/);
});

Deno.test("replicasChart() draws target, running and pending and marks every scaling decision", () => {
  const chart = replicasChart(ours);
  const decisions = scalingDecisions(ours.replicas ?? []);
  assert.equal(decisions.length, 3);
  assert.ok(paths(chart, "line") >= 3, "target, running, pending (and starting)");
  const dots = marks(chart, "dot");
  assert.equal(dots.length, 1);
  assert.equal(dots[0].querySelectorAll("circle").length, decisions.length);
  const text = chart.textContent ?? "";
  assert.ok(text.includes("1→4") && text.includes("4→8") && text.includes("8→1"), text);
});

Deno.test("replicasChart() of a run without _replicas.csv says what is missing instead of drawing nothing", () => {
  const chart = replicasChart(locust);
  assert.match(chart.textContent ?? "", /No _replicas\.csv/);
  assert.equal(paths(chart, "line"), 0);
  assert.match(queueChart(locust).textContent ?? "", /No _replicas\.csv/);
});

Deno.test("dashboardChart() holds the four charts and a summary line per run; SVG is standalone", () => {
  const chart = dashboardChart([ours, locust], { sloMs: 400 });
  const svg = chartSvg(chart);
  assert.ok(svg.startsWith("<svg") && svg.includes('xmlns="http://www.w3.org/2000/svg"'));
  const text = chart.textContent ?? "";
  for (
    const t of [
      "Users over time",
      "Requests per second",
      "Latency percentiles",
      "Replicas over time",
    ]
  ) {
    assert.ok(text.includes(t), t);
  }
  assert.match(text, /ours_extras: 1,920 requests/);
  assert.match(text, /SLA \(p99 <= 400 ms\)/);
  assert.ok(Number(chart.getAttribute("width")) >= 1000);
});

Deno.test("chart builders reject an empty run list with a clear message", () => {
  assert.throws(() => usersChart([]), /usersChart: needs at least one run/);
});
