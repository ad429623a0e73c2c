/**
 * A self-contained HTML report (inline SVG charts and CSS, no network needed to view it), like
 * Locust's HTML report plus the tutorial's key metrics.
 *
 * @module
 */
import type { ChartElement } from "./_dom.ts";
import type { RunData } from "./read.ts";
import { chartSvg } from "./render.ts";
import { formatNumber } from "../loadgen/mod.ts";
import {
  highErrorNote,
  QUEUE_SAMPLING_NOTE,
  type RunSummary,
  scalingDecisions,
  summarizeRun,
  summaryLabels,
  summaryRows,
} from "./summary.ts";

/** Options of {@link reportHtml}. */
export interface ReportOptions {
  /** Page title (default "Load test report"). */
  title?: string;
  /** p99 objective for SLA compliance, ms (default 500). */
  sloMs?: number;
  /** Charts to embed, in order, with captions (e.g. the visualize command's files). */
  charts?: { caption: string; chart: ChartElement }[];
  /** Time shown as "generated at" (default now). */
  generatedAt?: Date;
  /** Most scaling decisions listed per run (default 200). */
  maxDecisionRows?: number;
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

const CSS = `
body { font-family: system-ui, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1560px;
  padding: 0 16px; color: #222; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f5f7; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; }
.warning { color: #a40000; }
code { background: #f4f5f7; padding: 1px 4px; border-radius: 3px; }
`;

function table(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>` +
    `<tbody>${
      rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("")
    }</tbody></table>`;
}

function sourceList(run: RunData): string {
  const have = [
    "_stats_history.csv",
    run.totals ? "_stats.csv" : null,
    run.replicas ? "_replicas.csv" : null,
    run.latency ? "_latency.csv" : null,
    run.stagesSource === "file" ? "_stages.csv" : null,
  ].filter((x): x is string => x !== null);
  return `${escapeHtml(run.prefix ?? run.name)} (${have.join(", ")})`;
}

/** Builds the report page for one or more runs. */
export function reportHtml(runs: readonly RunData[], options: ReportOptions = {}): string {
  if (runs.length === 0) throw new Error("reportHtml: needs at least one run, got none");
  const title = options.title ?? "Load test report";
  const sloMs = options.sloMs ?? 500;
  const summaries: RunSummary[] = runs.map((r) => summarizeRun(r, { sloMs }));
  const generated = (options.generatedAt ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8">`);
  parts.push(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  parts.push(`<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`);
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(
    `<p class="meta">Generated ${generated} by autoscale-lab · ${runs.length} run${
      runs.length > 1 ? "s" : ""
    }</p>`,
  );
  parts.push(`<ul class="meta">${
    runs.map((r) => {
      const start = new Date(r.startTimestamp * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      return `<li><b>${escapeHtml(r.name)}</b>: ${sourceList(r)}, started ${start}</li>`;
    }).join("")
  }</ul>`);

  parts.push(`<h2>Summary</h2>`);
  const labels = summaryLabels(summaries);
  const rows = labels.map((label, i) => [label, ...summaries.map((s) => summaryRows(s)[i][1])]);
  parts.push(table(["Metric", ...summaries.map((s) => s.name)], rows));
  const flagged = summaries.flatMap((s) => {
    const note = highErrorNote(s);
    return note ? [`<li><b>${escapeHtml(s.name)}</b>: ${escapeHtml(note)}</li>`] : [];
  });
  if (flagged.length > 0) {
    parts.push(
      `<ul class="warning">${
        flagged.join("")
      }</ul><p class="note">Latency and SLA figures of these runs describe failures, not service.</p>`,
    );
  }
  parts.push(
    `<p class="note">Error rate = failures / requests. SLA compliance = share of seconds (with requests) whose p99 was within ${sloMs} ms with at most 1 % of their requests failed: a failed request never meets the SLA. ` +
      `Replica-hours integrate running + starting replicas over time; per 1,000 requests it is the tutorial's cost metric. ` +
      `Scaling events are changes of the target replica count.` +
      (summaries.some((s) => s.maxQueued !== null) ? ` ${escapeHtml(QUEUE_SAMPLING_NOTE)}` : "") +
      `</p>`,
  );

  if (options.charts && options.charts.length > 0) {
    parts.push(`<h2>Charts</h2><div class="charts">`);
    for (const { caption, chart } of options.charts) {
      parts.push(
        `<figure>${chartSvg(chart)}<figcaption>${escapeHtml(caption)}</figcaption></figure>`,
      );
    }
    parts.push(`</div>`);
  }

  parts.push(`<h2>Request statistics</h2>`);
  parts.push(table(
    [
      "Run",
      "# Requests",
      "# Fails",
      "Average (ms)",
      "Median (ms)",
      "95%ile (ms)",
      "99%ile (ms)",
      "Max (ms)",
      "RPS",
    ],
    runs.map((r) => {
      const t = r.totals;
      const n = (v: number | null | undefined, d = 0) =>
        v === null || v === undefined ? "n/a" : v.toFixed(d);
      return t
        ? [
          r.name,
          String(t.requests),
          String(t.failures),
          n(t.averageMs, 1),
          n(t.p50Ms),
          n(t.p95Ms),
          n(t.p99Ms),
          n(t.maxMs, 1),
          n(t.requestsPerS, 2),
        ]
        : [
          r.name,
          String(summaries[runs.indexOf(r)].requests),
          String(summaries[runs.indexOf(r)].failures),
          "n/a",
          "n/a",
          "n/a",
          "n/a",
          "n/a",
          "n/a",
        ];
    }),
  ));

  parts.push(`<h2>Stages</h2>`);
  for (const r of runs) {
    parts.push(
      `<h3>${escapeHtml(r.name)} <span class="meta">(${
        r.stagesSource === "file"
          ? "from _stages.csv"
          : r.stagesSource === "inferred"
          ? "inferred from user-count changes"
          : "none"
      })</span></h3>`,
    );
    parts.push(table(
      ["Stage", "Start (s)", "End (s)", "Users", "Spawn rate"],
      r.stages.map((
        s,
      ) => [
        s.name,
        formatNumber(s.startS, { maxDecimals: 1 }),
        formatNumber(s.endS, { maxDecimals: 1 }),
        String(s.users),
        s.spawnRate === null ? "" : formatNumber(s.spawnRate),
      ]),
    ));
  }

  parts.push(`<h2>Scaling decisions</h2>`);
  const maxRows = options.maxDecisionRows ?? 200;
  for (const r of runs) {
    parts.push(`<h3>${escapeHtml(r.name)}</h3>`);
    if (r.decisions && r.decisions.rows.length > 0) {
      parts.push(
        `<p class="note">From the autoscaler's decisions file ${
          escapeHtml(r.decisions.path)
        } (its rows within this run).</p>`,
      );
      parts.push(table(
        ["Elapsed (s)", "Ongoing", "Queued", "Running", "Desired", "Target", "Reason"],
        r.decisions.rows.slice(0, maxRows).map((d) => [
          formatNumber(d.timestamp - r.startTimestamp, { maxDecimals: 1 }),
          formatNumber(d.totalOngoing, { maxDecimals: 1 }),
          formatNumber(d.queued, { maxDecimals: 1 }),
          String(d.running),
          String(d.desired),
          String(d.target),
          d.reason,
        ]),
      ));
      if (r.decisions.rows.length > maxRows) {
        parts.push(`<p class="note">… ${r.decisions.rows.length - maxRows} more.</p>`);
      }
      continue;
    }
    if (!r.replicas) {
      parts.push(`<p class="note">No _replicas.csv for this run.</p>`);
      continue;
    }
    const decisions = scalingDecisions(r.replicas);
    if (decisions.length === 0) {
      parts.push(`<p class="note">The target replica count never changed.</p>`);
      continue;
    }
    parts.push(table(
      ["Elapsed (s)", "Direction", "From", "To"],
      decisions.slice(0, maxRows).map((
        d,
      ) => [d.elapsedS.toFixed(0), d.direction, String(d.from), String(d.to)]),
    ));
    if (decisions.length > maxRows) {
      parts.push(`<p class="note">… ${decisions.length - maxRows} more.</p>`);
    }
  }
  parts.push(`</body></html>\n`);
  return parts.join("\n");
}
