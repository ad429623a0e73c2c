/**
 * What applying a config to a running service changes (issue 15, Ray's `serve deploy`): per
 * deployment `unchanged`, `lightweight` (knobs changed in place, no replica restarts: Ray's
 * `autoscaling_config`, `max_ongoing_requests`, `num_replicas`, timings, and our `top_k`),
 * `rolling` (replicas replaced one at a time: the model, backend, image limits,
 * `ray_actor_options` or the application's `import_path`, Ray's "code change"), `added` or
 * `removed`; and whether the config can be applied at all ({@linkcode checkApplyable}: a
 * refusal leaves the running applications untouched). Pure functions of two configs.
 *
 * @module
 */
import {
  type AutoscalingConfig,
  type DeploymentConfig,
  effectiveScalingFactors,
  type ServeConfig,
} from "../config/mod.ts";
import { normaliseRoutePrefix } from "./http_app.ts";

/** How one deployment changes. */
export type DeploymentChangeKind = "unchanged" | "lightweight" | "rolling" | "added" | "removed";

/** One deployment's change. */
export interface DeploymentChange {
  /** Name of the application the deployment belongs to. */
  application: string;
  /** Name of the deployment. */
  deployment: string;
  /** How it changes: in place (`lightweight`), by replacing replicas (`rolling`), added, removed or not at all. */
  kind: DeploymentChangeKind;
  /** The changed fields, `path: old -> new` (JSON values). */
  fields: string[];
}

/** Everything an apply changes. */
export interface ApplyPlan {
  /** One entry per deployment of the old or new config. */
  changes: DeploymentChange[];
  /** Route prefixes that move, `app: old -> new`. */
  routes: string[];
  /** Things that cannot change on a running service and are ignored (http_options). */
  ignored: string[];
}

/** Fields whose change replaces replicas (everything else in a deployment is lightweight). */
const ROLLING_FIELDS: readonly string[] = [
  "ray_actor_options",
  "user_config.model",
  "user_config.backend",
  "user_config.max_image_bytes",
  "user_config.max_image_pixels",
  "user_config.image_fetch_timeout_s",
  "user_config.allowed_image_hosts",
];

/** The plan of applying `next` over `current` (null: nothing runs yet). */
export function planApply(current: ServeConfig | null, next: ServeConfig): ApplyPlan {
  const changes: DeploymentChange[] = [];
  const routes: string[] = [];
  const ignored: string[] = [];
  const before = new Map((current?.applications ?? []).map((a) => [a.name, a]));
  const after = new Set(next.applications.map((a) => a.name));
  for (const app of next.applications) {
    const old = before.get(app.name);
    const oldDeps = new Map((old?.deployments ?? []).map((d) => [d.name, d]));
    if (old && normaliseRoutePrefix(old.route_prefix) !== normaliseRoutePrefix(app.route_prefix)) {
      routes.push(`${app.name}: ${old.route_prefix} -> ${app.route_prefix}`);
    }
    const codeChanged = old !== undefined && old.import_path !== app.import_path;
    for (const dep of app.deployments) {
      const was = oldDeps.get(dep.name);
      if (!was) {
        changes.push({ application: app.name, deployment: dep.name, kind: "added", fields: [] });
        continue;
      }
      const fields = diffFields(was, dep);
      if (codeChanged) fields.unshift(`import_path: ${old.import_path} -> ${app.import_path}`);
      const rolling = codeChanged ||
        fields.some((f) =>
          ROLLING_FIELDS.some((r) => f.startsWith(r + ".") || f.startsWith(r + ":"))
        );
      const kind = fields.length === 0 ? "unchanged" : rolling ? "rolling" : "lightweight";
      changes.push({ application: app.name, deployment: dep.name, kind, fields });
    }
    for (const name of oldDeps.keys()) {
      if (!app.deployments.some((d) => d.name === name)) {
        changes.push({ application: app.name, deployment: name, kind: "removed", fields: [] });
      }
    }
  }
  for (const [name, app] of before) {
    if (after.has(name)) continue;
    for (const dep of app.deployments) {
      changes.push({ application: name, deployment: dep.name, kind: "removed", fields: [] });
    }
  }
  if (current) {
    for (const f of diffValues("http_options", current.http_options, next.http_options)) {
      ignored.push(`${f} (http_options cannot change on a running service; restart to change it)`);
    }
  }
  return { changes, routes, ignored };
}

/**
 * Why `config` cannot run on a cluster of `numCpus` logical CPUs, or `[]`. Refused: a replica
 * needing more CPUs than the cluster has, and fixed replicas (`num_replicas`, or
 * `min_replicas` of an autoscaling deployment) needing more CPUs in all than the cluster has.
 * Name and route-prefix collisions are the config loader's errors (with file:line:col).
 */
export function checkApplyable(config: ServeConfig, options: { numCpus: number }): string[] {
  const problems: string[] = [];
  let fixedCpus = 0;
  const parts: string[] = [];
  for (const app of config.applications) {
    for (const dep of app.deployments) {
      const cpus = dep.ray_actor_options.num_cpus;
      if (cpus > options.numCpus) {
        problems.push(
          `${app.name}/${dep.name}: a replica needs ray_actor_options.num_cpus=${cpus} but the ` +
            `cluster has ${options.numCpus} CPUs; lower num_cpus or restart with more --num-cpus`,
        );
      }
      const fixed = dep.autoscaling_config
        ? dep.autoscaling_config.min_replicas
        : (dep.num_replicas ?? 1);
      if (fixed > 0 && cpus > 0) {
        fixedCpus += fixed * cpus;
        parts.push(`${app.name}/${dep.name} ${fixed} x ${cpus}`);
      }
    }
  }
  if (fixedCpus > options.numCpus + 1e-9) {
    problems.push(
      `the fixed replicas need ${round(fixedCpus)} CPUs (${parts.join(", ")}; num_replicas or ` +
        `min_replicas x num_cpus) but the cluster has ${options.numCpus}; lower them or restart ` +
        `with more --num-cpus`,
    );
  }
  return problems;
}

/** Changed fields of a deployment, `path: old -> new`, in config order. */
function diffFields(a: DeploymentConfig, b: DeploymentConfig): string[] {
  const out: string[] = [];
  for (const key of Object.keys(b) as (keyof DeploymentConfig)[]) {
    if (key === "name") continue;
    if (key === "autoscaling_config") {
      out.push(...diffValues(key, sameScaling(a[key]), sameScaling(b[key])));
    } else {
      out.push(...diffValues(key, a[key], b[key]));
    }
  }
  return out;
}

/**
 * An autoscaling config with its scaling factors in their effective form (deprecated smoothing
 * fields folded in), so that two configs that scale the same compare equal.
 */
export function sameScaling(config: AutoscalingConfig | null): AutoscalingConfig | null {
  if (config === null) return null;
  const f = effectiveScalingFactors(config);
  return {
    ...config,
    upscaling_factor: f.upscale,
    downscaling_factor: f.downscale,
    smoothing_factor: 1,
    upscale_smoothing_factor: null,
    downscale_smoothing_factor: null,
  };
}

function diffValues(path: string, a: unknown, b: unknown): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(a) && isObject(b) && !("kind" in b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffValues(`${path}.${k}`, a[k], b[k]));
  }
  const x = JSON.stringify(a ?? null);
  const y = JSON.stringify(b ?? null);
  return x === y ? [] : [`${path}: ${x} -> ${y}`];
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The plan as lines for a terminal: per deployment what changed and how. */
export function formatPlan(plan: ApplyPlan): string[] {
  const how: Record<DeploymentChangeKind, string> = {
    unchanged: "unchanged",
    lightweight: "lightweight update (in place, no replica restarts)",
    rolling: "rolling update (replicas replaced one at a time)",
    added: "new: starting",
    removed: "removed: draining",
  };
  const lines: string[] = [];
  for (const c of plan.changes) {
    lines.push(`${c.application}/${c.deployment}: ${how[c.kind]}`);
    for (const f of c.fields) lines.push(`    ${f}`);
  }
  for (const r of plan.routes) lines.push(`route prefix ${r}`);
  for (const i of plan.ignored) lines.push(`ignored: ${i}`);
  return lines;
}
