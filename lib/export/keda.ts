/**
 * `--to keda`: a KEDA `ScaledObject` with a Prometheus trigger on the in-flight request gauge
 * the single-replica server exports (`ray_serve_num_ongoing_http_requests`), its HPA behaviour
 * from the delays, plus the Deployment and Service it scales. `--to keda-http`: the HTTP
 * add-on's `HTTPScaledObject` instead of the ScaledObject. The same mapping gives the `hpa`
 * policy's kwargs for `--compare`.
 *
 * @module
 */
import type { DeploymentConfig, ServeConfig } from "../config/mod.ts";
import { effectiveScalingFactors } from "../config/mod.ts";
import { type CarryRow, differsFromDefault, row } from "./carry.ts";
import { k8sName } from "./_names.ts";
import { replicaContainer } from "./_pod.ts";
import {
  DEFAULT_PROMETHEUS_URL,
  DEFAULT_REPLICA_IMAGE,
  type ExportModel,
  type ExportOptions,
  REPLICA_PORT,
} from "./options.ts";

/** The per-pod in-flight gauge the query sums (router queue + running, as Ray's total). */
export const IN_FLIGHT_METRIC = "ray_serve_num_ongoing_http_requests";

/** The mapping of one deployment onto KEDA/HPA. */
export interface KedaMapping {
  /** `minReplicaCount`: `min_replicas` (or `num_replicas`, default 1, when fixed). */
  minReplicas: number;
  /** `maxReplicaCount`: `max_replicas` (or `num_replicas`, default 1, when fixed). */
  maxReplicas: number;
  /** The Deployment's starting `replicas`: `initial_replicas`, else the minimum. */
  initialReplicas: number;
  /** Per-pod in-flight requests the HPA aims for (`AverageValue`): `target_ongoing_requests`, 2 when fixed. */
  threshold: number;
  /** Range of the query's `avg_over_time`, seconds: `look_back_period_s` rounded, at least 1 (30 when fixed). */
  rangeS: number;
  /** KEDA `pollingInterval`, seconds: `metrics_interval_s` rounded, at least 1 (30 when fixed). */
  pollingIntervalS: number;
  /** KEDA `cooldownPeriod`, seconds: `downscale_to_zero_delay_s ?? downscale_delay_s` (300 when fixed). */
  cooldownPeriodS: number;
  /** The HPA `behavior`: scale-up and scale-down stabilization windows from the delays, and rate policies. */
  behavior: Record<string, unknown>;
  /** The per-knob carried-over/lost table. */
  rows: CarryRow[];
  /** `policy_kwargs` of `policy: hpa` for the same knobs. */
  hpaKwargs: Record<string, unknown>;
}

const clampWindow = (s: number) => Math.min(3600, Math.max(0, Math.round(s)));

/** Maps `dep`'s scaling knobs onto a ScaledObject + HPA behaviour. */
export function kedaMapping(dep: DeploymentConfig): KedaMapping {
  const as = dep.autoscaling_config;
  const rows: CarryRow[] = [];
  rows.push(
    row("max_ongoing_requests", dep.max_ongoing_requests, {
      status: "verbatim",
      target: "SERVE_CONFIG (per pod)",
      note: "HPA has no per-pod limit; the pod's own server enforces it",
    }),
  );
  rows.push(
    row("max_queued_requests", dep.max_queued_requests, {
      status: "verbatim",
      target: "SERVE_CONFIG (per pod)",
    }),
  );
  rows.push(
    row("ray_actor_options.num_cpus", dep.ray_actor_options.num_cpus, {
      status: "mapped",
      target: "resources.requests.cpu",
    }),
  );
  const min = as ? as.min_replicas : dep.num_replicas ?? 1;
  const max = as ? as.max_replicas : dep.num_replicas ?? 1;
  const target = as ? as.target_ongoing_requests : 2;
  const upS = as ? clampWindow(as.upscale_delay_s) : 0;
  const downS = as ? clampWindow(as.downscale_delay_s) : 300;
  const behavior = {
    scaleUp: {
      stabilizationWindowSeconds: upS,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: downS,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    },
  };
  const hpaKwargs = {
    target,
    scale_up: { stabilization_window_s: upS },
    scale_down: { stabilization_window_s: downS },
  };
  if (!as) {
    rows.push(
      row("num_replicas", dep.num_replicas, {
        status: "mapped",
        target: `minReplicaCount = maxReplicaCount = ${min}`,
      }),
    );
    return {
      minReplicas: min,
      maxReplicas: max,
      initialReplicas: min,
      threshold: target,
      rangeS: 30,
      pollingIntervalS: 30,
      cooldownPeriodS: 300,
      behavior,
      rows,
      hpaKwargs,
    };
  }
  const rangeS = Math.max(1, Math.round(as.look_back_period_s));
  const pollingIntervalS = Math.max(1, Math.round(as.metrics_interval_s));
  const cooldownPeriodS = Math.round(as.downscale_to_zero_delay_s ?? as.downscale_delay_s);
  rows.push(
    row("target_ongoing_requests", target, {
      status: "mapped",
      target: `threshold: "${target}" (AverageValue)`,
    }),
  );
  rows.push(row("min_replicas", min, { status: "mapped", target: `minReplicaCount: ${min}` }));
  rows.push(row("max_replicas", max, { status: "mapped", target: `maxReplicaCount: ${max}` }));
  const initial = as.initial_replicas ?? min;
  rows.push(
    row("initial_replicas", as.initial_replicas, {
      status: "mapped",
      target: `Deployment replicas: ${initial}`,
    }),
  );
  rows.push(
    row("look_back_period_s", as.look_back_period_s, {
      status: rangeS === as.look_back_period_s ? "mapped" : "approximated",
      target: `avg_over_time(...[${rangeS}s])`,
    }),
  );
  rows.push(
    row("metrics_interval_s", as.metrics_interval_s, {
      status: "approximated",
      target: `pollingInterval: ${pollingIntervalS}`,
      note: "the HPA itself syncs every 15 s (cluster-wide)",
    }),
  );
  rows.push(
    row("upscale_delay_s", as.upscale_delay_s, {
      status: "approximated",
      target: `scaleUp.stabilizationWindowSeconds: ${upS}`,
      note: "HPA takes the lowest recommendation over the window, not Ray's persistence rule",
    }),
  );
  rows.push(
    row("downscale_delay_s", as.downscale_delay_s, {
      status: "approximated",
      target: `scaleDown.stabilizationWindowSeconds: ${downS}`,
      note: downS === as.downscale_delay_s
        ? "HPA takes the highest recommendation over the window: scale-down is gradual"
        : "HPA's window is at most 3600 s",
    }),
  );
  rows.push(
    row("downscale_to_zero_delay_s", as.downscale_to_zero_delay_s, {
      status: "approximated",
      target: `cooldownPeriod: ${cooldownPeriodS}`,
      note: "KEDA's cooldown applies to 1 -> 0 only",
    }),
  );
  const f = effectiveScalingFactors(as);
  rows.push(
    row("upscaling_factor", f.upscale, {
      status: "lost",
      target: "-",
      note: "HPA policies cap the rate; no gain",
      nonDefault: f.upscale !== 1,
    }),
  );
  rows.push(
    row("downscaling_factor", f.downscale, {
      status: "lost",
      target: "-",
      note: "HPA policies cap the rate; no gain",
      nonDefault: f.downscale !== 1,
    }),
  );
  rows.push(
    row("aggregation_function", as.aggregation_function, {
      status: as.aggregation_function === "mean" ? "mapped" : "lost",
      target: as.aggregation_function === "mean" ? "avg_over_time" : "-",
      note: "",
      nonDefault: differsFromDefault(as, "aggregation_function"),
    }),
  );
  if (as.policy) {
    rows.push(
      row("policy", as.policy.policy_function, {
        status: "lost",
        target: "-",
        note: "HPA's rule applies",
        nonDefault: true,
      }),
    );
  }
  return {
    minReplicas: min,
    maxReplicas: max,
    initialReplicas: initial,
    threshold: target,
    rangeS,
    pollingIntervalS,
    cooldownPeriodS,
    behavior,
    rows,
    hpaKwargs,
  };
}

function deploymentAndService(
  config: ServeConfig,
  model: ExportModel,
  options: ExportOptions,
  replicas: number,
): { deployment: Record<string, unknown>; service: Record<string, unknown>; name: string } {
  const app = config.applications[0];
  const dep = app.deployments[0];
  const name = k8sName(app.name);
  const ns = options.namespace ? { namespace: options.namespace } : {};
  const labels = { "app.kubernetes.io/name": name };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, ...ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: Math.ceil(dep.graceful_shutdown_timeout_s) + 10,
          containers: [replicaContainer(config, model, {
            image: options.image ?? DEFAULT_REPLICA_IMAGE,
            knative: false,
          })],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, ...ns, labels },
    spec: {
      selector: labels,
      ports: [{ name: "http", port: 80, targetPort: REPLICA_PORT }],
    },
  };
  return { deployment, service, name };
}

/** The ScaledObject, Deployment and Service for `config`'s first application, and the rows. */
export function kedaScaledObject(
  config: ServeConfig,
  model: ExportModel,
  options: ExportOptions = {},
): { manifests: Record<string, unknown>[]; rows: CarryRow[] } {
  const m = kedaMapping(config.applications[0].deployments[0]);
  const { deployment, service, name } = deploymentAndService(
    config,
    model,
    options,
    m.initialReplicas,
  );
  const namespace = options.namespace ?? "default";
  const query =
    `sum(avg_over_time(${IN_FLIGHT_METRIC}{namespace="${namespace}",pod=~"${name}-.*"}[${m.rangeS}s]))`;
  const scaledObject = {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: {
      scaleTargetRef: { name },
      pollingInterval: m.pollingIntervalS,
      cooldownPeriod: m.cooldownPeriodS,
      minReplicaCount: m.minReplicas,
      maxReplicaCount: m.maxReplicas,
      advanced: { horizontalPodAutoscalerConfig: { behavior: m.behavior } },
      triggers: [{
        type: "prometheus",
        metricType: "AverageValue",
        metadata: {
          serverAddress: options.prometheusUrl ?? DEFAULT_PROMETHEUS_URL,
          query,
          threshold: String(m.threshold),
        },
      }],
    },
  };
  return { manifests: [scaledObject, deployment, service], rows: m.rows };
}

/** The HTTP add-on's HTTPScaledObject, Deployment and Service, and the rows. */
export function kedaHttpScaledObject(
  config: ServeConfig,
  model: ExportModel,
  options: ExportOptions = {},
): { manifests: Record<string, unknown>[]; rows: CarryRow[] } {
  const dep = config.applications[0].deployments[0];
  const as = dep.autoscaling_config;
  const m = kedaMapping(dep);
  const { deployment, service, name } = deploymentAndService(
    config,
    model,
    options,
    m.initialReplicas,
  );
  const targetValue = Math.max(1, Math.round(m.threshold));
  const rows = m.rows.filter((r) =>
    ![
      "look_back_period_s",
      "metrics_interval_s",
      "upscale_delay_s",
      "downscale_delay_s",
      "target_ongoing_requests",
      "downscale_to_zero_delay_s",
      "aggregation_function",
    ]
      .includes(r.knob)
  );
  if (as) {
    rows.push(
      row("target_ongoing_requests", as.target_ongoing_requests, {
        status: targetValue === as.target_ongoing_requests ? "mapped" : "approximated",
        target: `scalingMetric.concurrency.targetValue: ${targetValue}`,
        note: "an integer in the HTTP add-on",
      }),
    );
    rows.push(
      row("downscale_delay_s", as.downscale_delay_s, {
        status: "approximated",
        target: `scaledownPeriod: ${Math.round(as.downscale_delay_s)}`,
      }),
    );
    rows.push(
      row("upscale_delay_s", as.upscale_delay_s, {
        status: "lost",
        target: "-",
        note: "no HPA behaviour field",
        nonDefault: differsFromDefault(as, "upscale_delay_s"),
      }),
    );
    rows.push(
      row("look_back_period_s", as.look_back_period_s, {
        status: "lost",
        target: "-",
        note: "concurrency has no window",
        nonDefault: differsFromDefault(as, "look_back_period_s"),
      }),
    );
    rows.push(
      row("metrics_interval_s", as.metrics_interval_s, {
        status: "approximated",
        target: "- (interceptor push)",
        note: "",
      }),
    );
  }
  const httpScaledObject = {
    apiVersion: "http.keda.sh/v1alpha1",
    kind: "HTTPScaledObject",
    metadata: { name, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: {
      scaleTargetRef: { name, kind: "Deployment", apiVersion: "apps/v1", service: name, port: 80 },
      replicas: { min: m.minReplicas, max: m.maxReplicas },
      scalingMetric: { concurrency: { targetValue } },
      scaledownPeriod: as ? Math.round(as.downscale_delay_s) : 300,
    },
  };
  return { manifests: [httpScaledObject, deployment, service], rows };
}
