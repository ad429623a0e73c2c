/**
 * Loading and validating a serve config file: YAML text in, a typed, fully defaulted
 * {@link ServeConfig} out, or a {@link ConfigError} listing every problem with file:line:col and
 * field path.
 *
 * Unknown keys are REJECTED (with a "did you mean" hint), unlike Ray Serve, which tolerates them
 * for forward compatibility: in a lab whose point is tuning, a misspelt knob that silently falls
 * back to its default would invalidate the experiment. Ray fields that we do not model (e.g.
 * `proxy_location`, `runtime_env`) are accepted with a warning saying they are ignored.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { isMap, isPair, isScalar, LineCounter, parseDocument } from "yaml";
import {
  APPLICATION_DEFAULTS,
  AUTO_NUM_REPLICAS_DEFAULTS,
  AUTOSCALING_DEFAULTS,
  DEPLOYMENT_DEFAULTS,
  HTTP_OPTIONS_DEFAULTS,
  MAX_TOP_K,
  RAY_ACTOR_OPTIONS_DEFAULTS,
  USER_CONFIG_DEFAULTS,
} from "./defaults.ts";
import { ConfigError, type ConfigIssue } from "./issues.ts";
import { interpretModelString, isSha256 } from "./model_spec.ts";
import {
  type Checked,
  describe,
  type Entry,
  INVALID,
  join,
  type LevelSpec,
  type Node,
  Reader,
} from "./_reader.ts";
import type {
  AggregationFunction,
  ApplicationConfig,
  AutoscalingConfig,
  BackendName,
  DeploymentConfig,
  HttpOptions,
  ModelSpec,
  PolicyConfig,
  RayActorOptions,
  ServeConfig,
  UserConfig,
} from "./types.ts";

/** A validated config and the warnings found while reading it. */
export interface LoadedConfig {
  /** The typed config with every default filled in. */
  config: ServeConfig;
  /** Deprecated aliases, ignored Ray fields, questionable settings. */
  warnings: ConfigIssue[];
}

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Where the text came from, as the user named it: used in messages, and its folder is the base
   * for relative model paths. Without it, messages say `<config>` and paths resolve from the cwd.
   */
  sourcePath?: string;
}

const TOP: LevelSpec = {
  name: "the config file",
  known: ["http_options", "applications"],
  ignored: ["proxy_location", "grpc_options", "logging_config", "target_capacity"],
};
const HTTP: LevelSpec = {
  name: "http_options",
  known: ["host", "port", "root_path", "request_timeout_s", "keep_alive_timeout_s"],
  ignored: ["middlewares", "location", "num_cpus", "ssl_keyfile", "ssl_certfile"],
};
const APPLICATION: LevelSpec = {
  name: "applications[]",
  known: ["name", "route_prefix", "import_path", "deployments"],
  ignored: [
    "runtime_env",
    "args",
    "external_scaler_enabled",
    "autoscaling_policy",
    "logging_config",
    "host",
    "port",
  ],
};
const DEPLOYMENT: LevelSpec = {
  name: "deployments[]",
  known: [
    "name",
    "num_replicas",
    "max_ongoing_requests",
    "max_queued_requests",
    "autoscaling_config",
    "graceful_shutdown_wait_loop_s",
    "graceful_shutdown_timeout_s",
    "health_check_period_s",
    "health_check_timeout_s",
    "max_constructor_retry_count",
    "ray_actor_options",
    "user_config",
  ],
  deprecated: { max_concurrent_queries: "max_ongoing_requests" },
  ignored: [
    "route_prefix",
    "rolling_update_percentage",
    "max_replicas_per_node",
    "placement_group_bundles",
    "placement_group_strategy",
    "logging_config",
    "request_router_config",
  ],
};
const AUTOSCALING: LevelSpec = {
  name: "autoscaling_config",
  known: [
    "min_replicas",
    "max_replicas",
    "initial_replicas",
    "target_ongoing_requests",
    "metrics_interval_s",
    "look_back_period_s",
    "upscaling_factor",
    "downscaling_factor",
    "upscale_delay_s",
    "downscale_delay_s",
    "downscale_to_zero_delay_s",
    "aggregation_function",
    "policy",
  ],
  deprecated: {
    target_num_ongoing_requests_per_replica: "target_ongoing_requests",
    smoothing_factor: "upscaling_factor and downscaling_factor",
    upscale_smoothing_factor: "upscaling_factor",
    downscale_smoothing_factor: "downscaling_factor",
  },
};
const POLICY: LevelSpec = { name: "policy", known: ["policy_function", "policy_kwargs"] };
const ACTOR: LevelSpec = {
  name: "ray_actor_options",
  known: ["num_cpus", "num_gpus"],
  ignored: [
    "accelerator_type",
    "memory",
    "resources",
    "runtime_env",
    "label_selector",
    "fallback_strategy",
  ],
};
const USER: LevelSpec = {
  name: "user_config",
  known: [
    "model",
    "backend",
    "top_k",
    "max_image_bytes",
    "max_image_pixels",
    "image_fetch_timeout_s",
    "allowed_image_hosts",
  ],
};
const MODEL: LevelSpec = { name: "user_config.model", known: ["path", "url", "sha256", "noop"] };
const NOOP: LevelSpec = { name: "user_config.model.noop", known: ["service_time_ms"] };
const LEVELS = [TOP, HTTP, APPLICATION, DEPLOYMENT, AUTOSCALING, POLICY, ACTOR, USER];

const BACKENDS: readonly BackendName[] = ["auto", "native", "wasm", "webgpu"];
const AGGREGATIONS: readonly AggregationFunction[] = ["mean", "max", "min"];

/**
 * Parses and validates config text. Every problem in the text is reported, each with file,
 * line, column, field path, what was expected and what was found.
 *
 * @throws {ConfigError} when the text has at least one error (not YAML, empty, wrong types, ...).
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): LoadedConfig {
  const file = options.sourcePath ?? null;
  const baseDir = options.sourcePath ? dirname(resolve(options.sourcePath)) : Deno.cwd();
  const fail = (
    code: ConfigIssue["code"],
    message: string,
    line: number | null = null,
    column: number | null = line === null ? null : 1,
  ) => {
    throw new ConfigError([
      { severity: "error", code, file, line, column, path: "", message },
    ]);
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const nul = text.indexOf("\u0000");
  if (nul >= 0) {
    // Point at the first NUL: a stray one in an otherwise good file is hard to find.
    const before = text.slice(0, nul);
    fail(
      "not_text",
      "is not a text file (it contains NUL bytes, the first one here); expected a YAML serve config",
      before.split("\n").length,
      nul - before.lastIndexOf("\n"),
    );
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const reader = new Reader(file, lineCounter, doc);
  reader.allLevels.push(...LEVELS);

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const offset = error.pos[0];
      // The key being parsed, without the list index a broken flow sequence produces.
      const pathHere = pathAtOffset(doc.contents, offset).replace(/(\[\d+\])+$/, "");
      reader.errors.push({
        severity: "error",
        code: "yaml_syntax",
        file,
        ...reader.position(offset),
        path: error.code === "MULTIPLE_DOCS" ? "" : pathHere,
        message: error.code === "MULTIPLE_DOCS"
          ? "holds a second YAML document (after `---`); a config file is one document"
          : `is not valid YAML: ${firstLine(error.message)}`,
      });
    }
    throw new ConfigError(reader.errors, reader.warnings);
  }
  for (const warning of doc.warnings) {
    reader.warnings.push({
      severity: "warning",
      code: "yaml_syntax",
      file,
      ...reader.position(warning.pos[0]),
      path: pathAtOffset(doc.contents, warning.pos[0]),
      message: firstLine(warning.message),
    });
  }
  const root = doc.contents as Node;
  if (root === null || root === undefined || (isScalar(root) && root.value === null)) {
    fail(
      "empty",
      "is empty (no YAML content, only blanks or comments); expected a serve config with " +
        "`applications:` (see configs/basic.yaml)",
    );
  }
  if (!isMap(root)) {
    reader.error(
      "not_a_mapping",
      root,
      "",
      `must be a YAML mapping with \`applications:\` (Ray Serve's config-file structure), got ${
        describe(root)
      }`,
    );
    throw new ConfigError(reader.errors, reader.warnings);
  }

  const config = readServeConfig(reader, root, baseDir);
  const byPlace = (a: ConfigIssue, b: ConfigIssue) =>
    (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
  reader.errors.sort(byPlace);
  reader.warnings.sort(byPlace);
  if (reader.errors.length > 0) throw new ConfigError(reader.errors, reader.warnings);
  config.source_path = options.sourcePath ? resolve(options.sourcePath) : null;
  return { config, warnings: reader.warnings };
}

/**
 * Reads and validates a config file. A missing, unreadable or non-text file gets its own message.
 *
 * @throws {ConfigError} for a file that cannot be read or has at least one error.
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let bytes: Uint8Array;
  const fail = (code: ConfigIssue["code"], message: string): never => {
    throw new ConfigError([
      { severity: "error", code, file: path, line: null, column: null, path: "", message },
    ]);
  };
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return fail("not_found", `file not found (looked for ${resolve(path)})`);
    }
    if (error instanceof Deno.errors.IsADirectory) {
      return fail("unreadable", "is a directory; expected a YAML config file");
    }
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      return fail("unreadable", `cannot be read: permission denied (${(error as Error).message})`);
    }
    return fail("unreadable", `cannot be read: ${(error as Error).message}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("not_text", "is not UTF-8 text; expected a YAML serve config");
  }
  return parseConfig(text, { sourcePath: path });
}

function readServeConfig(r: Reader, root: Node, baseDir: string): ServeConfig {
  const top = r.fields(root, "", TOP);
  const entries = top === INVALID ? new Map<string, Entry>() : top;
  const http = readHttpOptions(r, entries.get("http_options")?.value, "http_options");
  const applications: ApplicationConfig[] = [];
  const appsEntry = entries.get("applications");
  if (!appsEntry) {
    r.error(
      "required",
      root,
      "applications",
      "is required: expected a list of applications (name, route_prefix, import_path, deployments)",
    );
  } else {
    const items = r.seq(appsEntry.value, "applications", "applications");
    if (items !== INVALID) {
      if (items.length === 0) {
        r.error(
          "range",
          appsEntry.value,
          "applications",
          "must list at least one application, got an empty list",
        );
      }
      items.forEach((item, i) => {
        const app = readApplication(r, item, `applications[${i}]`, baseDir);
        if (app) applications.push(app);
      });
      checkUnique(r, items, "applications", "name", "application names", APPLICATION_DEFAULTS.name);
      checkUnique(
        r,
        items,
        "applications",
        "route_prefix",
        "route prefixes",
        APPLICATION_DEFAULTS.route_prefix,
      );
    }
  }
  return { http_options: http, applications, source_path: null };
}

function readHttpOptions(r: Reader, node: Node, path: string): HttpOptions {
  const d = HTTP_OPTIONS_DEFAULTS;
  const read = r.fields(node, path, HTTP);
  if (read === INVALID) return { ...d };
  const e = read;
  return {
    host: or(r.str(e, node, path, "host", { default: d.host, nonEmpty: true }), d.host) as string,
    port: or(
      r.num(e, node, path, "port", { default: d.port, int: true, min: 0, max: 65535 }),
      d.port,
    ) as number,
    root_path: or(
      r.str(e, node, path, "root_path", { default: d.root_path }),
      d.root_path,
    ) as string,
    request_timeout_s: or(
      r.num(e, node, path, "request_timeout_s", {
        default: null,
        min: 0,
        gt: true,
        nullable: true,
      }),
      null,
    ),
    keep_alive_timeout_s: or(
      r.num(e, node, path, "keep_alive_timeout_s", { default: d.keep_alive_timeout_s, min: 0 }),
      d.keep_alive_timeout_s,
    ) as number,
  };
}

function readApplication(
  r: Reader,
  node: Node,
  path: string,
  baseDir: string,
): ApplicationConfig | null {
  const read = r.fields(node, path, APPLICATION);
  if (read === INVALID) return null;
  if (node === null || node === undefined || !isMap(node)) {
    r.error(
      "type",
      node,
      path,
      `must be a mapping with name, route_prefix, import_path and deployments, got ${
        describe(node)
      }`,
    );
    return null;
  }
  const e = read;
  const name = r.str(e, node, path, "name", { default: APPLICATION_DEFAULTS.name, nonEmpty: true });
  const routePrefix = r.str(e, node, path, "route_prefix", {
    default: APPLICATION_DEFAULTS.route_prefix,
  });
  if (typeof routePrefix === "string" && !routePrefix.startsWith("/")) {
    r.error(
      "range",
      e.get("route_prefix")?.value,
      join(path, "route_prefix"),
      `must start with "/", got ${JSON.stringify(routePrefix)}`,
    );
  }
  const importPath = r.str(e, node, path, "import_path", { required: true, nonEmpty: true });
  if (
    typeof importPath === "string" && importPath.trim() !== "" &&
    !/^[\w.\-/]+[:.][\w]+$/.test(importPath)
  ) {
    r.error(
      "range",
      e.get("import_path")?.value,
      join(path, "import_path"),
      `must be "module:attribute" or "module.attribute" (e.g. autoscale_lab.serve:app), got ${
        JSON.stringify(importPath)
      }`,
    );
  }
  const deployments: DeploymentConfig[] = [];
  const depPath = join(path, "deployments");
  const depEntry = e.get("deployments");
  if (!depEntry) {
    r.error(
      "required",
      node,
      depPath,
      "is required: expected a list with at least one deployment (name, autoscaling_config, ...)",
    );
  } else {
    const items = r.seq(depEntry.value, depPath, "deployments");
    if (items !== INVALID) {
      if (items.length === 0) {
        r.error(
          "range",
          depEntry.value,
          depPath,
          "must list at least one deployment, got an empty list",
        );
      }
      items.forEach((item, i) => {
        const dep = readDeployment(r, item, `${depPath}[${i}]`, baseDir);
        if (dep) deployments.push(dep);
      });
      checkUnique(r, items, depPath, "name", "deployment names");
    }
  }
  return {
    name: or(name, APPLICATION_DEFAULTS.name) as string,
    route_prefix: or(routePrefix, APPLICATION_DEFAULTS.route_prefix) as string,
    import_path: or(importPath, "") as string,
    deployments,
  };
}

function readDeployment(
  r: Reader,
  node: Node,
  path: string,
  baseDir: string,
): DeploymentConfig | null {
  const read = r.fields(node, path, DEPLOYMENT);
  if (read === INVALID) return null;
  if (node === null || node === undefined || !isMap(node)) {
    r.error("type", node, path, `must be a mapping with at least a name, got ${describe(node)}`);
    return null;
  }
  const e = read;
  const d = DEPLOYMENT_DEFAULTS;
  const name = r.str(e, node, path, "name", { required: true, nonEmpty: true });

  // num_replicas: a positive int, "auto", or null.
  let numReplicas: number | "auto" | null | undefined = undefined;
  const numEntry = e.get("num_replicas");
  if (numEntry) {
    const v = isScalar(numEntry.value) ? numEntry.value.value : undefined;
    if (v === null || v === "auto") numReplicas = v;
    else if (typeof v === "number" && Number.isInteger(v) && v >= 1) numReplicas = v;
    else {
      const hint = typeof v === "string" && v.toLowerCase() === "auto"
        ? ' (write "auto" in lower case)'
        : "";
      r.error(
        typeof v === "number" ? "range" : "type",
        numEntry.value,
        join(path, "num_replicas"),
        `must be an integer >= 1, "auto" or null, got ${describe(numEntry.value)}${hint}`,
      );
    }
  }

  // max_ongoing_requests, or its old name max_concurrent_queries.
  const ongoingKey = e.has("max_ongoing_requests") || !e.has("max_concurrent_queries")
    ? "max_ongoing_requests"
    : "max_concurrent_queries";
  if (e.has("max_ongoing_requests") && e.has("max_concurrent_queries")) {
    r.error(
      "conflict",
      e.get("max_concurrent_queries")!.keyNode,
      join(path, "max_concurrent_queries"),
      "is the deprecated name of max_ongoing_requests, which is also set; remove max_concurrent_queries",
    );
  }
  const maxOngoing = r.num(e, node, path, ongoingKey, {
    default: d.max_ongoing_requests,
    int: true,
    min: 0,
    gt: true,
  });

  const queuedEntry = e.get("max_queued_requests");
  let maxQueued: number = d.max_queued_requests;
  if (queuedEntry) {
    const v = isScalar(queuedEntry.value) ? queuedEntry.value.value : undefined;
    if (typeof v === "number" && Number.isInteger(v) && (v === -1 || v >= 1)) maxQueued = v;
    else {
      r.error(
        typeof v === "number" ? "range" : "type",
        queuedEntry.value,
        join(path, "max_queued_requests"),
        `must be -1 (no limit) or an integer >= 1, got ${describe(queuedEntry.value)}`,
      );
    }
  }

  // autoscaling_config, num_replicas: auto, or a fixed count.
  const asEntry = e.get("autoscaling_config");
  const asGiven = asEntry !== undefined &&
    !(isScalar(asEntry.value) && asEntry.value.value === null);
  let autoscaling: AutoscalingConfig | null = null;
  if (typeof numReplicas === "number" && asGiven) {
    r.error(
      "conflict",
      numEntry!.value,
      join(path, "num_replicas"),
      `must not be a number (${numReplicas}) when autoscaling_config is given: Ray refuses "Manually setting num_replicas is not allowed when autoscaling_config is provided"; use num_replicas: auto or remove num_replicas`,
    );
  }
  if (asGiven || numReplicas === "auto") {
    const defaults = numReplicas === "auto" ? AUTO_NUM_REPLICAS_DEFAULTS : AUTOSCALING_DEFAULTS;
    autoscaling = readAutoscaling(
      r,
      asEntry?.value,
      join(path, "autoscaling_config"),
      defaults,
      numEntry?.value ?? node,
    ) ??
      { ...defaults };
  }

  const num = (key: keyof typeof d, opts: { int?: boolean; gt?: boolean }) =>
    or(r.num(e, node, path, key, { default: d[key], min: 0, ...opts }), d[key]) as number;

  const actorNode = e.get("ray_actor_options")?.value;
  const actor = readActorOptions(r, actorNode, join(path, "ray_actor_options"));
  const userNode = e.get("user_config")?.value;
  const user = readUserConfig(r, userNode, join(path, "user_config"), baseDir);

  return {
    name: or(name, "") as string,
    num_replicas: autoscaling
      ? null
      : typeof numReplicas === "number"
      ? numReplicas
      : d.num_replicas,
    max_ongoing_requests: or(maxOngoing, d.max_ongoing_requests) as number,
    max_queued_requests: maxQueued,
    autoscaling_config: autoscaling,
    graceful_shutdown_wait_loop_s: num("graceful_shutdown_wait_loop_s", {}),
    graceful_shutdown_timeout_s: num("graceful_shutdown_timeout_s", {}),
    health_check_period_s: num("health_check_period_s", { gt: true }),
    health_check_timeout_s: num("health_check_timeout_s", { gt: true }),
    max_constructor_retry_count: num("max_constructor_retry_count", { int: true, gt: true }),
    ray_actor_options: actor,
    user_config: user,
  };
}

function readAutoscaling(
  r: Reader,
  node: Node,
  path: string,
  defaults: Readonly<AutoscalingConfig>,
  fallbackNode: Node,
): AutoscalingConfig | null {
  const read = r.fields(node, path, AUTOSCALING);
  if (read === INVALID) return null;
  const e = read;
  const at = node ?? fallbackNode;
  const positive = { min: 0, gt: true };
  const n = (key: keyof AutoscalingConfig, opts: Partial<Parameters<Reader["num"]>[4]> = {}) =>
    r.num(e, at, path, key, { default: defaults[key] as number | null, ...opts });

  const min = n("min_replicas", { int: true, min: 0 });
  const max = n("max_replicas", { int: true, min: 1 });
  const initial = n("initial_replicas", { int: true, min: 0, nullable: true });

  // target_ongoing_requests, or its old name.
  const oldTarget = "target_num_ongoing_requests_per_replica";
  if (e.has("target_ongoing_requests") && e.has(oldTarget)) {
    r.error(
      "conflict",
      e.get(oldTarget)!.keyNode,
      join(path, oldTarget),
      "is the deprecated name of target_ongoing_requests, which is also set; remove the old name",
    );
  }
  const targetKey = !e.has("target_ongoing_requests") && e.has(oldTarget)
    ? oldTarget
    : "target_ongoing_requests";
  const target = r.num(e, at, path, targetKey, {
    default: defaults.target_ongoing_requests,
    ...positive,
  });

  const metrics = n("metrics_interval_s", positive);
  const lookBack = n("look_back_period_s", positive);
  const smoothing = n("smoothing_factor", positive);
  const upSmoothing = n("upscale_smoothing_factor", { ...positive, nullable: true });
  const downSmoothing = n("downscale_smoothing_factor", { ...positive, nullable: true });
  const up = n("upscaling_factor", { ...positive, nullable: true });
  const down = n("downscaling_factor", { ...positive, nullable: true });
  const upDelay = n("upscale_delay_s", { min: 0 });
  const downDelay = n("downscale_delay_s", { min: 0 });
  const zeroDelay = n("downscale_to_zero_delay_s", { min: 0, nullable: true });
  const aggregation = r.str(e, at, path, "aggregation_function", {
    default: defaults.aggregation_function,
    choices: AGGREGATIONS,
    caseInsensitive: true,
  });
  const policy = readPolicy(r, e.get("policy")?.value, join(path, "policy"));

  // Cross-field rules, only between values that are themselves valid.
  const place = (key: string) => e.get(key)?.value ?? at;
  const defaultNote = (key: string) => (e.has(key) ? "" : ", the default");
  if (typeof min === "number" && typeof max === "number" && max < min) {
    if (e.has("max_replicas")) {
      r.error(
        "range",
        place("max_replicas"),
        join(path, "max_replicas"),
        `must be >= min_replicas (${min}${defaultNote("min_replicas")}), got ${max}`,
      );
    } else {
      r.error(
        "range",
        place("min_replicas"),
        join(path, "min_replicas"),
        `must be <= max_replicas (${max}${
          defaultNote("max_replicas")
        }), got ${min}; set max_replicas too`,
      );
    }
  }
  if (typeof initial === "number" && typeof min === "number" && typeof max === "number") {
    if (initial < min) {
      r.error(
        "range",
        place("initial_replicas"),
        join(path, "initial_replicas"),
        `must be >= min_replicas (${min}${defaultNote("min_replicas")}), got ${initial}`,
      );
    } else if (initial > max) {
      r.error(
        "range",
        place("initial_replicas"),
        join(path, "initial_replicas"),
        `must be <= max_replicas (${max}${defaultNote("max_replicas")}), got ${initial}`,
      );
    }
  }
  if (typeof lookBack === "number" && typeof metrics === "number" && lookBack <= metrics) {
    const key = e.has("look_back_period_s") ? "look_back_period_s" : "metrics_interval_s";
    r.warn(
      "advice",
      place(key),
      join(path, "look_back_period_s"),
      `(${lookBack}) should be > metrics_interval_s (${metrics}): the window then holds at most one metrics push, so decisions follow single samples (Ray warns this will become an error)`,
    );
  }
  if (e.has("upscaling_factor") && e.has("upscale_smoothing_factor")) {
    r.warn(
      "deprecated",
      e.get("upscale_smoothing_factor")!.keyNode,
      join(path, "upscale_smoothing_factor"),
      "is ignored because upscaling_factor is set",
    );
  }
  if (e.has("downscaling_factor") && e.has("downscale_smoothing_factor")) {
    r.warn(
      "deprecated",
      e.get("downscale_smoothing_factor")!.keyNode,
      join(path, "downscale_smoothing_factor"),
      "is ignored because downscaling_factor is set",
    );
  }

  const pick = <T>(value: Checked<T>, fallback: T): T => (value === INVALID ? fallback : value);
  return {
    min_replicas: pick(min, defaults.min_replicas) as number,
    max_replicas: pick(max, defaults.max_replicas) as number,
    initial_replicas: pick(initial, null),
    target_ongoing_requests: pick(target, defaults.target_ongoing_requests) as number,
    metrics_interval_s: pick(metrics, defaults.metrics_interval_s) as number,
    look_back_period_s: pick(lookBack, defaults.look_back_period_s) as number,
    smoothing_factor: pick(smoothing, defaults.smoothing_factor) as number,
    upscale_smoothing_factor: pick(upSmoothing, null),
    downscale_smoothing_factor: pick(downSmoothing, null),
    upscaling_factor: pick(up, null),
    downscaling_factor: pick(down, null),
    upscale_delay_s: pick(upDelay, defaults.upscale_delay_s) as number,
    downscale_delay_s: pick(downDelay, defaults.downscale_delay_s) as number,
    downscale_to_zero_delay_s: pick(zeroDelay, null),
    aggregation_function: pick(aggregation, defaults.aggregation_function) as AggregationFunction,
    policy: pick(policy, null),
  };
}

function readPolicy(r: Reader, node: Node, path: string): Checked<PolicyConfig | null> {
  if (node === undefined || (isScalar(node) && node.value === null)) return null;
  if (isScalar(node) && typeof node.value === "string") {
    // Shorthand: `policy: ./my_policy.ts:myPolicy`.
    return checkPolicyFunction(r, node, join(path, "policy_function"), node.value)
      ? { policy_function: node.value, policy_kwargs: {} }
      : INVALID;
  }
  const read = r.fields(node, path, POLICY);
  if (read === INVALID) return INVALID;
  const fn = r.str(read, node, path, "policy_function", { required: true, nonEmpty: true });
  if (
    typeof fn === "string" &&
    !checkPolicyFunction(r, read.get("policy_function")!.value, join(path, "policy_function"), fn)
  ) {
    return INVALID;
  }
  let kwargs: Record<string, unknown> = {};
  const kwEntry = read.get("policy_kwargs");
  if (kwEntry && !(isScalar(kwEntry.value) && kwEntry.value.value === null)) {
    if (!isMap(kwEntry.value)) {
      r.error(
        "type",
        kwEntry.value,
        join(path, "policy_kwargs"),
        `must be a mapping of keyword arguments, got ${describe(kwEntry.value)}`,
      );
      return INVALID;
    }
    kwargs = kwEntry.value.toJSON() as Record<string, unknown>;
  }
  return fn === INVALID || fn === null ? INVALID : { policy_function: fn, policy_kwargs: kwargs };
}

function checkPolicyFunction(r: Reader, node: Node, path: string, value: string): boolean {
  const colon = value.lastIndexOf(":");
  if (
    colon <= 0 || colon === value.length - 1 || !/^[A-Za-z_$][\w$]*$/.test(value.slice(colon + 1))
  ) {
    r.error(
      "range",
      node,
      path,
      `must be "module:exportName" (e.g. ./policies/my_policy.ts:myPolicy), got ${
        JSON.stringify(value)
      }`,
    );
    return false;
  }
  return true;
}

function readActorOptions(r: Reader, node: Node, path: string): RayActorOptions {
  const d = RAY_ACTOR_OPTIONS_DEFAULTS;
  const read = r.fields(node, path, ACTOR);
  if (read === INVALID) return { ...d };
  return {
    num_cpus: or(
      r.num(read, node, path, "num_cpus", { default: d.num_cpus, min: 0 }),
      d.num_cpus,
    ) as number,
    num_gpus: or(
      r.num(read, node, path, "num_gpus", { default: d.num_gpus, min: 0 }),
      d.num_gpus,
    ) as number,
  };
}

function readUserConfig(r: Reader, node: Node, path: string, baseDir: string): UserConfig {
  const d = USER_CONFIG_DEFAULTS;
  const defaults = (): UserConfig => ({ ...d, model: { ...d.model }, allowed_image_hosts: [] });
  const read = r.fields(node, path, USER);
  if (read === INVALID) return defaults();
  const e = read;
  const modelEntry = e.get("model");
  const model = modelEntry ? readModel(r, modelEntry.value, join(path, "model"), baseDir) : INVALID;
  const hosts = readHosts(
    r,
    e.get("allowed_image_hosts")?.value,
    join(path, "allowed_image_hosts"),
  );
  const int1 = { int: true, min: 1 };
  return {
    model: model === INVALID ? { ...d.model } : model,
    backend: or(
      r.str(e, node, path, "backend", { default: d.backend, choices: BACKENDS }),
      d.backend,
    ) as BackendName,
    top_k: or(
      r.num(e, node, path, "top_k", { default: d.top_k, ...int1, max: MAX_TOP_K }),
      d.top_k,
    ) as number,
    max_image_bytes: or(
      r.num(e, node, path, "max_image_bytes", { default: d.max_image_bytes, ...int1 }),
      d.max_image_bytes,
    ) as number,
    max_image_pixels: or(
      r.num(e, node, path, "max_image_pixels", { default: d.max_image_pixels, ...int1 }),
      d.max_image_pixels,
    ) as number,
    image_fetch_timeout_s: or(
      r.num(e, node, path, "image_fetch_timeout_s", {
        default: d.image_fetch_timeout_s,
        min: 0,
        gt: true,
      }),
      d.image_fetch_timeout_s,
    ) as number,
    allowed_image_hosts: hosts === INVALID ? [] : hosts,
  };
}

function readModel(r: Reader, node: Node, path: string, baseDir: string): Checked<ModelSpec> {
  if (isScalar(node) && typeof node.value === "string") {
    const result = interpretModelString(node.value, { baseDir });
    if ("spec" in result) return result.spec;
    r.error("range", node, path, result.error);
    return INVALID;
  }
  if (!isMap(node)) {
    r.error(
      "type",
      node,
      path,
      `must be resnet50, noop, noop:<ms>, emulate:SPEC, a path to an .onnx file, or a mapping {path: ...} | {url: ..., sha256: ...} | {noop: {service_time_ms: N}}, got ${
        describe(node)
      }`,
    );
    return INVALID;
  }
  const read = r.fields(node, path, MODEL);
  if (read === INVALID) return INVALID;
  const kinds = ["path", "url", "noop"].filter((k) => read.has(k));
  if (kinds.length !== 1) {
    r.error(
      kinds.length === 0 ? "required" : "conflict",
      node,
      path,
      `must set exactly one of path, url (with sha256) or noop, got ${
        kinds.length === 0 ? "none" : kinds.join(" and ")
      }`,
    );
    return INVALID;
  }
  if (read.has("sha256") && kinds[0] !== "url") {
    r.error("conflict", read.get("sha256")!.keyNode, join(path, "sha256"), "only goes with url");
    return INVALID;
  }
  if (kinds[0] === "path") {
    const p = r.str(read, node, path, "path", { required: true, nonEmpty: true });
    return typeof p === "string" ? { kind: "path", path: resolve(baseDir, p) } : INVALID;
  }
  if (kinds[0] === "url") {
    const url = r.str(read, node, path, "url", { required: true, nonEmpty: true });
    const sha = r.str(read, node, path, "sha256", { required: true, nonEmpty: true });
    let ok = typeof url === "string" && typeof sha === "string";
    if (typeof url === "string" && !/^https?:\/\/\S+$/.test(url)) {
      r.error(
        "range",
        read.get("url")!.value,
        join(path, "url"),
        `must be an http:// or https:// URL, got ${JSON.stringify(url)}`,
      );
      ok = false;
    }
    if (typeof sha === "string" && sha.trim() !== "" && !isSha256(sha)) {
      r.error(
        "range",
        read.get("sha256")!.value,
        join(path, "sha256"),
        `must be 64 hexadecimal digits, got ${describe(read.get("sha256")!.value)}`,
      );
      ok = false;
    }
    return ok
      ? { kind: "url", url: url as string, sha256: (sha as string).toLowerCase() }
      : INVALID;
  }
  const noopNode = read.get("noop")!.value;
  const noopPath = join(path, "noop");
  const noop = r.fields(noopNode, noopPath, NOOP);
  if (noop === INVALID) return INVALID;
  const ms = r.num(noop, noopNode, noopPath, "service_time_ms", { default: 0, min: 0 });
  return ms === INVALID ? INVALID : { kind: "noop", service_time_ms: ms as number };
}

function readHosts(r: Reader, node: Node, path: string): Checked<string[]> {
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  const items = r.seq(node, path, "host names");
  if (items === INVALID) return INVALID;
  const hosts: string[] = [];
  items.forEach((item, i) => {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== "string" || !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+)(:\d{1,5})?$/.test(v)) {
      r.error(
        "range",
        item,
        `${path}[${i}]`,
        `must be a host name or IP address, optionally with :port (no scheme, no path), got ${
          describe(item)
        }`,
      );
    } else hosts.push(v.toLowerCase());
  });
  return hosts;
}

function checkUnique(
  r: Reader,
  items: Node[],
  path: string,
  key: string,
  what: string,
  fallback?: string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isMap(item)) return;
    const pair = item.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    const valueNode = (pair?.value ?? item) as Node;
    // An absent key counts with its default (two applications without route_prefix both get "/").
    const value = pair ? (isScalar(valueNode) ? valueNode.value : undefined) : fallback;
    if (typeof value !== "string") return;
    const first = seen.get(value);
    if (first !== undefined) {
      r.error(
        "conflict",
        valueNode,
        `${path}[${i}].${key}`,
        `must be unique among ${what}, got ${JSON.stringify(value)}${
          pair ? "" : " (the default)"
        } again (also ${path}[${first}])`,
      );
    } else seen.set(value, i);
  });
}

/** The field path at an offset, for YAML syntax errors (best effort; `""` when none). */
function pathAtOffset(node: unknown, offset: number, path = ""): string {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node;
      const value = pair.value as Node;
      const start = key?.range?.[0] ?? value?.range?.[0];
      const end = value?.range?.[2] ?? key?.range?.[2];
      if (start === undefined || end === undefined) continue;
      if (offset >= start && offset <= end) {
        const name = isScalar(key) ? String(key.value) : "?";
        return pathAtOffset(value, offset, join(path, name));
      }
    }
  } else if (
    node && typeof node === "object" && "items" in node &&
    Array.isArray((node as { items: unknown[] }).items)
  ) {
    const items = (node as { items: Node[] }).items;
    for (let i = 0; i < items.length; i++) {
      const range = items[i]?.range;
      if (range && offset >= range[0] && offset <= range[2]) {
        return pathAtOffset(items[i], offset, `${path}[${i}]`);
      }
    }
  }
  return path;
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

function or<T, F>(value: Checked<T>, fallback: F): T | F {
  return value === INVALID ? fallback : value;
}
