/**
 * `deno task sweep`: tuning step 1, the single-replica sweep. Deploy the service with
 * `configs/single_replica.yaml` first. Run with --help for the flags.
 *
 * @module
 */
import {
  DEFAULT_IMAGE_URI,
  DEFAULT_MAX_FAILURE_RATIO,
  DEFAULT_SWEEP_LEVELS,
  failureHint,
  formatSeconds,
  probeRequest,
  renderSweepCsv,
  runSweep,
  suggestionLine,
  type SweepLevel,
} from "../lib/loadgen/mod.ts";
import { type Cli, cli } from "../lib/cli/mod.ts";
import { REQUEST_OPTIONS, requestFromFlags, utcStamp } from "./_loadgen_cli.ts";

/** Exit status when no level was sustainable, so there is nothing to suggest. */
const NO_SUSTAINABLE_LEVEL_EXIT_CODE = 3;

const HELP = `Usage: deno task sweep [options]

Tuning step 1: against a service deployed with ONE replica (configs/single_replica.yaml), raise
the number of concurrent users (no wait time) level by level until throughput stops rising.
Prints per level QPS, p50/p90/p99, average processing time and queue depth (from /api/status),
then the maximum sustainable QPS and suggested target_ongoing_requests / max_ongoing_requests.
A level where more than --max-failure-ratio of the requests failed is not sustainable; the sweep
stops at a level where more than half failed, and with no sustainable level it suggests nothing.
Writes results/sweep_<UTC timestamp>.csv and .json (or --out PREFIX).

  --host URL            service base URL (default http://127.0.0.1:8000)
  --levels LIST         concurrency levels, comma separated (default ${
  DEFAULT_SWEEP_LEVELS.join(",")
})
  --level-duration S    measured seconds per level (default 20)
  --warmup S            seconds discarded at the start of each level (default 5)
  --tolerance F         a QPS gain below this fraction counts as "not rising" (default 0.05)
  --patience N          stop after N levels in a row without a gain (default 2)
  --max-failure-ratio F a level with more failed requests than this fraction is not sustainable
                        (default ${DEFAULT_MAX_FAILURE_RATIO})
  --timeout S           per-request timeout in seconds (default 60)
  --uri URI | --image PATH [--image-mode raw|data-uri] | --serve-image PATH [--serve-image-port N]
                        the request, as for deno task loadtest (default {"uri": "${DEFAULT_IMAGE_URI}"})
  --path P              request path (default /)
  --out PREFIX          output prefix (default results/sweep_<UTC timestamp>)
  --no-replicas         do not read /api/status
  -h, --help            this text

Exit codes: 0 ok; ${NO_SUSTAINABLE_LEVEL_EXIT_CODE} no level was sustainable (too many requests failed), no suggestion made;
2 bad flags; 1 unexpected error.`;

const sweepCli: Cli = cli("sweep", HELP);
const num: Cli["number"] = sweepCli.number;

const f = (x: number | null, d = 1) => (x === null ? "-" : x.toFixed(d));

function levelLine(l: SweepLevel): string {
  return `${String(l.concurrency).padStart(11)} ${f(l.qps, 1).padStart(9)} ${
    f(l.p50Ms).padStart(9)
  } ` +
    `${f(l.p90Ms).padStart(9)} ${f(l.p99Ms).padStart(9)} ${f(l.avgMs).padStart(9)} ` +
    `${String(l.failures).padStart(8)} ${f(l.queueDepth, 2).padStart(11)}`;
}

async function main(): Promise<number> {
  const args = sweepCli.parse({
    host: { type: "string", default: "http://127.0.0.1:8000" },
    levels: { type: "string" },
    "level-duration": { type: "string", default: "20" },
    warmup: { type: "string", default: "5" },
    tolerance: { type: "string", default: "0.05" },
    patience: { type: "string", default: "2" },
    "max-failure-ratio": { type: "string", default: String(DEFAULT_MAX_FAILURE_RATIO) },
    timeout: { type: "string", default: "60" },
    ...REQUEST_OPTIONS,
    out: { type: "string" },
    "no-replicas": { type: "boolean", default: false },
  }).values;
  let levels = [...DEFAULT_SWEEP_LEVELS];
  if (args.levels) {
    levels = args.levels.split(",").map((x) => num("levels", x, { integer: true, min: 1 })!);
  }
  const { request, imageServer } = await requestFromFlags(sweepCli, args);
  const prefix = args.out ?? `results/sweep_${utcStamp()}`;
  const levelDurationS = num("level-duration", args["level-duration"], { above: 0 })!;
  const warmupS = num("warmup", args.warmup, { min: 0 })!;
  const maxFailureRatio = num("max-failure-ratio", args["max-failure-ratio"], { min: 0, max: 1 })!;
  const ac = new AbortController();
  const onSigint = () => {
    console.error("\nsweep: stopping after this level...");
    ac.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  console.error(
    `sweep: ${args.host}, levels ${levels.join(",")}, ${formatSeconds(warmupS)} warm-up + ${
      formatSeconds(levelDurationS)
    } each; ${request.describe}`,
  );
  console.log(
    `${"concurrency".padStart(11)} ${"QPS".padStart(9)} ${"p50 ms".padStart(9)} ${
      "p90 ms".padStart(9)
    } ` +
      `${"p99 ms".padStart(9)} ${"avg ms".padStart(9)} ${"failures".padStart(8)} ${
        "queue depth".padStart(11)
      }`,
  );
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let result;
  try {
    result = await runSweep({
      host: args.host!,
      request,
      levels,
      levelDurationS,
      warmupS,
      timeoutS: num("timeout", args.timeout, { above: 0 }),
      tolerance: num("tolerance", args.tolerance, { min: 0 }),
      patience: num("patience", args.patience, { integer: true, min: 1 }),
      maxFailureRatio,
      replicas: !args["no-replicas"],
      signal: ac.signal,
      log: (line) => console.error(`sweep: ${line}`),
      onSecond: (c, el, n) => {
        if (tty) {
          Deno.stderr.writeSync(
            enc.encode(
              `\r\x1b[2K  level ${c}: ${Math.floor(el)}/${
                formatSeconds(warmupS + levelDurationS)
              }, ${n} req/s`,
            ),
          );
        }
      },
      onLevel: (l) => {
        if (tty) Deno.stderr.writeSync(enc.encode("\r\x1b[2K"));
        console.log(levelLine(l));
      },
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  const a = result.analysis;
  const stop = result.stoppedByFailures;
  // Why the failures happened: the service's own reason, whatever the request mode (the image
  // server stays up for the probe).
  let hint: string | null = null;
  try {
    if (stop) {
      hint = failureHint(await probeRequest(args.host!, request), {
        mode: args.image ? "image" : args["serve-image"] ? "serve-image" : "uri",
        allowedHost: imageServer?.allowedHost,
      });
    }
  } finally {
    await imageServer?.close();
  }
  const stopLine = stop
    ? `${
      stop.failures === stop.requests
        ? "every request"
        : `${stop.failures} of ${stop.requests} requests`
    } at concurrency ${stop.concurrency} failed` +
      (stop.topError ? `: ${stop.topError}` : "")
    : null;
  console.log("");
  if (a.kneeConcurrency === null) {
    console.log(
      `no sustainable level: ${
        stopLine ?? `every level had more than ${maxFailureRatio * 100}% failed requests`
      }`,
    );
    if (hint) console.log(`hint: ${hint}`);
    console.log("no suggestion made: fix the failures and run the sweep again");
  } else {
    console.log(`max sustainable QPS (one replica): ${f(a.maxSustainableQps, 1)}`);
    if (a.plateauReached) {
      console.log(`throughput stops rising at concurrency ${a.kneeConcurrency}`);
    } else {
      console.log(
        `throughput was still rising at concurrency ${a.kneeConcurrency}, the last sustainable ` +
          (stop
            ? "level; the suggestion below is a lower bound"
            : "level; rerun with higher --levels (the suggestion below is a lower bound)"),
      );
    }
    if (a.latencyKneeConcurrency !== null) {
      console.log(
        `median latency stays within 1.5x of its lowest up to concurrency ${a.latencyKneeConcurrency}`,
      );
    }
    console.log(suggestionLine(a));
  }
  if (a.kneeConcurrency !== null && stopLine) {
    console.log(`note: stopped early: ${stopLine}`);
    if (hint) console.log(`hint: ${hint}`);
  }
  if (a.kneeConcurrency !== null && a.failingLevels.length > 0) {
    console.log(
      `note: not sustainable (more than ${maxFailureRatio * 100}% failed): concurrency ${
        a.failingLevels.join(", ")
      }`,
    );
  }
  if (result.levels.some((l) => l.queueDepth !== null && l.queueDepth > 0.5)) {
    console.log(
      "note: requests queued in the router at some levels: the deployment's max_ongoing_requests " +
        "capped the replica's concurrency there",
    );
  }
  await Deno.mkdir(prefix.replace(/[^/]*$/, "") || ".", { recursive: true });
  await Deno.writeTextFile(`${prefix}.csv`, renderSweepCsv(result.levels));
  await Deno.writeTextFile(
    `${prefix}.json`,
    JSON.stringify(
      {
        host: args.host,
        request: request.describe,
        level_duration_s: levelDurationS,
        warmup_s: warmupS,
        levels: result.levels,
        analysis: result.analysis,
      },
      null,
      1,
    ) + "\n",
  );
  console.log(`files: ${prefix}.csv, ${prefix}.json`);
  return a.kneeConcurrency === null ? NO_SUSTAINABLE_LEVEL_EXIT_CODE : 0;
}

if (import.meta.main) await sweepCli.run(main);
