/**
 * `--to knative`: a Knative `serving.knative.dev/v1` Service running the single-replica server,
 * its autoscaling annotations mapped from `autoscaling_config` per distributed.md's table, all
 * values strings. The same mapping gives the `knative-kpa` policy's kwargs for `--compare`.
 *
 * @module
 */
import type { DeploymentConfig, ServeConfig } from "../config/mod.ts";
import { effectiveScalingFactors } from "../config/mod.ts";
import { type CarryRow, differsFromDefault, row } from "./carry.ts";
import { k8sName } from "./_names.ts";
import { replicaContainer } from "./_pod.ts";
import { DEFAULT_REPLICA_IMAGE, type ExportModel, type ExportOptions } from "./options.ts";

/** The annotation prefix. */
export const KNATIVE_PREFIX = "autoscaling.knative.dev/";

/** The mapping of one deployment onto Knative. */
export interface KnativeMapping {
  /** The `autoscaling.knative.dev/*` annotations of the revision template. */
  annotations: Record<string, string>;
  /** The revision's `containerConcurrency`: `max_ongoing_requests`, capped at 1000. */
  containerConcurrency: number;
  /** The per-knob carried-over/lost table. */
  rows: CarryRow[];
  /** `policy_kwargs` of `policy: knative-kpa` for the same knobs. */
  kpaKwargs: Record<string, number>;
  /** `min-scale` annotation: `min_replicas` (or `num_replicas` when fixed). */
  minScale: number;
  /** `max-scale` annotation: `max_replicas` (or `num_replicas` when fixed). */
  maxScale: number;
}

/** Maps `dep`'s scaling knobs onto Knative annotations (see the module doc). */
export function knativeMapping(dep: DeploymentConfig): KnativeMapping {
  const as = dep.autoscaling_config;
  const rows: CarryRow[] = [];
  const a: Record<string, string> = {
    [`${KNATIVE_PREFIX}class`]: "kpa.autoscaling.knative.dev",
    [`${KNATIVE_PREFIX}metric`]: "concurrency",
  };
  const cc = Math.min(1000, dep.max_ongoing_requests);
  const kpa: Record<string, number> = { container_concurrency: cc };
  rows.push(
    row("max_ongoing_requests", dep.max_ongoing_requests, {
      status: dep.max_ongoing_requests <= 1000 ? "mapped" : "approximated",
      target: `containerConcurrency: ${cc}`,
      note: "also enforced by the pod's own server",
    }),
  );
  rows.push(
    row("max_queued_requests", dep.max_queued_requests, {
      status: "verbatim",
      target: "SERVE_CONFIG (per pod)",
      note:
        "each pod's server queues and rejects as Ray's router does; the Activator buffers in front",
    }),
  );
  rows.push(
    row("ray_actor_options.num_cpus", dep.ray_actor_options.num_cpus, {
      status: "mapped",
      target: "resources.requests.cpu",
    }),
  );
  if (!as) {
    const n = dep.num_replicas ?? 1;
    a[`${KNATIVE_PREFIX}min-scale`] = String(n);
    a[`${KNATIVE_PREFIX}max-scale`] = String(n);
    rows.push(
      row("num_replicas", n, { status: "mapped", target: `min-scale = max-scale = "${n}"` }),
    );
    return {
      annotations: a,
      containerConcurrency: cc,
      rows,
      kpaKwargs: kpa,
      minScale: n,
      maxScale: n,
    };
  }
  const target = Math.max(0.01, as.target_ongoing_requests);
  a[`${KNATIVE_PREFIX}target`] = String(target);
  a[`${KNATIVE_PREFIX}target-utilization-percentage`] = "100";
  kpa.target = target;
  kpa.target_utilization_percentage = 100;
  rows.push(row("target_ongoing_requests", as.target_ongoing_requests, {
    status: target === as.target_ongoing_requests ? "mapped" : "approximated",
    target: `target: "${target}", target-utilization-percentage: "100"`,
    note: "Knative counts at the pod's queue-proxy; Ray also counts the router queue",
  }));
  a[`${KNATIVE_PREFIX}min-scale`] = String(as.min_replicas);
  a[`${KNATIVE_PREFIX}max-scale`] = String(as.max_replicas);
  rows.push(
    row("min_replicas", as.min_replicas, {
      status: "mapped",
      target: `min-scale: "${as.min_replicas}"`,
    }),
  );
  rows.push(
    row("max_replicas", as.max_replicas, {
      status: "mapped",
      target: `max-scale: "${as.max_replicas}"`,
    }),
  );
  const initial = as.initial_replicas ?? as.min_replicas;
  if (initial >= 1) {
    a[`${KNATIVE_PREFIX}initial-scale`] = String(initial);
    rows.push(
      row("initial_replicas", as.initial_replicas, {
        status: "mapped",
        target: `initial-scale: "${initial}"`,
      }),
    );
  } else {
    rows.push(
      row("initial_replicas", as.initial_replicas, {
        status: "approximated",
        target: "- (Knative's initial-scale 1)",
        note: "initial-scale 0 needs the cluster's allow-zero-initial-scale",
      }),
    );
  }
  const windowS = Math.min(3600, Math.max(6, Math.round(as.look_back_period_s)));
  a[`${KNATIVE_PREFIX}window`] = `${windowS}s`;
  kpa.window_s = windowS;
  rows.push(
    row("look_back_period_s", as.look_back_period_s, {
      status: windowS === as.look_back_period_s ? "mapped" : "approximated",
      target: `window: "${windowS}s"`,
      note: windowS === as.look_back_period_s
        ? "plus a panic window of 10 % of it"
        : "Knative's window is whole seconds from 6 s to 1 h",
    }),
  );
  const delayS = Math.min(3600, Math.round(as.downscale_delay_s));
  if (delayS > 0) a[`${KNATIVE_PREFIX}scale-down-delay`] = `${delayS}s`;
  kpa.scale_down_delay_s = delayS;
  rows.push(
    row("downscale_delay_s", as.downscale_delay_s, {
      status: "approximated",
      target: `scale-down-delay: "${delayS}s"`,
      note: "a rolling max of recommendations, not Ray's uninterrupted-persistence rule",
    }),
  );
  rows.push(
    row("upscale_delay_s", as.upscale_delay_s, {
      status: "lost",
      target: "-",
      note: "Knative has no upscale delay; panic mode reacts within 2-6 s",
      nonDefault: differsFromDefault(as, "upscale_delay_s"),
    }),
  );
  const f = effectiveScalingFactors(as);
  rows.push(
    row("upscaling_factor", f.upscale, {
      status: "lost",
      target: "-",
      note: "no gain; only the cluster-wide max-scale-up-rate caps",
      nonDefault: f.upscale !== 1,
    }),
  );
  rows.push(
    row("downscaling_factor", f.downscale, {
      status: "lost",
      target: "-",
      note: "no gain; only the cluster-wide max-scale-down-rate (2.0) caps",
      nonDefault: f.downscale !== 1,
    }),
  );
  rows.push(
    row("metrics_interval_s", as.metrics_interval_s, {
      status: "approximated",
      target: "- (1 s scrape, 2 s tick)",
      note: "fixed by Knative, faster than Ray's push",
    }),
  );
  if (as.downscale_to_zero_delay_s !== null) {
    const z = Math.min(3600, Math.round(as.downscale_to_zero_delay_s));
    a[`${KNATIVE_PREFIX}scale-to-zero-pod-retention-period`] = `${z}s`;
    rows.push(
      row("downscale_to_zero_delay_s", as.downscale_to_zero_delay_s, {
        status: "approximated",
        target: `scale-to-zero-pod-retention-period: "${z}s"`,
        note: "a lower bound on keeping the last pod, after a stable window without traffic",
      }),
    );
  }
  rows.push(
    row("aggregation_function", as.aggregation_function, {
      status: "lost",
      target: "-",
      note: "Knative always averages",
      nonDefault: differsFromDefault(as, "aggregation_function"),
    }),
  );
  if (as.policy) {
    rows.push(
      row("policy", as.policy.policy_function, {
        status: "lost",
        target: "-",
        note: "Knative runs its KPA",
        nonDefault: true,
      }),
    );
  }
  return {
    annotations: a,
    containerConcurrency: cc,
    rows,
    kpaKwargs: kpa,
    minScale: as.min_replicas,
    maxScale: as.max_replicas,
  };
}

/** The Knative Service for `config`'s first application and the carry rows. */
export function knativeService(
  config: ServeConfig,
  model: ExportModel,
  options: ExportOptions = {},
): { manifest: Record<string, unknown>; rows: CarryRow[] } {
  const app = config.applications[0];
  const dep = app.deployments[0];
  const m = knativeMapping(dep);
  const spec: Record<string, unknown> = {
    containerConcurrency: m.containerConcurrency,
    containers: [replicaContainer(config, model, {
      image: options.image ?? DEFAULT_REPLICA_IMAGE,
      knative: true,
    })],
  };
  const rows = [...m.rows];
  if (config.http_options.request_timeout_s !== null) {
    spec.timeoutSeconds = Math.max(1, Math.round(config.http_options.request_timeout_s));
    rows.push(
      row("http_options.request_timeout_s", config.http_options.request_timeout_s, {
        status: "mapped",
        target: `timeoutSeconds: ${spec.timeoutSeconds}`,
      }),
    );
  }
  const manifest = {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: {
      name: k8sName(app.name),
      ...(options.namespace ? { namespace: options.namespace } : {}),
    },
    spec: { template: { metadata: { annotations: m.annotations }, spec } },
  };
  return { manifest, rows };
}
