/**
 * Reads one `deployments[]` entry: replica counts, `autoscaling_config` (with Ray's deprecated
 * names and cross-field rules), `ray_actor_options` and `user_config` (`_read_user_config.ts`).
 *
 * @module
 */
import { BUILTIN_POLICY_NAMES } from "./builtin_policies.ts";
import { isMap, isScalar } from "yaml";
import {
  AUTO_NUM_REPLICAS_DEFAULTS,
  AUTOSCALING_DEFAULTS,
  DEPLOYMENT_DEFAULTS,
  RAY_ACTOR_OPTIONS_DEFAULTS,
} from "./defaults.ts";
import { ACTOR, AGGREGATIONS, AUTOSCALING, DEPLOYMENT, POLICY } from "./_levels.ts";
import { type Checked, describe, INVALID, join, type Node, or, Reader } from "./_reader.ts";
import { readUserConfig } from "./_read_user_config.ts";
import type {
  AggregationFunction,
  AutoscalingConfig,
  DeploymentConfig,
  PolicyConfig,
  RayActorOptions,
} from "./types.ts";

/** Reads and validates one deployment; `null` when the entry is not a mapping. */
export function readDeployment(
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

  const maxBatch = num("max_batch_size", { int: true, gt: true });
  const batchWait = num("batch_wait_timeout_s", {});
  const ongoing = or(maxOngoing, d.max_ongoing_requests) as number;
  if (maxBatch > ongoing) {
    r.warn(
      "advice",
      e.get("max_batch_size")?.value ?? node,
      join(path, "max_batch_size"),
      `(${maxBatch}) is larger than max_ongoing_requests (${ongoing}${
        e.has(ongoingKey) ? "" : ", the default"
      }): the router sends a replica at most ${ongoing} requests at a time, so batches never fill (Ray warns the same)`,
    );
  }

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
    max_ongoing_requests: ongoing,
    max_queued_requests: maxQueued,
    autoscaling_config: autoscaling,
    graceful_shutdown_wait_loop_s: num("graceful_shutdown_wait_loop_s", {}),
    graceful_shutdown_timeout_s: num("graceful_shutdown_timeout_s", {}),
    health_check_period_s: num("health_check_period_s", { gt: true }),
    health_check_timeout_s: num("health_check_timeout_s", { gt: true }),
    max_constructor_retry_count: num("max_constructor_retry_count", { int: true, gt: true }),
    max_batch_size: maxBatch,
    batch_wait_timeout_s: batchWait,
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
  if (BUILTIN_POLICY_NAMES.includes(value)) return true;
  const colon = value.lastIndexOf(":");
  if (
    colon <= 0 || colon === value.length - 1 || !/^[A-Za-z_$][\w$]*$/.test(value.slice(colon + 1))
  ) {
    r.error(
      "range",
      node,
      path,
      `must be "module:exportName" (e.g. ./policies/my_policy.ts:myPolicy) or a built-in (${
        BUILTIN_POLICY_NAMES.join(", ")
      }), got ${JSON.stringify(value)}`,
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
