import assert from "node:assert/strict";
import {
  type ChartElement,
  chartSvg,
  dashboardChart,
  latencyChart,
  loadRun,
  makeRun,
  parseStatsHistory,
  queueChart,
  replicasChart,
  rpsChart,
  runColor,
  scalingDecisions,
  usersChart,
} from "../../lib/plot/mod.ts";

const FIXTURES = new URL("../fixtures/plot/", import.meta.url).pathname;
const ours = await loadRun(`${FIXTURES}ours_extras_stats_history.csv`);
const locust = await loadRun(`${FIXTURES}locust_basic_stats_history.csv`);
const locust212 = await loadRun(`${FIXTURES}locust212_full_history_stats_history.csv`);

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
  assert.match(text, /SLA \(p99 <= 400 ms, <= 1 % failed\)/);
  assert.ok(Number(chart.getAttribute("width")) >= 1000);
});

/** x positions (px) of the rule lines drawn in `color`. */
function boundaryRules(chart: ChartElement, color: string): number[] {
  return marks(chart, "rule")
    .flatMap((g) => Array.from(g.querySelectorAll(`[stroke="${color}"] line`)))
    .map((l) => Number(l.getAttribute("x1")));
}
function stageLabels(chart: ChartElement, color: string): string[] {
  return marks(chart, "text")
    .flatMap((g) => Array.from(g.querySelectorAll(`[fill="${color}"] text`)))
    .map((t) => t.textContent ?? "");
}

Deno.test("overlaid runs with different stages get each run's stage boundaries in its run colour", () => {
  // ours_extras: stages at 10, 30, 45 s (from _stages.csv); locust212: at 1 s, where its users
  // appear, and at 6 s (inferred, where its users line steps).
  for (const chart of [usersChart([ours, locust212]), latencyChart([ours, locust212])]) {
    assert.equal(boundaryRules(chart, runColor(0)).length, 3, "ours_extras: 3 boundaries");
    assert.equal(boundaryRules(chart, runColor(1)).length, 2, "locust212: 2 boundaries");
    assert.equal(boundaryRules(chart, "#9a9a9a").length, 0, "no grey (shared) boundaries");
    assert.deepEqual(stageLabels(chart, runColor(0)), ["1 user", "20 users", "40 users", "1 user"]);
    assert.deepEqual(stageLabels(chart, runColor(1)), ["2 users", "10 users"]);
    const text = chart.textContent ?? "";
    assert.match(text, /each run's stage boundaries in its colour/);
    assert.match(text, /Stage boundaries of locust212_full_history inferred/);
  }
  // Same order reversed: colours follow the runs, not the argument position of the first run.
  const reversed = usersChart([locust212, ours]);
  assert.equal(boundaryRules(reversed, runColor(0)).length, 2);
  assert.equal(boundaryRules(reversed, runColor(1)).length, 3);
});

Deno.test("overlaid runs with the same stages draw the boundaries once, in grey, and say they are shared", () => {
  // locust_basic's inferred stages match ours_extras' _stages.csv (10, 30, 45 s).
  const chart = replicasChart([ours, locust]);
  assert.equal(boundaryRules(chart, "#9a9a9a").length, 3, "one set of boundaries, not two");
  assert.equal(boundaryRules(chart, runColor(0)).length, 0);
  assert.equal(boundaryRules(chart, runColor(1)).length, 0);
  assert.match(chart.textContent ?? "", /stage boundaries, the same for both runs/);
});

Deno.test("chart builders reject an empty run list with a clear message", () => {
  assert.throws(() => usersChart([]), /usersChart: needs at least one run/);
});

Deno.test("stage labels of a short run never overlap: close stages stack on rows of their own", () => {
  // The tutorial shape at --time-scale 0.01: stages of 0.6, 1.2 and 1.8 s in a 6.6 s run, drawn
  // on a 100 s axis (as when overlaid on a longer run): "1 use20 users40 users" before.
  const history = parseStatsHistory(
    [
      "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,99%,100%,Total Request Count,Total Failure Count",
      ...Array.from(
        { length: 7 },
        (_, t) => `${1000 + t},${[1, 20, 40, 40, 20, 1, 1][t]},,Aggregated,1,0,5,9,9,${t},0`,
      ),
    ].join("\n"),
  );
  const run = makeRun({
    name: "short",
    history,
    stages: [[0, 0.6, 1], [0.6, 1.8, 20], [1.8, 3.6, 40], [3.6, 5.4, 20], [5.4, 6.6, 1]].map((
      [startS, endS, users],
    ) => ({ name: `s${startS}`, startS, endS, users, spawnRate: null })),
  });
  const chart = usersChart(run, { xDomainS: [0, 100] });
  // Plot puts a mark's dy on the group and each label's x on its text.
  const nums = (el: ChartElement) =>
    (el.getAttribute("transform") ?? "").match(/-?[\d.]+/g)!.map(Number);
  const labels = marks(chart, "text").flatMap((g) =>
    Array.from(g.querySelectorAll("g[font-size]")).flatMap((group) =>
      Array.from(group.querySelectorAll("text"))
        .filter((t) => /users?$/.test(t.textContent ?? ""))
        .map((t) => ({ text: t.textContent!, x: nums(t)[0], y: nums(group)[1] }))
    )
  );
  assert.equal(labels.length, 5, JSON.stringify(labels));
  for (const a of labels) {
    for (const b of labels) {
      if (a === b || a.y !== b.y) continue;
      const [left, right] = a.x <= b.x ? [a, b] : [b, a];
      assert.ok(
        right.x - left.x >= left.text.length * 9 * 0.6,
        `"${left.text}" at ${left.x} overlaps "${right.text}" at ${right.x} on one row`,
      );
    }
  }
  assert.ok(new Set(labels.map((l) => l.y)).size >= 3, "close labels are stacked");
});
