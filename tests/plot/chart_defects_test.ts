/**
 * The chart defects a reader of the notebooks noticed (issue 12, item 8), each rendered to SVG:
 * legends list only what is drawn, labels stay off the data, a line hidden under another is said,
 * count axes tick at whole numbers, clock-time stories get clock-time axes, long runs summarise.
 */
import assert from "node:assert/strict";
import {
  type ChartElement,
  chartSvg,
  latencyChart,
  lineChart,
  makeRun,
  parseStatsHistory,
  queueChart,
  type ReplicaRow,
  replicasChart,
  type RunData,
  summarizeRun,
  usersChart,
} from "../../lib/plot/mod.ts";

const HEADER =
  "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,99%,100%,Total Request Count,Total Failure Count";

/** A run of `seconds` seconds whose target follows `target(t)`, with per-second latency. */
function run(
  name: string,
  seconds: number,
  options: {
    target?: (t: number) => number;
    pending?: (t: number) => number;
    p99Ms?: number;
  } = {},
): RunData {
  const target = options.target ?? (() => 1);
  const pending = options.pending ?? (() => 0);
  const lines = [HEADER];
  for (let t = 0; t < seconds; t++) {
    lines.push(`${1000 + t},5,,Aggregated,10,0,50,90,120,${t * 10},0`);
  }
  const replicas: ReplicaRow[] = Array.from({ length: seconds }, (_, t) => ({
    timestamp: 1000 + t,
    elapsedS: t,
    target: target(t),
    running: target(t) - pending(t),
    starting: 0,
    pending: pending(t),
    ongoing: 2,
    queued: 0,
  }));
  const latency = Array.from({ length: seconds }, (_, t) => ({
    timestamp: 1000 + t,
    elapsedS: t,
    requests: 10,
    failures: 0,
    p50Ms: 50,
    p90Ms: 80,
    p95Ms: 85,
    p99Ms: t === Math.floor(seconds / 2) ? 2000 : (options.p99Ms ?? 90) + (t % 7),
    maxMs: 120,
  }));
  return makeRun({ name, history: parseStatsHistory(lines.join("\n")), replicas, latency });
}

/** The Plot chart inside a framed chart (the frame holds title, legend and notes). */
function plotArea(chart: ChartElement): ChartElement {
  const inner = chart.querySelectorAll("svg")[0];
  assert.ok(inner, "a framed chart holds the Plot svg");
  return inner;
}

function tickLabels(chart: ChartElement, axis: "x" | "y"): string[] {
  return Array.from(
    plotArea(chart).querySelectorAll(`g[aria-label="${axis}-axis tick label"] text`),
  ).map((t) => (t as ChartElement).textContent ?? "");
}

Deno.test("replicasChart() legend lists only the decision kinds that happened", () => {
  const upOnly = run("up_only", 120, { target: (t) => (t < 30 ? 1 : t < 60 ? 3 : 5) });
  const svg = chartSvg(replicasChart(upOnly));
  assert.match(svg, /upscale decision/);
  assert.doesNotMatch(svg, /downscale decision/, "no downscale happened");
  assert.match(svg, /2 in all, none down/);
  const both = chartSvg(
    replicasChart(run("both", 120, { target: (t) => (t < 60 ? 1 : 3) - (t >= 90 ? 2 : 0) })),
  );
  assert.match(both, /upscale decision/);
  assert.match(both, /downscale decision/);
  const none = chartSvg(replicasChart(run("flat", 60)));
  assert.doesNotMatch(none, /upscale decision|downscale decision/);
});

Deno.test("replicasChart() draws and lists pending only when a replica waited for a CPU", () => {
  const noPending = replicasChart(run("fits", 60, { target: (t) => (t < 30 ? 1 : 3) }));
  assert.doesNotMatch(chartSvg(noPending), /pending \(no free CPU\)/);
  assert.match(chartSvg(noPending), /No replica was pending/);
  const capped = replicasChart(
    run("capped", 60, { target: (t) => (t < 30 ? 1 : 9), pending: (t) => (t < 30 ? 0 : 7) }),
  );
  assert.match(chartSvg(capped), /pending \(no free CPU\)/);
  assert.doesNotMatch(chartSvg(capped), /No replica was pending/);
});

Deno.test("latencyChart() labels the SLO line in the legend, not on top of the series", () => {
  const chart = latencyChart(run("slo", 120), { sloMs: 95 });
  assert.match(chartSvg(chart), /SLO 95 ms/, "the SLO is named");
  const onPlot = Array.from(plotArea(chart).querySelectorAll("text"))
    .map((t) => (t as ChartElement).textContent ?? "");
  assert.ok(!onPlot.some((t) => t.includes("SLO")), `SLO label on the plot: ${onPlot.join("|")}`);
  assert.equal(
    plotArea(chart).querySelectorAll('g[aria-label="rule"] [stroke="#d62728"]').length,
    1,
    "the SLO line is still drawn",
  );
});

Deno.test("lineChart() rulesY labels go to the legend too", () => {
  const rows = Array.from({ length: 20 }, (_, i) => ({ i, v: 100 + i }));
  const chart = lineChart(rows, {
    x: "i",
    series: [{ label: "p99", y: "v" }],
    rulesY: [{ value: 110, label: "SLO 110 ms" }],
  });
  assert.match(chartSvg(chart), /SLO 110 ms/);
  const onPlot = Array.from(plotArea(chart).querySelectorAll("text"))
    .map((t) => (t as ChartElement).textContent ?? "");
  assert.ok(!onPlot.some((t) => t.includes("SLO")), onPlot.join("|"));
});

Deno.test("a run drawn exactly under another is said in the chart", () => {
  const a = run("basic", 120, { target: (t) => (t < 60 ? 1 : 4) });
  const b = run("conservative", 120, { target: (t) => (t < 60 ? 1 : 4) });
  const c = run("aggressive", 120, { target: (t) => (t < 30 ? 1 : 6), p99Ms: 60 });
  for (
    const chart of [latencyChart([a, b, c], { percentiles: ["p99"] }), replicasChart([a, b, c])]
  ) {
    const svg = chartSvg(chart);
    assert.match(svg, /basic is drawn exactly under conservative \(identical values\)/);
    assert.doesNotMatch(svg, /aggressive is drawn exactly under/);
  }
  // Three identical runs: one note naming the two hidden ones (queue and users are the same in all).
  const queue = chartSvg(queueChart([a, b, c]));
  assert.match(
    queue,
    /basic, conservative are drawn exactly under aggressive \(identical values\)/,
  );
  const users = chartSvg(usersChart([a, b, c]));
  assert.match(users, /basic, conservative are drawn exactly under aggressive/);
  const distinct = chartSvg(replicasChart([a, c]));
  assert.doesNotMatch(distinct, /drawn exactly under/);
  const line = lineChart([], {
    x: "t",
    series: [a, b].map((r) => ({
      label: r.name,
      y: "running",
      data: (r.replicas ?? []) as unknown as Record<string, unknown>[],
    })).map((s) => ({ ...s, data: s.data.map((d) => ({ ...d, t: d.elapsedS })) })),
  });
  assert.match(chartSvg(line), /basic is drawn exactly under conservative/);
});

Deno.test("lineChart() xIntegerTicks/yIntegerTicks put ticks only at whole numbers", () => {
  const sweep = [1, 2, 3, 4, 6].map((c) => ({ c, qps: 1.3 * c }));
  const base = { x: "c", series: [{ label: "qps", y: "qps" }] };
  const plain = tickLabels(lineChart(sweep, base), "x");
  assert.ok(plain.some((t) => t.includes(".")), `without the option: ${plain.join(" ")}`);
  const chart = lineChart(sweep, { ...base, xIntegerTicks: true, yIntegerTicks: true });
  const x = tickLabels(chart, "x");
  assert.deepEqual(x, ["1", "2", "3", "4", "5", "6"]);
  const y = tickLabels(chart, "y");
  assert.ok(y.length >= 3 && y.every((t) => /^\d+$/.test(t)), y.join(" "));
  const wide = tickLabels(
    lineChart([1, 64].map((c) => ({ c, qps: c })), { ...base, xIntegerTicks: true }),
    "x",
  );
  assert.ok(wide.length <= 11 && wide.every((t) => /^\d+$/.test(t)), wide.join(" "));
});

Deno.test("lineChart() xScale utc labels the axis in clock time", () => {
  const start = Date.UTC(2026, 0, 5, 7, 30);
  const rows = Array.from(
    { length: 4 * 60 },
    (_, m) => ({ at: new Date(start + m * 60_000), n: m % 9 }),
  );
  const chart = lineChart(rows, {
    x: "at",
    xScale: "utc",
    series: [{ label: "running", y: "n" }],
    rulesX: [{ value: new Date(Date.UTC(2026, 0, 5, 8, 30)), label: "rush 08:30" }],
  });
  const x = tickLabels(chart, "x");
  assert.ok(x.length >= 3 && x.every((t) => /^\d\d:\d\d$/.test(t)), x.join(" "));
  assert.ok(x.includes("08:30") || x.includes("09:00"), x.join(" "));
});

Deno.test("summarizeRun() and the charts handle a 48-hour run (~173,000 seconds) without overflowing", () => {
  const long = run("two_days", 48 * 3600, { target: (t) => 2 + (Math.floor(t / 3600) % 5) });
  const summary = summarizeRun(long, { sloMs: 500 });
  assert.equal(summary.worstSecondP99Ms, 2000);
  assert.equal(summary.peakRunningReplicas, 6);
  assert.equal(summary.maxQueued, 0);
  const latency = chartSvg(latencyChart(long));
  assert.match(latency, /worst second per/);
  assert.match(chartSvg(replicasChart(long)), /Scaling decisions/);
});
