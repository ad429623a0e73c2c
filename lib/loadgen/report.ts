/**
 * Terminal output of a run: the live line (one updating line on a TTY, periodic lines in a
 * pipe) and the final summary table.
 *
 * @module
 */
import type { LoadTestResult, SecondReport } from "./runner.ts";
import type { ThresholdResult } from "./thresholds.ts";

function f(ms: number | null, digits = 0): string {
  return ms === null ? "-" : ms.toFixed(digits);
}

/** One live line: time, stage, users, RPS, p50/p99, failures, replicas. */
export function formatLiveLine(r: SecondReport): string {
  const el = `${Math.floor(r.elapsedS)}s/${Math.round(r.durationS)}s`;
  const failPct = r.totalRequests ? (100 * r.totalFailures / r.totalRequests).toFixed(2) : "0.00";
  const rep = r.replicas
    ? ` | replicas ${r.replicas.runningReplicas}/${r.replicas.targetReplicas} ongoing ${r.replicas.ongoingRequests} queued ${r.replicas.queuedRequests}`
    : "";
  const drop = r.dropped ? ` | dropped ${r.dropped}` : "";
  return `[${el.padStart(11)}] ${r.stage.padEnd(10).slice(0, 10)} | users ${
    String(r.users).padStart(4)
  }` +
    ` | rps ${String(r.requests).padStart(6)} | p50 ${f(r.p50Ms).padStart(5)} ms p99 ${
      f(r.p99Ms).padStart(5)
    } ms` +
    ` | fails ${r.totalFailures} (${failPct}%)${drop}${rep}`;
}

/** Writes live lines: in place on a TTY, else one every `pipeEveryS` seconds. */
export function liveReporter(
  options: { isTty: boolean; pipeEveryS?: number; write?: (text: string) => void },
): { onSecond: (r: SecondReport) => void; done: () => void } {
  const write = options.write ??
    ((t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t)));
  const every = options.pipeEveryS ?? 10;
  let lastPrinted = -Infinity;
  let drawn = false;
  return {
    onSecond(r) {
      const line = formatLiveLine(r);
      if (options.isTty) {
        write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (r.elapsedS - lastPrinted >= every - 0.5) {
        write(line + "\n");
        lastPrinted = r.elapsedS;
      }
    },
    done() {
      if (drawn) write("\n");
    },
  };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The final summary: Locust-style request table, HDR percentiles, errors, thresholds, files. */
export function formatSummary(result: LoadTestResult, thresholds: ThresholdResult[] = []): string {
  const out: string[] = [];
  const { stats } = result;
  const durationS = result.endS - result.startS;
  const entries = [...stats.sortedEntries(), stats.total];
  out.push(
    `${pad("Type", 6)} ${pad("Name", 24)} ${pad("# reqs", 9, true)} ${pad("# fails", 16, true)} |` +
      ` ${pad("Avg", 8, true)} ${pad("Min", 8, true)} ${pad("Max", 8, true)} ${
        pad("Med", 8, true)
      } |` +
      ` ${pad("req/s", 8, true)} ${pad("failures/s", 10, true)}`,
  );
  out.push("-".repeat(out[0].length));
  for (const e of entries) {
    const fails = `${e.numFailures}(${(e.failRatio * 100).toFixed(2)}%)`;
    const h = e.histogram;
    out.push(
      `${pad(e.method, 6)} ${pad(e.name, 24)} ${pad(String(e.numRequests), 9, true)} ${
        pad(fails, 16, true)
      } |` +
        ` ${pad(f(h.meanMs, 1), 8, true)} ${pad(f(h.minMs, 1), 8, true)} ${
          pad(f(h.maxMs, 1), 8, true)
        }` +
        ` ${pad(f(h.percentileMs(50), 1), 8, true)} |` +
        ` ${pad((durationS > 0 ? e.numRequests / durationS : 0).toFixed(2), 8, true)}` +
        ` ${pad((durationS > 0 ? e.numFailures / durationS : 0).toFixed(2), 10, true)}`,
    );
  }
  out.push("");
  const ps = [50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100];
  out.push(
    "Response time percentiles (ms, exact to 3 significant digits; Locust's 2-digit buckets are in _stats.csv)",
  );
  out.push(
    `${pad("Type", 6)} ${pad("Name", 24)} ` + ps.map((p) => pad(`${p}%`, 8, true)).join(" ") +
      ` ${pad("# reqs", 9, true)}`,
  );
  for (const e of entries) {
    out.push(
      `${pad(e.method, 6)} ${pad(e.name, 24)} ` +
        ps.map((p) => pad(f(e.histogram.percentileMs(p), 1), 8, true)).join(" ") +
        ` ${pad(String(e.numRequests), 9, true)}`,
    );
  }
  if (result.executor === "arrival_rate") {
    out.push("");
    out.push(
      `Open loop: latency timed from each request's intended start; dropped iterations: ${result.droppedIterations}` +
        (result.uncorrected && result.uncorrected.count
          ? `; p99 from the actual send would read ${
            f(result.uncorrected.percentileMs(99), 1)
          } ms ` +
            `(vs ${f(stats.total.histogram.percentileMs(99), 1)} ms)`
          : ""),
    );
  }
  const errors = stats.sortedErrors();
  if (errors.length) {
    out.push("");
    out.push("Error report");
    out.push(`${pad("# occurrences", 14)} Error`);
    for (const e of errors) {
      out.push(`${pad(String(e.occurrences), 14)} ${e.method} ${e.name}: ${e.error}`);
    }
  }
  if (thresholds.length) {
    out.push("");
    out.push("Thresholds");
    for (const t of thresholds) {
      const obs = t.observed === null ? "no data" : Number(t.observed.toPrecision(6)).toString();
      out.push(`  ${t.ok ? "✓" : "✗"} ${t.expression}  (observed ${obs})`);
    }
  }
  if (result.files) {
    out.push("");
    out.push(`Files: ${result.files.stats.replace(/_stats\.csv$/, "_*.csv")}`);
  }
  if (result.replicasNote) out.push(`Note: ${result.replicasNote}`);
  return out.join("\n");
}
