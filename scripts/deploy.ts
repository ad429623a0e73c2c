/**
 * `deno task deploy <config.yaml> [--num-cpus N] [--port P] [--host H] [--model SPEC]
 *  [--decisions-csv PATH]`: validates the config, resolves the model (with progress), and serves
 * it in the foreground like `serve run`, logging replica and status changes. Ctrl-C / SIGTERM
 * stops accepting connections, finishes in-flight requests, drains replicas and exits 0.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, formatIssue, loadConfig, parseModelSpec } from "../lib/config/mod.ts";
import { type LogLevel, prepareModel, startServe } from "../lib/serve/mod.ts";
import { serveDashboardSource, startDashboard } from "../lib/dashboard/mod.ts";

const USAGE = `usage: deno task deploy <config.yaml> [options]

options:
  --num-cpus N          logical CPUs of the cluster (default: this machine's, ${navigator.hardwareConcurrency})
  --port P              overrides http_options.port (0 = any free port)
  --host H              overrides http_options.host
  --model SPEC          overrides user_config.model: resnet50 | noop | noop:<ms> | path/to/model.onnx
                        | emulate:SPEC (no compute; SPEC as simulate --service-time, e.g.
                        emulate:lognormal:45,80)
  --decisions-csv PATH  where the autoscaler writes its decisions (when autoscaling_config is
                        set; default results/<app>_autoscaler.csv)
  --dashboard-port P    live dashboard on http://127.0.0.1:P (default 8265; 0 = any free port)
  --no-dashboard        do not start the dashboard
  -h, --help            this text`;

function ts(): string {
  return new Date().toISOString().replace("T", " ").slice(0, 23);
}
function log(line: string, level: LogLevel = "INFO"): void {
  console.error(`${ts()} ${level} ${line}`);
}
function fail(message: string, code = 2): never {
  console.error(`error: ${message}`);
  Deno.exit(code);
}

let args;
try {
  args = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      "num-cpus": { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      model: { type: "string" },
      "decisions-csv": { type: "string" },
      "dashboard-port": { type: "string" },
      "no-dashboard": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (error) {
  fail(`${(error as Error).message}\n\n${USAGE}`);
}
if (args.values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (args.positionals.length !== 1) fail(`expected exactly one config file\n\n${USAGE}`);
const configPath = args.positionals[0];

function numberFlag(name: string, value: string | undefined, min: number, integer: boolean) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    fail(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got "${value}"`);
  }
  return n;
}
const numCpus = numberFlag("num-cpus", args.values["num-cpus"], 0, false);
const port = numberFlag("port", args.values.port, 0, true);
if (port !== undefined && port > 65535) fail(`--port must be <= 65535, got ${port}`);
const dashboardPort = numberFlag("dashboard-port", args.values["dashboard-port"], 0, true) ?? 8265;
if (dashboardPort > 65535) fail(`--dashboard-port must be <= 65535, got ${dashboardPort}`);

let loaded;
try {
  loaded = await loadConfig(configPath);
} catch (error) {
  if (error instanceof ConfigError) fail(`invalid config:\n${error.message}`);
  fail((error as Error).message);
}
for (const w of loaded.warnings) console.error(`warning: ${formatIssue(w)}`);
const config = loaded.config;
const app = config.applications[0];
const dep = app?.deployments[0];
if (!dep) fail(`${configPath} declares no application with a deployment`);
if (args.values.model !== undefined) {
  try {
    dep.user_config.model = parseModelSpec(args.values.model, { baseDir: Deno.cwd() });
  } catch (error) {
    fail((error as Error).message);
  }
}

const configDir = config.source_path
  ? config.source_path.slice(0, config.source_path.lastIndexOf("/")) || "/"
  : Deno.cwd();
let lastProgress = 0;
let model;
try {
  model = await prepareModel(dep.user_config.model, {
    baseDir: configDir,
    log: (line) => log(`model: ${line}`),
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastProgress < 500 && p.done < p.total) return;
      lastProgress = now;
      const pct = p.total > 0 ? ` ${(100 * p.done / p.total).toFixed(0)}%` : "";
      log(`model: ${p.phase}${pct} (${p.done}/${p.total})`);
    },
  });
} catch (error) {
  fail(`cannot load the model: ${(error as Error).message}`, 1);
}
if (model.warning) console.error(model.warning);
log(`model: ${model.info.name}`);

let decisionsCsvPath = args.values["decisions-csv"];
if (decisionsCsvPath === undefined && dep.autoscaling_config) {
  await Deno.mkdir("results", { recursive: true });
  decisionsCsvPath = `results/${app.name}_autoscaler.csv`;
  log(`autoscaler decisions go to ${decisionsCsvPath}`);
}

let serve;
try {
  serve = await startServe(config, {
    model,
    numCpus,
    port,
    host: args.values.host,
    log,
    decisionsCsvPath,
  });
} catch (error) {
  fail(`cannot start serving: ${(error as Error).message}`, 1);
}
log(
  `HTTP server listening on ${serve.url} (route ${app.route_prefix}); status: ${serve.url}/api/status`,
);

// ==== DASHBOARD (issue 9): read-only live page; a failure to start it does not stop serving ====
if (!args.values["no-dashboard"]) {
  try {
    const dashboard = await startDashboard(serveDashboardSource(serve), {
      hostname: "127.0.0.1",
      port: dashboardPort,
      log,
    });
    log(`dashboard: ${dashboard.url} (live status and charts; --no-dashboard to turn it off)`);
  } catch (error) {
    log(`dashboard not started: ${(error as Error).message}`);
  }
}
// ==============================================================================================

let stoppingSinceMs: number | null = null;
const onSignal = (signal: Deno.Signal) => {
  if (stoppingSinceMs !== null) {
    // A terminal's Ctrl-C reaches both `deno task` (which forwards it) and this process, so
    // a repeat within a second is the same keypress, not a request to skip draining.
    if (Date.now() - stoppingSinceMs < 1000) return;
    console.error(`${signal} again: exiting now without draining`);
    Deno.exit(1);
  }
  stoppingSinceMs = Date.now();
  log(`${signal} received: stopping gracefully (send it again to exit at once)`);
  serve.shutdown().then(() => Deno.exit(0), (error) => {
    console.error(`shutdown failed: ${(error as Error).message}`);
    Deno.exit(1);
  });
};
Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));

try {
  await serve.ready({ timeoutMs: 10 * 60_000 });
  log(
    `Deployed app '${serve.appName}' successfully: POST images to ${serve.url}${app.route_prefix}`,
  );
  if (model.warning) {
    log(`reminder: ${model.info.name} has MEANINGLESS labels (seeded weights, not pretrained)`);
  }
} catch (error) {
  if (stoppingSinceMs === null) {
    if (serve.deployment.deployFailed) {
      log(`deploy failed: ${(error as Error).message}`);
      await serve.shutdown();
      Deno.exit(1);
    }
    log(`${(error as Error).message} (still serving; Ctrl-C to stop)`);
  }
}
