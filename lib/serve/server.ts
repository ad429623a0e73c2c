/**
 * Starts the service: a {@linkcode ServeInstance} running every application of the config (each
 * at its route prefix, models resolved once into shared memory, one cluster's CPUs shared) behind
 * one HTTP server, the proxy: longest route-prefix match, plus `/-/healthz`, `/-/routes`,
 * `/metrics` and `/api/status` for the whole service. New configs are applied in place with
 * {@linkcode ServeHandle.apply}.
 *
 * @module
 */
import { hostHeaderProblem } from "./host_header.ts";
import { waitForThreadsToSettle } from "./_thread_settle.ts";
import { type HttpListener, serveHttp } from "./_listener.ts";
import type { ModelSpec, ServeConfig } from "../config/mod.ts";
import type { AutoscalerHandle } from "../autoscaler/mod.ts";
import { prepareEmulatedModel } from "./emulated_model.ts";
import type { Deployment } from "./deployment.ts";
import { type AppRequestRecord, jsonError } from "./http_app.ts";
import { type ApplyResult, ServeInstance } from "./instance.ts";
import type { LogLevel, PreparedModel, ServeStatusJson } from "./types.ts";
export type { PreparedModel } from "./types.ts";

/** Options of {@link prepareModel}. */
export interface PrepareModelOptions {
  /** Model cache folder (lib/model's default when omitted). */
  cacheDir?: string;
  /** Progress of a build or download. */
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
  /** One-line notes from the model store. */
  log?: (line: string) => void;
  /** Folder relative model paths are resolved against (the config file's). */
  baseDir?: string;
}

/**
 * Resolves a model spec (download/build/read through lib/model, once) and copies its bytes into
 * a SharedArrayBuffer that every replica worker receives without a copy.
 */
export async function prepareModel(
  spec: ModelSpec,
  options: PrepareModelOptions = {},
): Promise<PreparedModel> {
  if (spec.kind === "noop") {
    return {
      info: {
        name: `noop:${spec.service_time_ms}`,
        pretrained: false,
        labels_meaningful: false,
      },
      replicaModel: { kind: "noop", serviceTimeMs: spec.service_time_ms },
      warning: null,
    };
  }
  if (spec.kind === "emulate") return await prepareEmulatedModel(spec.spec);
  const { resolveModel } = await import("../model/mod.ts");
  const resolved = await resolveModel(spec, options);
  const shared = new Uint8Array(new SharedArrayBuffer(resolved.bytes.byteLength));
  shared.set(resolved.bytes);
  // The resolved copy is garbage from here on; collect it now when allowed (--expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const warning = resolved.labelsMeaningful ? null : [
    "!".repeat(78),
    "!! WARNING: this ResNet-50 has seeded random weights, NOT pretrained ones.",
    "!! Its labels are MEANINGLESS: the compute cost and shapes are ResNet-50's, the answers are not.",
    "!! For real labels run `deno task download-model` or set user_config.model to an ONNX file.",
    "!".repeat(78),
  ].join("\n");
  return {
    info: {
      name: resolved.name,
      pretrained: resolved.pretrained,
      labels_meaningful: resolved.labelsMeaningful,
    },
    replicaModel: { kind: "onnx", bytes: shared, sha256: resolved.sha256 },
    warning,
  };
}

/** Options of {@link startServe}. */
export interface StartServeOptions {
  /** The model of every deployment (`deploy --model`); default: each deployment's own. */
  model?: PreparedModel;
  /** Replaces `user_config.model` of every deployment, in every config applied (`--model`). */
  modelOverride?: ModelSpec;
  /** Resolves the models of deployments (default {@linkcode prepareModel}). */
  prepareModel?: (spec: ModelSpec) => Promise<PreparedModel>;
  /** Cluster logical CPUs (default: this machine's count), like `ray start --num-cpus`. */
  numCpus?: number;
  /** Overrides `http_options.port` (0 = any free port). */
  port?: number;
  /** Overrides `http_options.host`. */
  host?: string;
  /** Readable log lines; `level` is `INFO` when omitted. */
  log?: (line: string, level?: LogLevel) => void;
  /** Where the first autoscaled deployment writes its decisions CSV. */
  decisionsCsvPath?: string;
  /** Where each autoscaled deployment writes its decisions CSV (wins over decisionsCsvPath). */
  decisionsCsvFor?: (application: string, deployment: string) => string | undefined;
  /** Uniform [0,1) source (routing, jitter). */
  random?: () => number;
  /** Replicas loading their model at once (default: the machine's CPU count). */
  maxConcurrentStarts?: number;
}

/** A running service. */
export interface ServeHandle {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** The port the service listens on (the one the OS chose when asked for 0). */
  readonly port: number;
  /** The first application's name. */
  readonly appName: string;
  /** The first application's first deployment. */
  readonly deployment: Deployment;
  /** Every application, their config and changes. */
  readonly instance: ServeInstance;
  /** The `/api/status` document. */
  status(): ServeStatusJson;
  /** The first deployment's autoscaler, or null (read it, do not drive it). */
  readonly autoscaler: AutoscalerHandle | null;
  /** Applies a new config in place (see {@linkcode ServeInstance.apply}). */
  apply(config: ServeConfig): Promise<ApplyResult>;
  /** Observes every finished application request (dashboard); returns the unsubscribe function. */
  onAppRequest(fn: (r: AppRequestRecord) => void): () => void;
  /** Resolves once every application is RUNNING (or rejects when a deployment failed). */
  ready(options?: { timeoutMs?: number }): Promise<void>;
  /** Graceful stop: no new connections, in-flight requests finish, replicas drain. */
  shutdown(): Promise<void>;
}

/** Starts serving `config` in this process; see the module doc. Throws when it is refused. */
export async function startServe(
  config: ServeConfig,
  options: StartServeOptions,
): Promise<ServeHandle> {
  const log = options.log ?? (() => {});
  if (config.applications.length === 0) {
    throw new Error("the config has no applications; add one under applications:");
  }
  for (const app of config.applications) {
    if (app.deployments.length === 0) {
      throw new Error(`application ${app.name} has no deployments; add one under deployments:`);
    }
  }
  const fixedModel = options.model;
  const first = config.applications[0];
  const instance = new ServeInstance({
    prepareModel: fixedModel
      ? () => Promise.resolve(fixedModel)
      : options.prepareModel ?? ((spec) => prepareModel(spec, { log })),
    modelOverride: options.modelOverride,
    numCpus: options.numCpus,
    log,
    random: options.random,
    maxConcurrentStarts: options.maxConcurrentStarts,
    requestTimeoutMs: config.http_options.request_timeout_s === null
      ? null
      : config.http_options.request_timeout_s * 1000,
    decisionsCsvPath: options.decisionsCsvFor ??
      ((app, dep) =>
        app === first.name && dep === first.deployments[0].name
          ? options.decisionsCsvPath
          : undefined),
  });
  const applied = await instance.apply(config);
  if (!applied.ok) throw new Error(`the config was refused:\n  ${applied.errors.join("\n  ")}`);

  const hostname = options.host ?? config.http_options.host;
  const port = options.port ?? config.http_options.port;
  let listening!: { hostname: string; port: number };
  let server: HttpListener;
  try {
    server = await serveHttp({
      http: config.http_options,
      hostname,
      port,
      onListen: (addr) => {
        listening = addr;
      },
      onError: (error) => {
        log(`internal error while handling a request: ${(error as Error)?.stack ?? error}`);
        return jsonError(500, "internal_error", String((error as Error)?.message));
      },
    }, createProxyHandler(instance));
  } catch (error) {
    await instance.shutdown();
    throw error;
  }
  const host = listening.hostname.includes(":") ? `[${listening.hostname}]` : listening.hostname;
  const url = `http://${host}:${listening.port}`;

  let shuttingDown: Promise<void> | null = null;
  // The first deployment stays readable after shutdown removed it (the dashboard reads it).
  let lastFirst = instance.first()!;
  const firstOf = () => (lastFirst = instance.first() ?? lastFirst);
  return {
    url,
    port: listening.port,
    instance,
    get appName() {
      return firstOf().appName;
    },
    get deployment() {
      return firstOf().deployment;
    },
    get autoscaler() {
      return firstOf().autoscaler;
    },
    status: () => instance.status(),
    apply: (next) => instance.apply(next),
    onAppRequest: (fn) => instance.onAppRequest(fn),
    ready: (o) => instance.ready(o),
    shutdown() {
      shuttingDown ??= (async () => {
        log("shutting down: no new connections; finishing in-flight requests");
        const timeouts = (instance.config?.applications ?? []).flatMap((a) =>
          a.deployments.map((d) => d.graceful_shutdown_timeout_s)
        );
        const capMs = (Math.max(0, ...timeouts) + 5) * 1000;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const httpDone = server.shutdown();
        await Promise.race([httpDone, new Promise((r) => timer = setTimeout(r, capMs))]);
        clearTimeout(timer);
        await instance.shutdown();
        // The workers' native teardown (onnxruntime, libvips) must end before the process may.
        await waitForThreadsToSettle();
        log("shutdown complete");
      })();
      return shuttingDown;
    },
  };
}

/**
 * The HTTP proxy: the service-wide routes, then the application at the longest route prefix
 * matching the path (its handler answers POSTs there), else a JSON 404 naming the routes.
 */
export function createProxyHandler(
  instance: Pick<ServeInstance, "routes" | "route" | "status" | "renderMetrics">,
): (req: Request) => Promise<Response> {
  const json = (value: unknown) =>
    new Response(JSON.stringify(value) + "\n", {
      headers: { "content-type": "application/json" },
    });
  const onlyGet = (method: string, path: string) =>
    jsonError(405, "method_not_allowed", `${method} is not allowed on ${path}; use GET`, {
      allow: "GET",
    });
  return (req: Request): Promise<Response> => {
    // Before anything reads the URL: a malformed Host makes req.url unparsable or re-routes it.
    const badHost = hostHeaderProblem(req);
    if (badHost) {
      return Promise.resolve(jsonError(400, "bad_host", badHost, { connection: "close" }));
    }
    const path = pathOf(req.url);
    const method = req.method;
    if (path === "/-/healthz" || path === "/healthz") {
      if (method !== "GET" && method !== "HEAD") return Promise.resolve(onlyGet(method, path));
      const apps = Object.entries(instance.status().applications);
      const notReady = apps.filter(([, a]) => a.status !== "RUNNING");
      if (apps.length > 0 && notReady.length === 0) {
        return Promise.resolve(
          new Response("success", { headers: { "content-type": "text/plain" } }),
        );
      }
      const detail = apps.length === 0
        ? "no application is running"
        : notReady.map(([n, a]) =>
          `application ${n} is ${a.status}` + (a.message ? `: ${a.message}` : "")
        )
          .join("; ");
      return Promise.resolve(jsonError(503, "not_ready", detail));
    }
    if (path === "/-/routes") {
      if (method !== "GET") return Promise.resolve(onlyGet(method, path));
      const routes = [...instance.routes].sort((a, b) =>
        a.routePrefix.localeCompare(b.routePrefix)
      );
      return Promise.resolve(
        json(Object.fromEntries(routes.map((r) => [r.routePrefix, r.appName]))),
      );
    }
    if (path === "/metrics") {
      if (method !== "GET") return Promise.resolve(onlyGet(method, path));
      return Promise.resolve(
        new Response(instance.renderMetrics(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        }),
      );
    }
    if (path === "/api/status") {
      if (method !== "GET") return Promise.resolve(onlyGet(method, path));
      return Promise.resolve(json(instance.status()));
    }
    const route = instance.route(path);
    if (route !== null) return route.handler(req);
    const known = instance.routes.map((r) => r.routePrefix).join(", ") || "none";
    return Promise.resolve(
      jsonError(
        404,
        "not_found",
        `no route ${method} ${path}; applications are served at ${known}; or GET /-/healthz, ` +
          `/-/routes, /metrics, /api/status`,
      ),
    );
  };
}

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  for (const c of ["?", "#"]) {
    const i = url.indexOf(c, start);
    if (i >= 0 && i < end) end = i;
  }
  return url.slice(start, end);
}
