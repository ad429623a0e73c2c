/**
 * `deno task replay --config <file> --trace <csv> [--input aggregated|instantaneous]
 *   [--startup-s S] [--out <csv>] [--app NAME] [--deployment NAME] [--start ISO-TIME]`
 *
 * Replays a recorded `time_s,total_ongoing_requests` trace through the autoscaler's controller
 * in virtual time and writes `time_s,total_ongoing_requests,running_replicas,desired_replicas,
 * target_replicas,reason` (one row per tick where anything changed, plus the first and last) to
 * `--out` or stdout. Prints the scaling decisions and the elapsed wall time to stderr.
 *
 * @module
 */
import { type Cli, cli } from "../lib/cli/mod.ts";
import { dirname, resolve } from "node:path";
import { ConfigError, formatIssue, loadConfig } from "../lib/config/mod.ts";
import {
  isDefaultPolicyRef,
  loadPolicy,
  parseTrace,
  replayRowsToCsv,
  replayTrace,
} from "../lib/autoscaler/mod.ts";
import type { AutoscalingPolicy, ReplayInput } from "../lib/autoscaler/mod.ts";

const USAGE = `usage: deno task replay --config <file> --trace <csv> [options]

  --config FILE        serve config (Ray Serve field names); its first autoscaling deployment is used
  --trace CSV          columns time_s,total_ongoing_requests (value holds until the next row)
  --input MODE         aggregated (default: the value is the policy input) or instantaneous
                       (the live ongoing count, fed through the metrics pipeline)
  --startup-s S        seconds a new replica takes to become RUNNING (default 0)
  --out CSV            write the rows here instead of stdout
  --app NAME           application to use (default: the first with an autoscaling deployment)
  --deployment NAME    deployment to use
  --start ISO-TIME     clock time of the trace's 0 s (for time-of-day policies; default 1970-01-01T00:00:00Z)
  -h, --help           this text`;

const c: Cli = cli("replay", USAGE);
const fail: Cli["fail"] = c.fail;

async function main(): Promise<void> {
  const { values } = c.parse({
    config: { type: "string" },
    trace: { type: "string" },
    input: { type: "string", default: "aggregated" },
    "startup-s": { type: "string", default: "0" },
    out: { type: "string" },
    app: { type: "string" },
    deployment: { type: "string" },
    start: { type: "string" },
  });
  if (!values.config) c.usageError("--config is required");
  if (!values.trace) c.usageError("--trace is required");
  const input = values.input as ReplayInput;
  if (input !== "aggregated" && input !== "instantaneous") {
    c.usageError(`--input must be "aggregated" or "instantaneous", got "${values.input}"`);
  }
  const startupS = c.durationS("startup-s", values["startup-s"], { min: 0 })!;
  let startMs = 0;
  if (values.start !== undefined) {
    startMs = Date.parse(values.start);
    if (Number.isNaN(startMs)) {
      fail(`--start must be an ISO time such as 2026-01-05T08:00:00Z, got "${values.start}"`);
    }
  }

  let loaded;
  try {
    loaded = await loadConfig(values.config);
  } catch (error) {
    if (error instanceof ConfigError) fail(`invalid config:\n${error.message}`);
    fail((error as Error).message);
  }
  for (const w of loaded.warnings) console.error(`warning: ${formatIssue(w)}`);

  const candidates = loaded.config.applications
    .filter((a) => values.app === undefined || a.name === values.app)
    .flatMap((a) => a.deployments.map((d) => ({ app: a.name, d })))
    .filter(({ d }) => values.deployment === undefined || d.name === values.deployment);
  const chosen = candidates.find(({ d }) => d.autoscaling_config !== null);
  if (chosen === undefined) {
    const what = [
      values.app && `app "${values.app}"`,
      values.deployment && `deployment "${values.deployment}"`,
    ]
      .filter(Boolean).join(", ");
    fail(
      `${values.config}: no deployment${
        what ? ` matching ${what}` : ""
      } has an autoscaling_config; replay needs one`,
    );
  }
  const config = chosen.d.autoscaling_config!;

  let traceText: string;
  try {
    traceText = await Deno.readTextFile(values.trace);
  } catch (error) {
    fail(`cannot read trace ${values.trace}: ${(error as Error).message}`);
  }
  let trace;
  try {
    trace = parseTrace(traceText, { source: values.trace });
  } catch (error) {
    fail((error as Error).message);
  }

  let policy: AutoscalingPolicy | undefined;
  const ref = config.policy?.policy_function;
  if (ref && !isDefaultPolicyRef(ref)) {
    try {
      policy = await loadPolicy(ref, { baseDir: dirname(resolve(values.config)) });
    } catch (error) {
      fail((error as Error).message);
    }
  }

  const t0 = performance.now();
  const result = replayTrace(trace, {
    config,
    input,
    startupS,
    policy,
    startMs,
    maxOngoingRequests: chosen.d.max_ongoing_requests,
    onProgress: (f) => {
      if (trace.at(-1)!.timeS > 6 * 3600) console.error(`replay: ${(f * 100).toFixed(0)} %`);
    },
  });
  const elapsedMs = performance.now() - t0;

  const csv = replayRowsToCsv(result.rows);
  if (values.out) {
    const dir = dirname(values.out);
    if (dir && dir !== ".") await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(values.out, csv);
  } else {
    await Deno.stdout.write(new TextEncoder().encode(csv));
  }
  const spanS = trace.at(-1)!.timeS - trace[0].timeS;
  console.error(
    `replay: ${chosen.app}/${chosen.d.name} (${values.config}), ${input} input, startup ${startupS} s: ` +
      `${
        spanS.toFixed(1)
      } s of trace, ${result.ticks} ticks, ${result.decisions.length} scaling decisions, ` +
      `${result.rows.length} rows${values.out ? ` -> ${values.out}` : ""}; elapsed ${
        elapsedMs.toFixed(0)
      } ms`,
  );
  for (const d of result.decisions) {
    console.error(
      `  t=${d.elapsed_s.toFixed(1).padStart(7)} s  ${String(d.from_replicas).padStart(3)} -> ${
        String(d.to_replicas).padEnd(3)
      } ${d.reason.padEnd(17)} total_ongoing=${d.total_ongoing_requests.toFixed(2)}`,
    );
  }
}

if (import.meta.main) await main();
