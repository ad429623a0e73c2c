/**
 * The dashboard image: users, requests/s, latency and replicas in a 2x2 grid with a summary line
 * per run (runs with a high error rate flagged).
 *
 * @module
 */
import { type AnyElement, asRuns, chartRoot, runColor } from "./_frame.ts";
import { latencyChart, rpsChart, usersChart } from "./load_charts.ts";
import { replicasChart } from "./scaling_charts.ts";
import { type ChartElement, svgEl } from "./_dom.ts";
import type { RunData } from "./read.ts";
import { highErrorNote, type RunSummary, summarizeRun } from "./summary.ts";
/** Options of {@link dashboardChart}. */
export interface DashboardOptions {
  /** Total width in px (default 1500). */
  width?: number;
  /** Title (default "Load test dashboard"). */
  title?: string;
  /** p99 objective for the latency panel and the summary lines, ms (default 500). */
  sloMs?: number;
  /** Draw stage boundaries (default true). */
  stages?: boolean;
}

function summaryLine(s: RunSummary): string {
  const parts = [
    `${s.name}: ${s.requests.toLocaleString("en-US")} requests`,
    `error rate ${(s.errorRate * 100).toFixed(2)} %`,
    s.p99Ms === null ? "p99 n/a" : `p99 ${Math.round(s.p99Ms)} ms`,
    s.slaCompliance === null
      ? "SLA n/a"
      : `SLA (p99 <= ${s.sloMs} ms, <= 1 % failed) ${(s.slaCompliance * 100).toFixed(1)} %`,
  ];
  const note = highErrorNote(s);
  if (note) parts.splice(1, 0, `⚠ ${note}`);
  if (s.scalingEvents !== null) {
    parts.push(
      `${s.scalingEvents} scaling events`,
      `max sampled queue ${s.maxQueued}`,
      `${s.replicaHoursPer1000Requests?.toFixed(4) ?? "n/a"} replica-h / 1k req`,
    );
  }
  return parts.join("  ·  ");
}

/** Users, requests/s, latency and replicas in a 2x2 grid, with one summary line per run. */
export function dashboardChart(
  runs: RunData | readonly RunData[],
  options: DashboardOptions = {},
): ChartElement {
  const list = asRuns(runs, "dashboardChart");
  const width = options.width ?? 1500;
  const pad = 10;
  const cellWidth = Math.floor((width - 3 * pad) / 2);
  const common = { width: cellWidth, height: 260, stages: options.stages ?? true };
  const sloMs = options.sloMs ?? 500;
  const cells = [
    usersChart(list, common),
    rpsChart(list, common),
    latencyChart(list, { ...common, sloMs }),
    replicasChart(list, common),
  ] as AnyElement[];
  const h = (el: AnyElement) => Number(el.getAttribute("height"));
  const top = 36;
  const row1 = Math.max(h(cells[0]), h(cells[1]));
  const row2 = Math.max(h(cells[2]), h(cells[3]));
  const positions = [
    [pad, top],
    [2 * pad + cellWidth, top],
    [pad, top + row1 + pad],
    [2 * pad + cellWidth, top + row1 + pad],
  ];
  const lines = list.map((r) => summaryLine(summarizeRun(r, { sloMs })));
  const height = top + row1 + row2 + 2 * pad + lines.length * 16 + 10;
  const root = chartRoot(width, height);
  const title = svgEl("text", { x: pad, y: 24, "font-size": 18, "font-weight": "bold" });
  title.textContent = options.title ??
    (list.length > 1
      ? `Load test dashboard: ${list.map((r) => r.name).join(" vs ")}`
      : `Load test dashboard: ${list[0].name}`);
  root.appendChild(title);
  cells.forEach((cell, i) => {
    cell.setAttribute("x", String(positions[i][0]));
    cell.setAttribute("y", String(positions[i][1]));
    root.appendChild(cell);
  });
  let y = top + row1 + row2 + 2 * pad;
  lines.forEach((line, i) => {
    y += 16;
    const t = svgEl("text", {
      x: pad,
      y,
      "font-size": 12,
      fill: list.length > 1 ? runColor(i) : "#222",
    });
    t.textContent = line;
    root.appendChild(t);
  });
  return root as ChartElement;
}
