/**
 * `deno task visualize`: charts and an HTML report from load-test result files.
 *
 * ```sh
 * deno task visualize --stats-history 'results/load_test_*_stats_history.csv' --output-dir plots/
 * ```
 * Accepts globs and several runs (overlaid, to compare configurations); picks up the matching
 * `_replicas.csv`, `_latency.csv`, `_stages.csv` and `_stats.csv` next to each history file. Writes
 * users_over_time, rps_over_time, latency_over_time, replicas_over_time and dashboard as PNG and
 * SVG, plus a self-contained report.html.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  dashboardChart,
  expandGlob,
  latencyChart,
  loadRun,
  missingFontsWarning,
  queueChart,
  replicasChart,
  reportHtml,
  ResultFileError,
  rpsChart,
  type RunData,
  summarizeRun,
  summaryTable,
  usersChart,
  writeChart,
} from "../lib/plot/mod.ts";

const USAGE =
  `Usage: deno task visualize --stats-history <file|glob> [--stats-history ...] [options]

Options:
  --stats-history PATH  Locust-format PREFIX_stats_history.csv (glob allowed, repeatable; positional
                        arguments are taken as more paths)
  --output-dir DIR      where to write the charts and report.html (default plots/)
  --name LABEL          legend label per run, in the order the files are found (repeatable)
  --slo-ms N            p99 objective for SLA compliance and the latency chart (default 500)
  --title TEXT          report and dashboard title
  --scale N             PNG pixels per SVG unit (default 2)
  -h, --help            show this help`;

function fail(message: string): never {
  console.error(`visualize: ${message}`);
  Deno.exit(2);
}

async function main(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        "stats-history": { type: "string", multiple: true },
        "output-dir": { type: "string", default: "plots" },
        name: { type: "string", multiple: true },
        "slo-ms": { type: "string", default: "500" },
        title: { type: "string" },
        scale: { type: "string", default: "2" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const patterns = [...(values["stats-history"] ?? []), ...positionals.filter((p) => p !== "--")];
  if (patterns.length === 0) fail(`no --stats-history given\n\n${USAGE}`);
  const sloMs = Number(values["slo-ms"]);
  if (!(sloMs > 0)) {
    fail(`--slo-ms must be a positive number of milliseconds, got "${values["slo-ms"]}"`);
  }
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 8)) fail(`--scale must be in (0, 8], got "${values.scale}"`);

  const files: string[] = [];
  for (const pattern of patterns) {
    const matches = await expandGlob(pattern);
    if (matches.length === 0) {
      fail(
        `no files match "${pattern}" (expected PREFIX_stats_history.csv files, e.g. from \`deno task loadtest --csv results/load_test\`)`,
      );
    }
    for (const m of matches) if (!files.includes(m)) files.push(m);
  }
  const names = values.name ?? [];
  if (names.length > 0 && names.length !== files.length) {
    fail(
      `got ${names.length} --name labels for ${files.length} runs (${
        files.join(", ")
      }); give one per run or none`,
    );
  }

  const runs: RunData[] = [];
  for (const [i, file] of files.entries()) {
    if (!file.endsWith("_stats_history.csv")) {
      fail(`${file}: expected a Locust-format PREFIX_stats_history.csv file`);
    }
    try {
      const run = await loadRun(file, names[i] ? { name: names[i] } : {});
      runs.push(run);
      const extras = [
        run.replicas ? "replicas" : null,
        run.latency ? "latency" : null,
        run.stagesSource === "file" ? "stages" : null,
      ].filter(Boolean);
      console.error(
        `read ${file}: ${run.history.length} s of history${
          extras.length ? ` + ${extras.join(", ")}` : ""
        }`,
      );
    } catch (error) {
      if (error instanceof ResultFileError) fail(error.message);
      throw error;
    }
  }
  // Two runs with the same label would be indistinguishable in legends.
  const seen = new Map<string, number>();
  for (const run of runs) {
    const n = (seen.get(run.name) ?? 0) + 1;
    seen.set(run.name, n);
    if (n > 1) run.name = `${run.name} (${n})`;
  }

  // The model each run served (from its _summary.json), so an emulated run says so in the report.
  const models = new Set<string>();
  for (const run of runs) {
    const name = run.prefix ? await summaryModelName(`${run.prefix}_summary.json`) : null;
    if (name) models.add(name);
  }
  const modelNote = models.size > 0 ? ` (model: ${[...models].join("; ")})` : "";
  if (models.size > 0) console.error(`model: ${[...models].join("; ")}`);

  const fontWarning = await missingFontsWarning();
  if (fontWarning) console.error(`visualize: warning: ${fontWarning}`);
  const outDir = values["output-dir"] as string;
  await Deno.mkdir(outDir, { recursive: true });
  const charts = [
    { file: "users_over_time", caption: "Users over time", chart: usersChart(runs) },
    { file: "rps_over_time", caption: "Requests and failures per second", chart: rpsChart(runs) },
    {
      file: "latency_over_time",
      caption: "Latency percentiles",
      chart: latencyChart(runs, { sloMs }),
    },
    {
      file: "replicas_over_time",
      caption: "Replicas and scaling decisions",
      chart: replicasChart(runs),
    },
    { file: "queue_over_time", caption: "Ongoing and queued requests", chart: queueChart(runs) },
    {
      file: "dashboard",
      caption: "Dashboard",
      chart: dashboardChart(runs, { sloMs, title: values.title }),
    },
  ];
  for (const [i, c] of charts.entries()) {
    const base = `${outDir.replace(/\/$/, "")}/${c.file}`;
    await writeChart(c.chart, base, { scale });
    console.error(`[${i + 1}/${charts.length + 1}] wrote ${base}.png and .svg`);
  }
  const reportPath = `${outDir.replace(/\/$/, "")}/report.html`;
  await Deno.writeTextFile(
    reportPath,
    reportHtml(runs, {
      title: (values.title ?? "Load test report") + modelNote,
      sloMs,
      charts: charts.filter((c) => c.file !== "dashboard").map(({ caption, chart }) => ({
        caption,
        chart,
      })),
    }),
  );
  console.error(`[${charts.length + 1}/${charts.length + 1}] wrote ${reportPath}`);
  console.log(summaryTable(runs.map((r) => summarizeRun(r, { sloMs }))));
}

/** `model.name` of a loadtest `_summary.json`, or null (no file, older file, no status). */
async function summaryModelName(path: string): Promise<string | null> {
  try {
    const summary = JSON.parse(await Deno.readTextFile(path)) as { model?: { name?: unknown } };
    return typeof summary?.model?.name === "string" ? summary.model.name : null;
  } catch {
    return null;
  }
}

if (import.meta.main) await main(Deno.args);
