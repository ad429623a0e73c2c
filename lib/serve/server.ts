/**
 * Starts the service: resolves the model into shared memory once, creates the cluster, the
 * deployment (replica pool + router), the HTTP server, and — when `autoscaling_config` is set —
 * the autoscaler. Serves the first application of the config and its first deployment.
 *
 * @module
 */
import type { ModelSpec, ServeConfig } from "../config/mod.ts";
import {
  type AutoscalerHandle,
  type AutoscalingTarget,
  startAutoscaler,
} from "../autoscaler/mod.ts";
import { Cluster, machineCpuCount, sessionThreads } from "./cluster.ts";
import { prepareEmulatedModel } from "./emulated_model.ts";
import { Deployment } from "./deployment.ts";
import { type AppRequestRecord, createHttpHandler, normaliseRoutePrefix } from "./http_app.ts";
import { Registry } from "./metrics.ts";
import type {
  ApplicationStatus,
  LogLevel,
  ModelInfo,
  ReplicaModel,
  ServeStatusJson,
} from "./types.ts";

/**
 * A model ready to hand to replicas: ONNX bytes in one SharedArrayBuffer, the no-op model, or the
 * emulated model.
 */
export interface PreparedModel {
  /** Name, pretrained and labels flags for status. */
  info: Omit<ModelInfo, "backend">;
  /** What every replica receives (the same shared bytes, never a per-replica copy). */
  replicaModel: ReplicaModel;
  /** A loud warning to print (e.g. seeded weights with meaningless labels), or null. */
  warning: string | null;
}

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
    `!! WARNING: serving ${resolved.name}, whose weights are NOT pretrained (seeded random).`,
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
  model: PreparedModel;
  /** Cluster logical CPUs (default: this machine's count), like `ray start --num-cpus`. */
  numCpus?: number;
  /** Overrides `http_options.port` (0 = any free port). */
  port?: number;
  /** Overrides `http_options.host`. */
  host?: string;
  /** Readable log lines; `level` is `INFO` when omitted. */
  log?: (line: string, level?: LogLevel) => void;
  /** Where the autoscaler writes its decisions CSV (if autoscaling). */
  decisionsCsvPath?: string;
  /** Uniform [0,1) source (routing, jitter). */
  random?: () => number;
  /** Replicas loading their model at once (default: the machine's CPU count). */
  maxConcurrentStarts?: number;
}

/** A running service. */
export interface ServeHandle {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly port: number;
  readonly appName: string;
  readonly deployment: Deployment;
  /** The `/api/status` document. */
  status(): ServeStatusJson;
  /** The deployment's autoscaler, or null without `autoscaling_config` (read it, do not drive it). */
  readonly autoscaler: AutoscalerHandle | null;
  /** Observes every finished application request (dashboard); returns the unsubscribe function. */
  onAppRequest(fn: (r: AppRequestRecord) => void): () => void;
  /** Resolves once the application is RUNNING (or rejects when its deployment failed). */
  ready(options?: { timeoutMs?: number }): Promise<void>;
  /** Graceful stop: no new connections, in-flight requests finish, replicas drain. */
  shutdown(): Promise<void>;
}

/** Starts serving `config` in this process; see the module doc. */
export async function startServe(
  config: ServeConfig,
  options: StartServeOptions,
): Promise<ServeHandle> {
  const log = options.log ?? (() => {});
  const app = config.applications[0];
  if (!app) throw new Error("the config has no applications; add one under applications:");
  if (config.applications.length > 1) {
    log(`note: serving only the first application (${app.name}); others are ignored`);
  }
  const dep = app.deployments[0];
  if (!dep) {
    throw new Error(`application ${app.name} has no deployments; add one under deployments:`);
  }
  if (app.deployments.length > 1) {
    log(`note: serving only the first deployment (${dep.name}) of ${app.name}`);
  }
  const numCpus = options.numCpus ?? machineCpuCount();
  const cluster = new Cluster(numCpus);
  const registry = new Registry();
  const routePrefix = normaliseRoutePrefix(app.route_prefix);
  const uc = dep.user_config;
  const deployment = new Deployment(dep, {
    appName: app.name,
    route: routePrefix,
    cluster,
    registry,
    random: options.random,
    maxConcurrentStarts: options.maxConcurrentStarts,
    log: (line, level) => log(`[${app.name}/${dep.name}] ${line}`, level),
    replicaOptions: {
      model: options.model.replicaModel,
      backend: uc.backend,
      threads: sessionThreads(dep.ray_actor_options.num_cpus),
      maxImageBytes: uc.max_image_bytes,
      maxImagePixels: uc.max_image_pixels,
      imageFetchTimeoutMs: uc.image_fetch_timeout_s * 1000,
      allowedImageHosts: uc.allowed_image_hosts,
    },
  });
  const lastDeployedS = Date.now() / 1000;

  const appStatus = (): { status: ApplicationStatus; message: string } => {
    const s = deployment.currentStatus();
    if (s.status === "DEPLOY_FAILED") {
      return {
        status: "DEPLOY_FAILED",
        message: `Failed to update the deployments ['${dep.name}'].`,
      };
    }
    if (s.status === "UNHEALTHY") {
      return { status: "UNHEALTHY", message: `The deployments ['${dep.name}'] are UNHEALTHY.` };
    }
    if (s.status === "UPDATING" || s.trigger === "CONFIG_UPDATE_STARTED") {
      return { status: "DEPLOYING", message: "" };
    }
    return { status: "RUNNING", message: "" };
  };

  const status = (): ServeStatusJson => {
    const a = appStatus();
    const backend = deployment.replicas.find((r) => r.backend)?.backend ??
      (options.model.replicaModel.kind === "onnx" ? uc.backend : options.model.replicaModel.kind);
    return {
      applications: {
        [app.name]: {
          status: a.status,
          message: a.message,
          route_prefix: routePrefix,
          last_deployed_time_s: lastDeployedS,
          deployments: { [dep.name]: deployment.statusJson() },
        },
      },
      model: { ...options.model.info, backend },
      cluster: { num_cpus: cluster.numCpus, cpus_used: cluster.cpusUsed },
    };
  };

  const appStatusMetric = registry.gauge(
    "ray_serve_application_status",
    "0 UNKNOWN, 1 DEPLOY_FAILED, 2 UNHEALTHY, 3 NOT_STARTED, 4 DELETING, 5 DEPLOYING, 6 RUNNING.",
    ["application"],
  );
  const APP_CODES: Record<ApplicationStatus, number> = {
    DEPLOY_FAILED: 1,
    UNHEALTHY: 2,
    DEPLOYING: 5,
    RUNNING: 6,
  };
  appStatusMetric.collect = () => appStatusMetric.set([app.name], APP_CODES[appStatus().status]);
  const cpuMetric = registry.gauge(
    "autoscale_lab_cluster_cpus",
    "Cluster logical CPUs: total and used by replicas (no Ray Serve counterpart).",
    ["kind"],
  );
  cpuMetric.collect = () => {
    cpuMetric.set(["total"], cluster.numCpus);
    cpuMetric.set(["used"], cluster.cpusUsed);
  };

  const requestObservers = new Set<(r: AppRequestRecord) => void>();
  const handler = createHttpHandler({
    appName: app.name,
    routePrefix,
    deployment,
    registry,
    status,
    applicationStatus: appStatus,
    requestTimeoutMs: config.http_options.request_timeout_s === null
      ? null
      : config.http_options.request_timeout_s * 1000,
    topK: uc.top_k,
    maxImageBytes: uc.max_image_bytes,
    modelName: options.model.info.name,
    onAppRequest: (r) => {
      for (const fn of requestObservers) {
        try {
          fn(r);
        } catch (error) {
          log(`request observer failed (ignored): ${(error as Error)?.message ?? error}`);
        }
      }
    },
  });

  const hostname = options.host ?? config.http_options.host;
  const port = options.port ?? config.http_options.port;
  let listening!: { hostname: string; port: number };
  const server = Deno.serve({
    hostname,
    port,
    onListen: (addr) => {
      listening = addr;
    },
    onError: (error) => {
      log(`internal error while handling a request: ${(error as Error)?.stack ?? error}`);
      return new Response(
        JSON.stringify({ error: "internal_error", detail: String((error as Error)?.message) }),
        { status: 500, headers: { "content-type": "application/json" } },
      );
    },
  }, handler);
  const host = listening.hostname.includes(":") ? `[${listening.hostname}]` : listening.hostname;
  const url = `http://${host}:${listening.port}`;

  deployment.start();

  // ==== AUTOSCALER SEAM: the one place the autoscaler is started ==============================
  let autoscaler: AutoscalerHandle | null = null;
  if (dep.autoscaling_config) {
    autoscaler = startAutoscaler(deployment satisfies AutoscalingTarget, {
      config: dep.autoscaling_config,
      appName: app.name,
      deploymentName: dep.name,
      log: (line) => log(`[${app.name}/${dep.name}] autoscaler: ${line}`),
      decisionsCsvPath: options.decisionsCsvPath,
      policyBaseDir: config.source_path ? dirname(config.source_path) : undefined,
    });
    deployment.attachAutoscaler(autoscaler);
    const loaded = await autoscaler.ready; // a custom policy_function is imported first
    if (!loaded.ok) log(`[${app.name}/${dep.name}] autoscaler: ${autoscaler.status().message}`);
  }
  // ============================================================================================

  let shuttingDown: Promise<void> | null = null;
  return {
    url,
    port: listening.port,
    appName: app.name,
    deployment,
    status,
    autoscaler,
    onAppRequest(fn) {
      requestObservers.add(fn);
      return () => requestObservers.delete(fn);
    },
    async ready({ timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = appStatus();
        if (s.status === "RUNNING") return;
        if (s.status === "DEPLOY_FAILED") {
          throw new Error(`${s.message} ${deployment.currentStatus().message}`);
        }
        if (Date.now() > deadline) {
          throw new Error(
            `application ${app.name} not RUNNING after ${timeoutMs} ms (${s.status})`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    shutdown() {
      shuttingDown ??= (async () => {
        log("shutting down: no new connections; finishing in-flight requests");
        deployment.autoscaler?.stop();
        const capMs = (dep.graceful_shutdown_timeout_s + 5) * 1000;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const httpDone = server.shutdown();
        await Promise.race([httpDone, new Promise((r) => timer = setTimeout(r, capMs))]);
        clearTimeout(timer);
        await deployment.shutdown();
        log("shutdown complete");
      })();
      return shuttingDown;
    },
  };
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
