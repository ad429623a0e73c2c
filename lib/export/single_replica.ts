/**
 * The single-replica server: one replica of a deployment behind the project's own HTTP app, no
 * autoscaler, for one pod of a Knative Service or a KEDA-scaled Deployment (the platform's
 * autoscaler is in charge). It is `startServe` (lib/serve's public API: the same replica handler,
 * router, HTTP API, errors, `/healthz` and `/metrics` as `deno task deploy`) given the config
 * with `num_replicas: 1` and no `autoscaling_config`, on the port the platform names.
 *
 * @module
 */
import type { ServeConfig } from "../config/mod.ts";
import type { LogLevel, ServeHandle } from "../serve/mod.ts";

/** `config` reduced to what one pod serves: its first application's first deployment, one replica. */
export function singleReplicaConfig(config: ServeConfig): ServeConfig {
  const app = config.applications[0];
  if (!app || !app.deployments[0]) {
    throw new Error("the config needs an application with a deployment to serve");
  }
  const dep = app.deployments[0];
  return {
    ...config,
    applications: [{
      ...app,
      deployments: [{ ...dep, num_replicas: 1, autoscaling_config: null }],
    }],
  };
}

/** Options of {@linkcode startSingleReplica}. */
export interface SingleReplicaOptions {
  /** Port (Knative's `PORT`). */
  port: number;
  /** Address to bind (default `0.0.0.0`, as a pod needs). */
  host?: string;
  /** Log lines. */
  log?: (line: string, level?: LogLevel) => void;
  /** Folder relative model paths resolve from. */
  baseDir?: string;
}

/**
 * Resolves the model (downloading a URL model and checking its sha256 once) and serves one
 * replica. Returns the running service; `shutdown()` finishes in-flight requests first.
 */
export async function startSingleReplica(
  config: ServeConfig,
  options: SingleReplicaOptions,
): Promise<ServeHandle> {
  // Loaded here, not at the top: lib/export's manifest code must not pull in the server.
  const { prepareModel, startServe } = await import("../serve/mod.ts");
  const single = singleReplicaConfig(config);
  const dep = single.applications[0].deployments[0];
  const log = options.log ?? (() => {});
  const model = await prepareModel(dep.user_config.model, {
    baseDir: options.baseDir,
    log: (line) => log(`model: ${line}`),
  });
  if (model.warning) log(model.warning, "WARN");
  return await startServe(single, {
    model,
    // The pod's CPUs are the replica's: the replica always fits.
    numCpus: Math.max(1, dep.ray_actor_options.num_cpus),
    port: options.port,
    host: options.host ?? "0.0.0.0",
    maxConcurrentStarts: 1,
    log,
  });
}
