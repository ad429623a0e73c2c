/**
 * `deno task deploy <config.yaml> [--watch] [--num-cpus N] [--port P] [--host H] [--model SPEC]
 *  [--decisions-csv PATH] [--dashboard-port P] [--dashboard-host H] [--admin-token-file PATH]`:
 * validates the config, resolves the models (with progress), and serves every application of it
 * in the foreground like `serve run`, logging replica and status changes. The dashboard port
 * also carries the admin REST API (`deno task apply`, `deno task shutdown`); `--watch` re-applies
 * the file when it changes. Ctrl-C / SIGTERM / `deno task shutdown` stop accepting connections,
 * finish in-flight requests, drain replicas and exit 0.
 *
 * @module
 */
import {
  ConfigError,
  estimatePeakMemory,
  formatIssue,
  formatMemoryEstimate,
  loadConfig,
  memoryWarning,
  type ModelSpec,
  parseModelSpec,
} from "../lib/config/mod.ts";
import {
  createAdminApi,
  formatPlan,
  type LogLevel,
  prepareModel,
  type ServeHandle,
  startServe,
} from "../lib/serve/mod.ts";
import { serveDashboardSource, startDashboard } from "../lib/dashboard/mod.ts";
import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import { isLoopbackHost, readAdminToken } from "./_admin_client.ts";

const USAGE = `usage: deno task deploy <config.yaml> [options]

options:
  --watch               re-apply the file whenever it changes on disk (invalid saves are
                        reported with their position; the service keeps its last good config)
  --num-cpus N          logical CPUs of the cluster (default: this machine's, ${navigator.hardwareConcurrency})
  --port P              overrides http_options.port (0 = any free port)
  --host H              overrides http_options.host
  --model SPEC          overrides user_config.model of every deployment: resnet50 | noop |
                        noop:<ms> | path/to/model.onnx | emulate:SPEC (no compute; SPEC as
                        simulate --service-time, e.g. emulate:lognormal:45,80)
  --decisions-csv PATH  where the first autoscaled deployment writes its decisions (default
                        results/<app>_autoscaler_<UTC start>.csv, one per deploy; other
                        deployments results/<app>_<dep>_autoscaler_<UTC start>.csv)
  --dashboard-port P    dashboard and admin API on http://127.0.0.1:P (default 8265; 0 = any)
  --dashboard-host H    interface of the dashboard and admin API (default 127.0.0.1); beyond
                        loopback the API's writes (apply, shutdown) need --admin-token-file
  --admin-token-file F  a file holding the token the admin API's writes must carry
  --no-dashboard        no dashboard, and so no admin API (apply/shutdown cannot reach it)
  -h, --help            this text`;

function ts(): string {
  return new Date().toISOString().replace("T", " ").slice(0, 23);
}
function log(line: string, level: LogLevel = "INFO"): void {
  console.error(`${ts()} ${level} ${line}`);
}
const c: Cli = cli("deploy", USAGE);
const fail: Cli["fail"] = c.fail;
const args = c.parse({
  "num-cpus": { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  model: { type: "string" },
  "decisions-csv": { type: "string" },
  "dashboard-port": { type: "string" },
  "dashboard-host": { type: "string" },
  "admin-token-file": { type: "string" },
  "no-dashboard": { type: "boolean" },
  watch: { type: "boolean" },
}, { positionals: { min: 1, max: 1, name: "config file" } });
const configPath = args.positionals[0];
const numCpus = c.number("num-cpus", args.values["num-cpus"], { min: 0 });
const port = c.number("port", args.values.port, { integer: true, min: 0, max: 65535 });
const dashboardPort = c.number("dashboard-port", args.values["dashboard-port"], {
  integer: true,
  min: 0,
  max: 65535,
}) ??
  8265;
const dashboardHost = args.values["dashboard-host"] ?? "127.0.0.1";
let adminToken: string | null = null;
if (args.values["admin-token-file"] !== undefined) {
  try {
    adminToken = await readAdminToken(args.values["admin-token-file"]);
  } catch (error) {
    fail((error as Error).message);
  }
}

let loaded;
try {
  loaded = await loadConfig(configPath);
} catch (error) {
  if (error instanceof ConfigError) fail(`invalid config:\n${error.message}`);
  fail((error as Error).message);
}
for (const w of loaded.warnings) console.error(`warning: ${formatIssue(w)}`);
const config = loaded.config;
if (config.applications.length === 0 || config.applications[0].deployments.length === 0) {
  fail(`${configPath} declares no application with a deployment`);
}
let modelOverride: ModelSpec | undefined;
if (args.values.model !== undefined) {
  try {
    modelOverride = parseModelSpec(args.values.model, { baseDir: Deno.cwd() });
  } catch (error) {
    fail((error as Error).message);
  }
}

const configDir = config.source_path
  ? config.source_path.slice(0, config.source_path.lastIndexOf("/")) || "/"
  : Deno.cwd();
const seededWarnings: string[] = [];
const prepare = async (spec: ModelSpec) => {
  let lastProgress = 0;
  const model = await prepareModel(spec, {
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
  if (model.warning) {
    console.error(model.warning);
    seededWarnings.push(model.warning);
  }
  log(`model: ${model.info.name}`);
  return model;
};

for (const app of config.applications) {
  for (const dep of app.deployments) {
    const estimate = estimatePeakMemory(dep);
    log(`${app.name}/${dep.name}: ${formatMemoryEstimate(estimate)}`);
    const warning = memoryWarning(estimate);
    if (warning) log(`${app.name}/${dep.name}: ${warning}`, "WARN");
  }
}

const firstApp = config.applications[0];
// One file per deploy: time_s restarts at 0 with every deploy, so appending runs to one file
// mixed them; visualize finds a load test's file by the rows' Unix timestamps.
const runStamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
const decisionsCsvFor = (app: string, dep: string): string => {
  const explicit = args.values["decisions-csv"];
  if (app === firstApp.name && dep === firstApp.deployments[0].name) {
    const path = explicit ?? `results/${app}_autoscaler_${runStamp}.csv`;
    log(`autoscaler decisions of ${app}/${dep} go to ${path}`);
    return path;
  }
  const path = `results/${app}_${dep}_autoscaler_${runStamp}.csv`;
  log(`autoscaler decisions of ${app}/${dep} go to ${path}`);
  return path;
};

let serve: ServeHandle;
try {
  serve = await startServe(config, {
    prepareModel: prepare,
    modelOverride,
    numCpus,
    port,
    host: args.values.host,
    log,
    decisionsCsvFor,
  });
} catch (error) {
  fail(`cannot start serving: ${(error as Error).message}`, EXIT_CODES.failed);
}
for (const app of config.applications) {
  log(`HTTP server listening on ${serve.url} (application ${app.name} at ${app.route_prefix})`);
}
log(`status: ${serve.url}/api/status`);

let stoppingSinceMs: number | null = null;
const stop = (why: string, note = "") => {
  if (stoppingSinceMs !== null) return;
  stoppingSinceMs = Date.now();
  log(`${why}: stopping gracefully${note}`);
  serve.shutdown().then(() => Deno.exit(0), (error) => {
    console.error(`shutdown failed: ${(error as Error).message}`);
    Deno.exit(1);
  });
};

// ==== DASHBOARD (issue 9) + ADMIN API (issue 15); a failure to start it does not stop serving ==
if (!args.values["no-dashboard"]) {
  const loopback = isLoopbackHost(dashboardHost);
  try {
    const adminApi = createAdminApi(serve.instance, {
      token: adminToken,
      loopback,
      onShutdown: () => stop("shutdown requested through the admin API"),
      log,
    });
    const dashboard = await startDashboard(serveDashboardSource(serve), {
      hostname: dashboardHost,
      port: dashboardPort,
      log,
      adminApi,
    });
    log(`dashboard: ${dashboard.url} (live status and charts; --no-dashboard to turn it off)`);
    log(
      `admin API: ${dashboard.url}/api/serve/applications/ (` +
        (adminToken !== null
          ? "writes need the --admin-token-file token"
          : loopback
          ? "loopback only; deno task apply / shutdown"
          : "read-only: not loopback and no --admin-token-file") +
        ")",
    );
  } catch (error) {
    log(`dashboard not started: ${(error as Error).message}`, "WARN");
  }
}
// ==============================================================================================

const onSignal = (signal: Deno.Signal) => {
  if (stoppingSinceMs !== null) {
    // A terminal's Ctrl-C reaches both `deno task` (which forwards it) and this process, so
    // a repeat within a second is the same keypress, not a request to skip draining.
    if (Date.now() - stoppingSinceMs < 1000) return;
    console.error(`${signal} again: exiting now without draining`);
    Deno.exit(1);
  }
  stop(`${signal} received`, " (send it again to exit at once)");
};
Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));

if (args.values.watch) watchConfig(configPath);

try {
  await serve.ready({ timeoutMs: 10 * 60_000 });
  const apps = config.applications;
  if (apps.length === 1) {
    log(
      `Deployed app '${apps[0].name}' successfully: POST images to ${serve.url}${
        apps[0].route_prefix
      }`,
    );
  } else {
    const names = apps.map((a) => `'${a.name}' at ${a.route_prefix}`).join(", ");
    log(`Deployed apps ${names} successfully: POST images to ${serve.url}<route_prefix>`);
  }
  if (seededWarnings.length > 0) {
    log(
      "reminder: this ResNet-50 has seeded (random) weights, so its labels are MEANINGLESS; " +
        "`deno task download-model` fetches pretrained ones",
    );
  }
} catch (error) {
  if (stoppingSinceMs === null) {
    if (serve.instance.deployFailed) {
      log(`deploy failed: ${(error as Error).message}`);
      await serve.shutdown();
      Deno.exit(1);
    }
    log(`${(error as Error).message} (still serving; Ctrl-C to stop)`);
  }
}

/** `--watch`: re-applies the file after it stops changing for 300 ms. */
async function watchConfig(path: string): Promise<void> {
  const file = await Deno.realPath(path);
  const dir = file.slice(0, file.lastIndexOf("/")) || "/";
  const base = file.slice(file.lastIndexOf("/") + 1);
  log(`watching ${path} for changes (re-applied on save)`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastText = await Deno.readTextFile(file).catch(() => "");
  const reapply = async () => {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      return; // mid-save (renamed away); the next event brings it back
    }
    if (text === lastText) return;
    lastText = text;
    let next;
    try {
      next = (await loadConfig(path)).config;
    } catch (error) {
      const message = error instanceof ConfigError ? error.message : (error as Error).message;
      log(`invalid config saved; keeping the last good one:\n${message}`, "WARN");
      return;
    }
    const result = await serve.apply(next);
    if (!result.ok) {
      log(`config refused; keeping the last good one:\n  ${result.errors.join("\n  ")}`, "WARN");
      return;
    }
    const lines = formatPlan(result.plan);
    log(`applied ${path}:\n  ${lines.join("\n  ") || "nothing changed"}`);
  };
  for await (const event of Deno.watchFs(dir, { recursive: false })) {
    if (!event.paths.some((p) => p === file || p.endsWith(`/${base}`))) continue;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reapply().catch((error) => log(`re-apply failed: ${(error as Error).message}`, "WARN"));
    }, 300);
  }
}
