/**
 * `deno task serve-replica [CONFIG]`: one replica of the config's deployment behind the
 * project's HTTP API, with no autoscaler, for a pod (Knative, or a Deployment scaled by KEDA).
 *
 * - The config comes from the `SERVE_CONFIG` environment variable (YAML text, as the exported
 *   manifests set it) or else from the CONFIG path (the Containerfile's default).
 * - `PORT` from the environment (Knative sets it; default 8080), `HOST` (default 0.0.0.0).
 * - `MODEL` overrides `user_config.model` (a path to a mounted .onnx, `resnet50`, `noop:<ms>`);
 *   a `{url, sha256}` model is downloaded at start-up and checked.
 * - `/healthz` answers 503 until the replica is RUNNING, then `success`: use it for probes.
 * - SIGTERM/SIGINT: stop accepting connections, answer the requests in flight, exit 0.
 *
 * @module
 */
import {
  ConfigError,
  formatIssue,
  loadConfig,
  parseConfig,
  parseModelSpec,
} from "../lib/config/mod.ts";
import {
  type Cli,
  cli,
  describeNumberRange,
  EXIT_CODES,
  type NumberFlagOptions,
  parseNumberFlag,
} from "../lib/cli/mod.ts";
import { startSingleReplica } from "../lib/export/mod.ts";
import type { LogLevel } from "../lib/serve/mod.ts";

const USAGE = `usage: deno task serve-replica [CONFIG]

One replica of the config's deployment, no autoscaler, for a pod. Settings come from the
environment:
  SERVE_CONFIG  the config as YAML text (used instead of CONFIG when set)
  PORT          port to listen on (default 8080)
  HOST          address to listen on (default 0.0.0.0)
  MODEL         overrides user_config.model: a path to an .onnx, resnet50 or noop:<ms>

exit codes: 0 stopped by SIGTERM/SIGINT; 1 the replica could not start, get ready or shut down;
2 nothing ran: a bad argument, setting or config`;

function log(line: string, level: LogLevel = "INFO"): void {
  console.error(`${new Date().toISOString()} ${level} ${line}`);
}
const c: Cli = cli("serve-replica", USAGE);
const fail: Cli["fail"] = c.fail;

const args = c.parse({}, { positionals: { max: 1, name: "config file" } }).positionals;

const PORT_RANGE: NumberFlagOptions = { integer: true, min: 0, max: 65535 };
const portText = Deno.env.get("PORT") ?? "8080";
let port: number;
try {
  port = parseNumberFlag("PORT", portText, PORT_RANGE)!;
} catch {
  fail(`PORT must be ${describeNumberRange(PORT_RANGE)}, got "${portText}"`);
}

let loaded;
const inline = Deno.env.get("SERVE_CONFIG");
try {
  if (inline !== undefined && inline.trim() !== "") {
    if (args.length === 1) log(`SERVE_CONFIG is set: it is used instead of ${args[0]}`);
    loaded = parseConfig(inline, { sourcePath: "SERVE_CONFIG" });
  } else if (args.length === 1) {
    loaded = await loadConfig(args[0]);
  } else {
    fail("no config: set SERVE_CONFIG (YAML text) or pass a config file");
  }
} catch (error) {
  if (error instanceof ConfigError) fail(`invalid config:\n${error.message}`);
  fail((error as Error).message);
}
for (const w of loaded.warnings) log(`config: ${formatIssue(w)}`, "WARN");
const config = loaded.config;
const dep = config.applications[0]?.deployments[0];
if (!dep) fail("the config declares no application with a deployment");
const modelOverride = Deno.env.get("MODEL");
if (modelOverride) {
  try {
    dep.user_config.model = parseModelSpec(modelOverride, { baseDir: Deno.cwd() });
  } catch (error) {
    fail(`MODEL: ${(error as Error).message}`);
  }
}

let serve;
try {
  serve = await startSingleReplica(config, {
    port,
    host: Deno.env.get("HOST") ?? "0.0.0.0",
    log,
    baseDir: config.source_path
      ? config.source_path.slice(0, config.source_path.lastIndexOf("/")) || "/"
      : Deno.cwd(),
  });
} catch (error) {
  fail(`cannot start: ${(error as Error).message}`, EXIT_CODES.failed);
}
log(`single replica of ${config.applications[0].name}/${dep.name} listening on ${serve.url}`);

let stopping = false;
/** Wait between the end of the shutdown and the exit (see onSignal). */
const EXIT_AFTER_SHUTDOWN_MS = 500;
const listeners: [Deno.Signal, () => void][] = [
  ["SIGTERM", () => onSignal("SIGTERM")],
  ["SIGINT", () => onSignal("SIGINT")],
];
const onSignal = (signal: Deno.Signal) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: no new connections; answering the requests in flight, then exiting`);
  serve.shutdown().then(() => {
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
    // The replica's worker is still releasing its native ONNX Runtime session when shutdown()
    // resolves: exiting at once crashed the process (SIGSEGV, exit 139) in 3 of ~25 test runs,
    // waiting 500 ms first in none of 28.
    setTimeout(() => Deno.exit(EXIT_CODES.ok), EXIT_AFTER_SHUTDOWN_MS);
  }, (error) => {
    console.error(`shutdown failed: ${(error as Error).message}`);
    Deno.exit(EXIT_CODES.failed);
  });
};
for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);

try {
  await serve.ready({ timeoutMs: 10 * 60_000 });
  log(`ready: POST images to ${serve.url}${config.applications[0].route_prefix}`);
} catch (error) {
  if (!stopping) {
    log(`not ready: ${(error as Error).message}`, "WARN");
    await serve.shutdown();
    Deno.exit(EXIT_CODES.failed);
  }
}
