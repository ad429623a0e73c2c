/**
 * The running service as Ray's Serve controller keeps it (issue 15): every application of the
 * config, each at its route prefix, each deployment with its own replicas, router, autoscaler,
 * metrics labels and status, all sharing one cluster's logical CPUs. {@linkcode ServeInstance.apply}
 * takes a whole new config as `serve deploy` does: it is checked first and refused as a whole
 * (nothing changes), then applied per deployment as {@linkcode planApply} says — lightweight
 * updates in place, rolling updates one replica at a time, removed applications drained, new
 * ones started. Every change is logged and kept as a config event (status, dashboard marks).
 *
 * @module
 */
import type { ApplicationConfig, DeploymentConfig, ModelSpec, ServeConfig } from "../config/mod.ts";
import { type AutoscalerHandle, startAutoscaler } from "../autoscaler/mod.ts";
import {
  type ApplyPlan,
  checkApplyable,
  type DeploymentChange,
  planApply,
  sameScaling,
} from "./apply_plan.ts";
import { Cluster, machineCpuCount } from "./cluster.ts";
import { Deployment } from "./deployment.ts";
import {
  type AppRequestRecord,
  createHttpHandler,
  MEANINGLESS_LABELS,
  normaliseRoutePrefix,
} from "./http_app.ts";
import { backendChoiceJson, replicaOptions } from "./_replica_options.ts";
import { Registry, renderRegistries } from "./metrics.ts";
import type {
  ApplicationStatus,
  ConfigEventJson,
  DeploymentStatusJson,
  LogLevel,
  PreparedModel,
  ServeStatusJson,
} from "./types.ts";

/** Options of {@linkcode ServeInstance}. */
export interface ServeInstanceOptions {
  /** Resolves a model (called once per distinct spec; the instance caches the promise). */
  prepareModel(spec: ModelSpec): Promise<PreparedModel>;
  /** Cluster logical CPUs (default: this machine's count). */
  numCpus?: number;
  /** Readable log lines. */
  log?: (line: string, level?: LogLevel) => void;
  /** Where a deployment's autoscaler writes its decisions CSV (undefined: nowhere). */
  decisionsCsvPath?: (application: string, deployment: string) => string | undefined;
  /** Replaces `user_config.model` of every deployment (`deploy --model`). */
  modelOverride?: ModelSpec;
  /** `http_options.request_timeout_s` in ms, or null. */
  requestTimeoutMs?: number | null;
  /** Uniform [0,1) source (routing, jitter). */
  random?: () => number;
  /** Replicas loading their model at once, per deployment. */
  maxConcurrentStarts?: number;
}

/** One config change, as status and the dashboard show it. */
export type ConfigEvent = ConfigEventJson;

/** What {@linkcode ServeInstance.apply} answers. */
export type ApplyResult =
  | { ok: true; plan: ApplyPlan }
  | { ok: false; errors: string[] };

interface DeploymentRuntime {
  deployment: Deployment;
  autoscaler: AutoscalerHandle | null;
  model: PreparedModel;
}

interface AppRuntime {
  config: ApplicationConfig;
  routePrefix: string;
  registry: Registry;
  deployments: Map<string, DeploymentRuntime>;
  handler: (req: Request) => Promise<Response>;
  lastDeployedS: number;
}

/** A route of the HTTP proxy: longest prefix first. */
export interface AppRoute {
  /** Normalised route prefix: `/` or `/something` (no trailing slash). */
  routePrefix: string;
  /** Name of the application served under the prefix. */
  appName: string;
  /** The application's HTTP handler. */
  handler: (req: Request) => Promise<Response>;
}

const MAX_EVENTS = 100;
const APP_CODES: Record<ApplicationStatus, number> = {
  DEPLOY_FAILED: 1,
  UNHEALTHY: 2,
  DELETING: 4,
  DEPLOYING: 5,
  RUNNING: 6,
};

/** The applications of a running service; see the module doc. */
export class ServeInstance {
  /** The logical CPUs every deployment shares. */
  readonly cluster: Cluster;
  /** Service-level metrics (application status, cluster CPUs). */
  readonly registry: Registry = new Registry();
  readonly #o: ServeInstanceOptions;
  readonly #log: (line: string, level?: LogLevel) => void;
  readonly #apps = new Map<string, AppRuntime>();
  readonly #deleting = new Map<string, AppRuntime>();
  /** Drains in progress (removed applications and deployments). */
  readonly #draining = new Set<Promise<unknown>>();
  readonly #models = new Map<string, Promise<PreparedModel>>();
  readonly #events: ConfigEvent[] = [];
  readonly #requestObservers = new Set<(r: AppRequestRecord) => void>();
  #config: ServeConfig | null = null;
  #applying: Promise<unknown> = Promise.resolve();
  #routes: AppRoute[] = [];
  #stopped = false;

  /** An instance with no applications; {@linkcode ServeInstance.apply} a config. */
  constructor(options: ServeInstanceOptions) {
    this.#o = options;
    this.#log = options.log ?? (() => {});
    this.cluster = new Cluster(options.numCpus ?? machineCpuCount());
    const appStatus = this.registry.gauge(
      "ray_serve_application_status",
      "0 UNKNOWN, 1 DEPLOY_FAILED, 2 UNHEALTHY, 3 NOT_STARTED, 4 DELETING, 5 DEPLOYING, 6 RUNNING.",
      ["application"],
    );
    appStatus.collect = () => {
      appStatus.clear();
      for (const [name, s] of Object.entries(this.status().applications)) {
        appStatus.set([name], APP_CODES[s.status]);
      }
    };
    const cpus = this.registry.gauge(
      "autoscale_lab_cluster_cpus",
      "Cluster logical CPUs: total and used by replicas (no Ray Serve counterpart).",
      ["kind"],
    );
    cpus.collect = () => {
      cpus.set(["total"], this.cluster.numCpus);
      cpus.set(["used"], this.cluster.cpusUsed);
    };
  }

  /** The config in force (the last one applied), or null. */
  get config(): ServeConfig | null {
    return this.#config;
  }

  /** Routes for the HTTP proxy, longest prefix first. */
  get routes(): readonly AppRoute[] {
    return this.#routes;
  }

  /** Recent config events, oldest first. */
  get configEvents(): readonly ConfigEvent[] {
    return this.#events;
  }

  /** The first application's first deployment (single-application callers). */
  first(): { appName: string; deployment: Deployment; autoscaler: AutoscalerHandle | null } | null {
    for (const [appName, app] of this.#apps) {
      for (const d of app.deployments.values()) {
        return { appName, deployment: d.deployment, autoscaler: d.autoscaler };
      }
    }
    return null;
  }

  /** Observes every finished application request; returns the unsubscribe function. */
  onAppRequest(fn: (r: AppRequestRecord) => void): () => void {
    this.#requestObservers.add(fn);
    return () => this.#requestObservers.delete(fn);
  }

  /**
   * Applies `config` as a whole (one apply at a time, in call order): refused with the reasons
   * when it cannot run (nothing changes then), else every application of it runs from now on.
   */
  apply(config: ServeConfig): Promise<ApplyResult> {
    const run = this.#applying.then(() => this.#apply(config));
    this.#applying = run.catch(() => {});
    return run;
  }

  async #apply(input: ServeConfig): Promise<ApplyResult> {
    if (this.#stopped) return { ok: false, errors: ["the service is shutting down"] };
    const config = this.#withModelOverride(input);
    const errors: string[] = [];
    if (config.applications.length === 0) errors.push("the config has no applications");
    // On a running service a config that cannot fit is refused (its applications are left
    // running); the first deploy runs it, and replicas that do not fit wait in
    // PENDING_ALLOCATION, visibly, as the design says.
    for (const problem of checkApplyable(config, { numCpus: this.cluster.numCpus })) {
      if (this.#config !== null) errors.push(problem);
      else this.#log(`warning: ${problem}`, "WARN");
    }
    if (errors.length > 0) return { ok: false, errors };
    const plan = planApply(this.#config, config);
    // Every model a new replica needs is resolved before anything changes.
    const models = new Map<string, PreparedModel>();
    try {
      for (const app of config.applications) {
        for (const dep of app.deployments) {
          const key = modelKey(dep.user_config.model);
          if (!models.has(key)) models.set(key, await this.#model(dep.user_config.model));
        }
      }
    } catch (error) {
      return { ok: false, errors: [`cannot load the model: ${(error as Error).message}`] };
    }
    const kinds = new Map(plan.changes.map((c) => [`${c.application}/${c.deployment}`, c]));
    const keep = new Set(config.applications.map((a) => a.name));
    for (const [name, app] of this.#apps) {
      if (!keep.has(name)) this.#removeApp(name, app);
    }
    for (const appConfig of config.applications) {
      const model = (d: DeploymentConfig) => models.get(modelKey(d.user_config.model))!;
      this.#applyApp(appConfig, { changes: kinds, model, sourcePath: config.source_path });
    }
    for (const line of plan.ignored) this.#log(`apply: ignored ${line}`, "WARN");
    this.#config = config;
    this.#rebuildRoutes();
    for (const key of [...this.#models.keys()]) if (!models.has(key)) this.#models.delete(key);
    return { ok: true, plan };
  }

  #applyApp(
    cfg: ApplicationConfig,
    ctx: {
      changes: Map<string, DeploymentChange>;
      model: (d: DeploymentConfig) => PreparedModel;
      sourcePath: string | null;
    },
  ): void {
    let app = this.#apps.get(cfg.name);
    const routePrefix = normaliseRoutePrefix(cfg.route_prefix);
    let newHandler = false;
    if (app === undefined) {
      newHandler = true;
      app = {
        config: cfg,
        routePrefix,
        registry: new Registry(),
        deployments: new Map(),
        handler: null!,
        lastDeployedS: Date.now() / 1000,
      };
      this.#apps.set(cfg.name, app);
      this.#log(`[${cfg.name}] new application at ${routePrefix}`);
    } else if (app.routePrefix !== routePrefix) {
      this.#log(`[${cfg.name}] route prefix ${app.routePrefix} -> ${routePrefix}`);
      app.routePrefix = routePrefix;
      newHandler = true;
    }
    app.config = cfg;
    const names = new Set(cfg.deployments.map((d) => d.name));
    for (const [name, rt] of app.deployments) {
      if (names.has(name)) continue;
      app.deployments.delete(name);
      this.#event(cfg.name, name, "removed", "removed from the config: draining");
      this.#track(rt.deployment.shutdown());
    }
    for (const dep of cfg.deployments) {
      const change = ctx.changes.get(`${cfg.name}/${dep.name}`);
      const kind = change?.kind ?? "added";
      const rt = app.deployments.get(dep.name);
      if (rt === undefined || kind === "added") {
        app.deployments.set(dep.name, this.#startDeployment(app, dep, ctx));
        this.#event(cfg.name, dep.name, "added", "started");
        continue;
      }
      if (kind === "unchanged") continue;
      app.lastDeployedS = Date.now() / 1000;
      const summary = change!.fields.join("; ");
      this.#event(cfg.name, dep.name, kind, summary);
      this.#updateAutoscaler(app, rt, dep, ctx.sourcePath, () => {
        if (kind === "lightweight") {
          rt.deployment.reconfigure(dep);
          return;
        }
        rt.model = ctx.model(dep);
        rt.deployment.rollingUpdate(dep, replicaOptions(dep, rt.model, this.cluster.numCpus)).then((
          result,
        ) => this.#log(`[${cfg.name}/${dep.name}] rolling update ${result}`));
      });
    }
    // After the deployments: the handler labels its metrics with the ingress deployment's name.
    if (newHandler) app.handler = this.#appHandler(app);
  }

  /** Applies the deployment change (`apply`) with the autoscaler started, stopped or reconfigured. */
  #updateAutoscaler(
    app: AppRuntime,
    rt: DeploymentRuntime,
    dep: DeploymentConfig,
    sourcePath: string | null,
    apply: () => void,
  ): void {
    const next = dep.autoscaling_config;
    if (next === null && rt.autoscaler !== null) {
      rt.deployment.detachAutoscaler();
      rt.autoscaler = null;
    }
    apply();
    if (next !== null && rt.autoscaler === null) {
      rt.autoscaler = this.#startAutoscaler(app, rt.deployment, dep, sourcePath);
    } else if (next !== null && rt.autoscaler !== null) {
      const current = rt.autoscaler.controller.config;
      const same = JSON.stringify(sameScaling(current)) === JSON.stringify(sameScaling(next));
      if (!same) rt.autoscaler.reconfigure(next);
    }
  }

  #startDeployment(
    app: AppRuntime,
    dep: DeploymentConfig,
    ctx: { model: (d: DeploymentConfig) => PreparedModel; sourcePath: string | null },
  ): DeploymentRuntime {
    const model = ctx.model(dep);
    const label = `${app.config.name}/${dep.name}`;
    const deployment = new Deployment(dep, {
      appName: app.config.name,
      route: app.routePrefix,
      cluster: this.cluster,
      registry: app.registry,
      random: this.#o.random,
      maxConcurrentStarts: this.#o.maxConcurrentStarts,
      log: (line, level) => this.#log(`[${label}] ${line}`, level),
      replicaOptions: replicaOptions(dep, model, this.cluster.numCpus),
    });
    deployment.start();
    const autoscaler = dep.autoscaling_config
      ? this.#startAutoscaler(app, deployment, dep, ctx.sourcePath)
      : null;
    return { deployment, autoscaler, model };
  }

  #startAutoscaler(
    app: AppRuntime,
    deployment: Deployment,
    dep: DeploymentConfig,
    sourcePath: string | null,
  ): AutoscalerHandle {
    const label = `${app.config.name}/${dep.name}`;
    const autoscaler = startAutoscaler(deployment, {
      config: dep.autoscaling_config!,
      appName: app.config.name,
      deploymentName: dep.name,
      log: (line) => this.#log(`[${label}] autoscaler: ${line}`),
      decisionsCsvPath: this.#o.decisionsCsvPath?.(app.config.name, dep.name),
      policyBaseDir: sourcePath ? dirname(sourcePath) : undefined,
    });
    deployment.attachAutoscaler(autoscaler);
    autoscaler.ready.then((loaded) => {
      if (!loaded.ok) this.#log(`[${label}] autoscaler: ${autoscaler.status().message}`, "WARN");
    });
    return autoscaler;
  }

  #removeApp(name: string, app: AppRuntime, why = "removed from the config"): void {
    this.#apps.delete(name);
    this.#deleting.set(name, app);
    for (const dep of app.deployments.keys()) this.#event(name, dep, "removed", `${why}: draining`);
    this.#log(`[${name}] application ${why}: draining`);
    this.#track(
      Promise.all([...app.deployments.values()].map((d) => d.deployment.shutdown())).finally(() => {
        if (this.#deleting.get(name) === app) this.#deleting.delete(name);
        this.#log(`[${name}] application deleted`);
      }),
    );
  }

  #track(drain: Promise<unknown>): void {
    const p = drain.catch((error) => this.#log(`drain failed: ${(error as Error)?.message}`));
    this.#draining.add(p);
    p.finally(() => this.#draining.delete(p));
  }

  #appHandler(app: AppRuntime): (req: Request) => Promise<Response> {
    const status = () => this.status();
    const applicationStatus = () => this.#appStatus(app);
    const ingress = () => app.deployments.get(app.config.deployments[0].name)!;
    return createHttpHandler({
      appName: app.config.name,
      routePrefix: app.routePrefix,
      registry: app.registry,
      get deployment() {
        return ingress().deployment;
      },
      get topK() {
        return ingress().deployment.config.user_config.top_k;
      },
      get maxImageBytes() {
        return ingress().deployment.config.user_config.max_image_bytes;
      },
      get modelName() {
        return ingress().model.info.name;
      },
      // The no-op and emulated models' labels need no warning; a real network with seeded weights does.
      get labelsNote() {
        const model = ingress().model;
        return model.replicaModel.kind === "onnx" && !model.info.labels_meaningful
          ? MEANINGLESS_LABELS
          : null;
      },
      status,
      applicationStatus,
      requestTimeoutMs: this.#o.requestTimeoutMs ?? null,
      onAppRequest: (r) => {
        for (const fn of this.#requestObservers) {
          try {
            fn(r);
          } catch (error) {
            this.#log(`request observer failed (ignored): ${(error as Error)?.message ?? error}`);
          }
        }
      },
    });
  }

  #rebuildRoutes(): void {
    this.#routes = [...this.#apps.values()]
      .map((a) => ({ routePrefix: a.routePrefix, appName: a.config.name, handler: a.handler }))
      .sort((a, b) => b.routePrefix.length - a.routePrefix.length);
  }

  /** The application at the longest route prefix matching `path`, or null. */
  route(path: string): AppRoute | null {
    for (const r of this.#routes) {
      const p = r.routePrefix;
      if (p === "/" || path === p || path.startsWith(p + "/")) return r;
    }
    return null;
  }

  #appStatus(app: AppRuntime): { status: ApplicationStatus; message: string } {
    const statuses = [...app.deployments.entries()].map(([name, d]) => ({
      name,
      s: d.deployment.currentStatus(),
    }));
    const named = (pred: (s: { status: string; trigger: string }) => boolean) =>
      statuses.filter((x) => pred(x.s)).map((x) => `'${x.name}'`).join(", ");
    const failed = named((s) => s.status === "DEPLOY_FAILED");
    if (failed) {
      return { status: "DEPLOY_FAILED", message: `Failed to update the deployments [${failed}].` };
    }
    const unhealthy = named((s) => s.status === "UNHEALTHY");
    if (unhealthy) {
      return { status: "UNHEALTHY", message: `The deployments [${unhealthy}] are UNHEALTHY.` };
    }
    if (named((s) => s.status === "UPDATING" || s.trigger === "CONFIG_UPDATE_STARTED")) {
      return { status: "DEPLOYING", message: "" };
    }
    return { status: "RUNNING", message: "" };
  }

  /** The `/api/status` document: every application, deleting ones included. */
  status(): ServeStatusJson {
    const applications: ServeStatusJson["applications"] = {};
    const add = (name: string, app: AppRuntime, deleting: boolean) => {
      const s = deleting ? { status: "DELETING" as const, message: "" } : this.#appStatus(app);
      const deployments: Record<string, DeploymentStatusJson> = {};
      for (const [dep, d] of app.deployments) {
        deployments[dep] = { ...d.deployment.statusJson(), model: d.model.info.name };
      }
      applications[name] = {
        status: s.status,
        message: s.message,
        route_prefix: app.routePrefix,
        last_deployed_time_s: app.lastDeployedS,
        deployments,
      };
    };
    for (const [name, app] of this.#apps) add(name, app, false);
    for (const [name, app] of this.#deleting) if (!this.#apps.has(name)) add(name, app, true);
    const first = [...this.#apps.values()][0]?.deployments.values().next().value;
    const model = first?.model;
    const backend = first?.deployment.replicas.find((r) => r.backend)?.backend ??
      (model?.replicaModel.kind === "onnx"
        ? first!.deployment.config.user_config.backend
        : model?.replicaModel.kind ?? "none");
    return {
      applications,
      model: model
        ? { ...model.info, backend, ...backendChoiceJson(first!.deployment.replicas) }
        : { name: "none", pretrained: false, labels_meaningful: false, backend },
      cluster: { num_cpus: this.cluster.numCpus, cpus_used: this.cluster.cpusUsed },
      config_events: this.#events.slice(-50),
    };
  }

  /** `/metrics`: every application's series (labelled application, deployment) and the service's. */
  renderMetrics(): string {
    const registries = [this.registry, ...[...this.#apps.values()].map((a) => a.registry)];
    return renderRegistries(registries);
  }

  /** Resolves once every application is RUNNING; rejects when one failed or on timeout. */
  async ready(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const apps = Object.entries(this.status().applications);
      const failed = apps.find(([, a]) => a.status === "DEPLOY_FAILED");
      if (failed) {
        const deps = Object.values(failed[1].deployments).map((d) => d.message).join(" ");
        throw new Error(`${failed[1].message} ${deps}`.trim());
      }
      if (apps.every(([, a]) => a.status === "RUNNING")) return;
      if (Date.now() > deadline) {
        const waiting = apps.filter(([, a]) => a.status !== "RUNNING")
          .map(([n, a]) => `${n} (${a.status})`).join(", ");
        throw new Error(`not RUNNING after ${timeoutMs} ms: ${waiting}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Whether a deployment gave up starting replicas and has none serving. */
  get deployFailed(): boolean {
    for (const app of this.#apps.values()) {
      for (const d of app.deployments.values()) if (d.deployment.deployFailed) return true;
    }
    return false;
  }

  /** Drains and removes every application (Ray's `serve shutdown`); no more applies. */
  async shutdown(): Promise<void> {
    this.#stopped = true; // applies queued from now on are refused
    await this.#applying;
    for (const [name, app] of [...this.#apps]) this.#removeApp(name, app, "shutting down");
    this.#rebuildRoutes();
    while (this.#draining.size > 0) await Promise.all([...this.#draining]);
  }

  #event(application: string, deployment: string, kind: ConfigEvent["kind"], summary: string) {
    const event = { time_ms: Date.now(), application, deployment, kind, summary };
    this.#events.push(event);
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
    this.#log(`[${application}/${deployment}] config update (${kind}): ${summary}`);
  }

  #model(spec: ModelSpec): Promise<PreparedModel> {
    const key = modelKey(spec);
    let p = this.#models.get(key);
    if (p === undefined) {
      p = this.#o.prepareModel(spec);
      this.#models.set(key, p);
      p.catch(() => this.#models.delete(key));
    }
    return p;
  }

  #withModelOverride(config: ServeConfig): ServeConfig {
    const model = this.#o.modelOverride;
    if (model === undefined) return config;
    return {
      ...config,
      applications: config.applications.map((a) => ({
        ...a,
        deployments: a.deployments.map((d) => ({ ...d, user_config: { ...d.user_config, model } })),
      })),
    };
  }
}

function modelKey(spec: ModelSpec): string {
  return JSON.stringify(spec);
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
