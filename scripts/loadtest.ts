/**
 * `deno task loadtest`: the staged load test with Locust-compatible result files.
 * Run with --help for the flags.
 *
 * @module
 */
import {
  constantUsersShape,
  DEFAULT_IMAGE_URI,
  evaluateThresholds,
  failureHint,
  formatSummary,
  formatWaitTime,
  liveReporter,
  type LoadShape,
  loadShape,
  parseDurationS,
  parseThreshold,
  parseWaitTime,
  probeRequest,
  runLoadTest,
  scaleShape,
  THRESHOLDS_FAILED_EXIT_CODE,
} from "../lib/loadgen/mod.ts";
import {
  type Cli,
  cli,
  parseFlags,
  REQUEST_OPTIONS,
  requestFromFlags,
  runMain,
  utcStamp,
} from "./_loadgen_cli.ts";

const HELP = `Usage: deno task loadtest [options]

Runs a load shape against the service and writes Locust's four CSV files (byte-compatible) plus
PREFIX_replicas.csv, PREFIX_latency.csv, PREFIX_stages.csv and PREFIX_summary.json.

Target and load
  --host URL              service base URL (default http://127.0.0.1:8000)
  --shape FILE            load shape YAML (default configs/loadtest/tutorial.yaml)
  -u, --users N           instead of a shape: N users for --run-time (Locust's -u)
  -r, --spawn-rate R      with --users: users started per second (default: all at once)
  --rate R                instead of a shape: open loop, R requests/s for --run-time
  -t, --run-time D        with --users/--rate: duration like 30s, 5m (default 60s)
  --time-scale F          multiply every duration by F (0.1 runs the tutorial in 66 s)
  --wait-time W           constant(S) | between(MIN,MAX) | constant_pacing(S) |
                          constant_throughput(PER_S); default the shape's, else constant(0)
  --max-in-flight N       open loop: iterations in flight before arrivals are dropped (default 1000)
  --timeout S             per-request timeout in seconds (default 60)

Request (default: POST / {"uri": "${DEFAULT_IMAGE_URI}"})
  --uri URI               post {"uri": URI}
  --image PATH            post this image: raw bytes (default) or, with --image-mode data-uri,
                          {"uri": "data:image/...;base64,..."}
  --image-mode MODE       raw | data-uri
  --serve-image PATH      serve PATH on 127.0.0.1 (for offline runs) and post its URL; the service
                          must allow that host: it prints the allowed_image_hosts entry to add
  --serve-image-port N    fixed port for --serve-image (default: ephemeral)
  --path P                request path (default /)

Output
  --csv PREFIX            file prefix (default results/load_test_<UTC timestamp>)
  --csv-full-history      per-entry history rows with ~10 s windowed percentiles (Locust's flag)
  --no-replicas           do not read /api/status
  --threshold EXPR        pass/fail check, repeatable: p99<500, p(99.9)<=800, avg<200, med<100,
                          max<2000, fail_ratio<0.01, rps>=20, failures==0 (latencies in ms)
  --progress-every S      in a pipe, print the live line every S seconds (default 10)
  -h, --help              this text

Exit codes: 0 ok; ${THRESHOLDS_FAILED_EXIT_CODE} a --threshold failed (as k6); 2 bad flags or files; 1 unexpected error.
Request failures alone do not change the exit code (use --threshold "fail_ratio<0.01"). When
(nearly) all requests failed, one more request asks the service why and a hint follows the summary
(e.g. 502 image_fetch_failed: offline, use --image or --serve-image).`;

const loadtestCli: Cli = cli("loadtest");
const fail: Cli["fail"] = loadtestCli.fail;
const num: Cli["num"] = loadtestCli.num;

async function main(): Promise<number> {
  const args = parseFlags(loadtestCli, {
    host: { type: "string", default: "http://127.0.0.1:8000" },
    shape: { type: "string" },
    users: { type: "string", short: "u" },
    "spawn-rate": { type: "string", short: "r" },
    rate: { type: "string" },
    "run-time": { type: "string", short: "t" },
    "time-scale": { type: "string", default: "1" },
    "wait-time": { type: "string" },
    "max-in-flight": { type: "string" },
    timeout: { type: "string", default: "60" },
    ...REQUEST_OPTIONS,
    csv: { type: "string" },
    "csv-full-history": { type: "boolean", default: false },
    "no-replicas": { type: "boolean", default: false },
    threshold: { type: "string", multiple: true, default: [] },
    "progress-every": { type: "string", default: "10" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const timeScale = num("time-scale", args["time-scale"])!;
  if (timeScale <= 0) fail(`--time-scale must be > 0, got ${timeScale}`);
  const thresholds = (args.threshold as string[]).map((t) => {
    try {
      return parseThreshold(t);
    } catch (e) {
      fail((e as Error).message);
    }
  });
  let waitTime = undefined;
  if (args["wait-time"]) {
    try {
      waitTime = parseWaitTime(args["wait-time"]);
    } catch (e) {
      fail((e as Error).message);
    }
  }

  // Shape.
  let shape: LoadShape;
  const picked = [args.shape, args.users, args.rate].filter((x) => x !== undefined).length;
  if (picked > 1) fail("give only one of --shape, --users or --rate");
  const runTimeS = args["run-time"] === undefined ? 60 : parseDurationS(args["run-time"]);
  if (runTimeS === null || runTimeS <= 0) {
    fail(`--run-time must be a duration like 30s, 5m, 1h30m; got "${args["run-time"]}"`);
  }
  if (args.users !== undefined) {
    const users = num("users", args.users, 1)!;
    if (!Number.isInteger(users)) fail(`--users must be a whole number, got ${users}`);
    shape = scaleShape(
      constantUsersShape(users, runTimeS, {
        spawnRate: num("spawn-rate", args["spawn-rate"]) ?? null,
      }),
      timeScale,
    );
  } else if (args.rate !== undefined) {
    const rate = num("rate", args.rate)!;
    shape = scaleShape({
      name: `${rate}/s`,
      description: "",
      executor: "arrival_rate",
      stages: [{
        name: `${rate}/s`,
        startS: 0,
        endS: runTimeS,
        users: 0,
        spawnRate: null,
        spawnBatch: 1,
        rate,
        ramp: "step",
      }],
      waitTime: null,
      startRate: rate,
      maxInFlight: null,
      durationS: runTimeS,
    }, timeScale);
  } else {
    try {
      shape = await loadShape(args.shape ?? "configs/loadtest/tutorial.yaml", { timeScale });
    } catch (e) {
      fail((e as Error).message);
    }
  }

  const { request, imageServer } = await requestFromFlags(loadtestCli, args, {
    checkImageModeAlways: true,
  });

  const prefix = args.csv ?? `results/load_test_${utcStamp()}`;
  const ac = new AbortController();
  const onSigint = () => {
    console.error("\nloadtest: stopping (Ctrl-C again to quit at once)...");
    Deno.removeSignalListener("SIGINT", onSigint);
    ac.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const live = liveReporter({
    isTty: Deno.stderr.isTerminal(),
    pipeEveryS: num("progress-every", args["progress-every"], 1),
  });
  console.error(
    `loadtest: ${shape.name} (${shape.executor === "users" ? "closed loop" : "open loop"}, ` +
      `${shape.durationS} s) against ${args.host}: ${request.describe}` +
      (shape.executor === "users"
        ? `, wait ${formatWaitTime(waitTime ?? shape.waitTime ?? { kind: "constant", seconds: 0 })}`
        : ""),
  );
  let result;
  try {
    result = await runLoadTest({
      host: args.host!,
      shape,
      request,
      waitTime,
      timeoutS: num("timeout", args.timeout)!,
      csvPrefix: prefix,
      fullHistory: args["csv-full-history"],
      replicas: !args["no-replicas"],
      maxInFlight: num("max-in-flight", args["max-in-flight"], 1),
      onSecond: live.onSecond,
      log: (line) => console.error(`loadtest: ${line}`),
      signal: ac.signal,
    });
  } catch (e) {
    live.done();
    if (e instanceof TypeError) fail(e.message);
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    await imageServer?.close();
  }
  live.done();
  const durationS = result.endS - result.startS;
  const checked = evaluateThresholds(thresholds, result.stats, durationS);
  const t = result.stats.total;
  const summary = {
    shape: shape.name,
    executor: shape.executor,
    host: args.host,
    request: request.describe,
    start_s: result.startS,
    end_s: result.endS,
    aborted: result.aborted,
    requests: t.numRequests,
    failures: t.numFailures,
    rps: durationS > 0 ? t.numRequests / durationS : 0,
    latency_ms: Object.fromEntries(
      [50, 90, 95, 99, 99.9, 100].map((p) => [`p${p}`, t.histogram.percentileMs(p)]),
    ),
    mean_ms: t.histogram.meanMs,
    dropped_iterations: result.droppedIterations,
    uncorrected_latency_ms: result.uncorrected
      ? Object.fromEntries([50, 99].map((p) => [`p${p}`, result.uncorrected!.percentileMs(p)]))
      : null,
    thresholds: checked,
    replicas_note: result.replicasNote,
    // The served model as /api/status names it (an emulated run says so), or null.
    model: args["no-replicas"] ? null : await servedModel(args.host!),
    histogram: t.histogram.toJSON(),
  };
  await Deno.writeTextFile(`${prefix}_summary.json`, JSON.stringify(summary, null, 1) + "\n");
  console.log(formatSummary(result, checked));
  // (Nearly) every request failed: ask the service why once, and say what to do about it.
  if (
    t.numRequests > 0 && t.numFailures / t.numRequests >= 0.9 && !args.image &&
    !args["serve-image"]
  ) {
    const hint = failureHint(await probeRequest(args.host!, request));
    if (hint) console.log(`hint: ${hint}`);
  }
  return checked.some((c) => !c.ok) ? THRESHOLDS_FAILED_EXIT_CODE : 0;
}

/** The `model` object of the service's `/api/status` (name, emulated, backend), or null. */
async function servedModel(host: string): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(new URL("/api/status", host), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const model = (await res.json() as { model?: unknown })?.model;
    return model !== null && typeof model === "object" ? model as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

if (import.meta.main) await runMain(loadtestCli, main);
