/**
 * `policy: hpa`: the Kubernetes HorizontalPodAutoscaler v2 rule (peers.md §2.1) for an
 * `AverageValue` metric of in-flight requests, as KEDA's Prometheus trigger feeds it: to predict
 * what HPA/KEDA would do with an exported config.
 *
 * Every `sync_period_s` (15): ratio = total / (target x current replicas); inside the tolerance
 * (0.1) nothing changes, else the recommendation is ceil(total / target) (`GetExternalPerPodMetricReplicas`).
 * Then the stabilisation windows (scale-down keeps the highest recommendation of the last
 * `scale_down.stabilization_window_s`, 300; scale-up the lowest of `scale_up.stabilization_window_s`, 0)
 * and the rate policies (`Pods`/`Percent` per `period_s`; scale-up default max(4 pods, 100 %) per
 * 15 s, scale-down 100 % per 15 s; `select_policy` Max/Min/Disabled). `target` defaults to the
 * config's `target_ongoing_requests` (KEDA's `threshold` as exported).
 *
 * @module
 */
import { type AutoscalingContext, PolicyError, type PolicyOutput } from "../policy.ts";
import { kwargsCache, readNumberKwargs } from "./_kwargs.ts";

/** The name a config uses: `policy: hpa`. */
export const HPA_POLICY_NAME = "hpa";

/** One HPA scaling policy. */
export interface HpaRatePolicy {
  type: "Pods" | "Percent";
  value: number;
  periodS: number;
}

/** One direction's behaviour (`behavior.scaleUp` / `scaleDown`). */
export interface HpaRules {
  stabilizationWindowS: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: HpaRatePolicy[];
}

/** HPA's knobs, every one resolved. */
export interface HpaKnobs {
  /** AverageValue target per pod; null = the config's `target_ongoing_requests`. */
  target: number | null;
  tolerance: number;
  syncPeriodS: number;
  scaleUp: HpaRules;
  scaleDown: HpaRules;
}

/** Kubernetes' default behaviour (`pkg/apis/autoscaling/v2/defaults.go`). */
export const HPA_DEFAULT_SCALE_UP: HpaRules = {
  stabilizationWindowS: 0,
  selectPolicy: "Max",
  policies: [{ type: "Pods", value: 4, periodS: 15 }, { type: "Percent", value: 100, periodS: 15 }],
};
/** Kubernetes' default scale-down behaviour. */
export const HPA_DEFAULT_SCALE_DOWN: HpaRules = {
  stabilizationWindowS: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodS: 15 }],
};

function readRules(where: string, raw: unknown, defaults: HpaRules): HpaRules {
  if (raw === undefined || raw === null) return defaults;
  const fail = (what: string): never => {
    throw new PolicyError(`policy ${HPA_POLICY_NAME}: policy_kwargs.${where}${what}`);
  };
  if (typeof raw !== "object" || Array.isArray(raw)) fail(" must be a mapping");
  const r = raw as Record<string, unknown>;
  const n = readNumberKwargs(r, {
    stabilization_window_s: { default: defaults.stabilizationWindowS, min: 0, max: 3600 },
  }, { policyName: `${HPA_POLICY_NAME} (${where})`, extraKeys: ["select_policy", "policies"] });
  const select = r.select_policy ?? defaults.selectPolicy;
  if (select !== "Max" && select !== "Min" && select !== "Disabled") {
    fail(`.select_policy must be Max, Min or Disabled, got ${JSON.stringify(select)}`);
  }
  let policies = defaults.policies;
  if (r.policies !== undefined) {
    if (!Array.isArray(r.policies) || r.policies.length === 0) {
      fail(".policies must be a non-empty list of {type, value, period_s}");
    }
    policies = (r.policies as unknown[]).map((p, i) => {
      const q = (p ?? {}) as Record<string, unknown>;
      if (q.type !== "Pods" && q.type !== "Percent") {
        fail(`.policies[${i}].type must be Pods or Percent, got ${JSON.stringify(q.type)}`);
      }
      const v = readNumberKwargs(q, {
        value: { default: null, min: 1, max: 1e9, integer: true },
        period_s: { default: null, min: 1, max: 1800, integer: true },
      }, { policyName: `${HPA_POLICY_NAME} (${where}.policies[${i}])`, extraKeys: ["type"] });
      if (v.value === null || v.period_s === null) fail(`.policies[${i}] needs value and period_s`);
      return { type: q.type as "Pods" | "Percent", value: v.value!, periodS: v.period_s! };
    });
  }
  return {
    stabilizationWindowS: n.stabilization_window_s!,
    selectPolicy: select as HpaRules["selectPolicy"],
    policies,
  };
}

const parseKnobs = kwargsCache((kwargs): HpaKnobs => {
  const k = readNumberKwargs(kwargs, {
    target: { default: null, min: 1e-9, max: 1e9 },
    tolerance: { default: 0.1, min: 0, max: 1 },
    sync_period_s: { default: 15, min: 0.1, max: 3600 },
  }, { policyName: HPA_POLICY_NAME, extraKeys: ["scale_up", "scale_down"] });
  return {
    target: k.target,
    tolerance: k.tolerance!,
    syncPeriodS: k.sync_period_s!,
    scaleUp: readRules("scale_up", kwargs.scale_up, HPA_DEFAULT_SCALE_UP),
    scaleDown: readRules("scale_down", kwargs.scale_down, HPA_DEFAULT_SCALE_DOWN),
  };
});

/** Parses `policy_kwargs` into {@linkcode HpaKnobs}; throws a `PolicyError` naming a bad key. */
export function hpaKnobs(kwargs: Readonly<Record<string, unknown>>): HpaKnobs {
  return parseKnobs(kwargs);
}

/** What the HPA remembers: recommendations and the scale events inside the policy periods. */
export interface HpaState {
  recommendations: [number, number][];
  /** [time ms, replicas added] */
  upEvents: [number, number][];
  /** [time ms, replicas removed] */
  downEvents: [number, number][];
}

/** No history. */
export const HPA_INITIAL_STATE: HpaState = { recommendations: [], upEvents: [], downEvents: [] };

/** One sync's inputs. */
export interface HpaInput {
  /** The scale target's current (spec) replicas. */
  currentReplicas: number;
  /** The metric summed over pods (in-flight requests). */
  metricTotal: number;
  /** Per-pod target. */
  target: number;
  minReplicas: number;
  maxReplicas: number;
  nowMs: number;
}

/** One sync's outcome with its intermediate figures. */
export interface HpaOutcome {
  /** After tolerance, before stabilisation and rate limits. */
  recommendation: number;
  /** After stabilisation. */
  stabilized: number;
  desired: number;
  /** Why the answer was limited: `ScaleUpLimit`, `ScaleDownLimit`, or null. */
  limitedBy: string | null;
  state: HpaState;
}

function sumWithin(events: [number, number][], nowMs: number, periodS: number): number {
  let s = 0;
  for (const [t, n] of events) if (t > nowMs - periodS * 1000) s += n;
  return s;
}

function scaleUpLimit(current: number, events: [number, number][], rules: HpaRules, nowMs: number) {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Max" ? -Infinity : Infinity;
  for (const p of rules.policies) {
    const start = current - sumWithin(events, nowMs, p.periodS);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === "Max" ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

function scaleDownLimit(
  current: number,
  events: [number, number][],
  rules: HpaRules,
  nowMs: number,
) {
  if (rules.selectPolicy === "Disabled") return current;
  let result = rules.selectPolicy === "Max" ? Infinity : -Infinity;
  for (const p of rules.policies) {
    const start = current + sumWithin(events, nowMs, p.periodS);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = rules.selectPolicy === "Max" ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/**
 * One HPA sync (`replica_calculator.go` + `horizontal.go` normalisation), pure. `options.state`
 * is the previous sync's `state` (default: no history).
 */
export function hpaScale(
  input: HpaInput,
  knobs: HpaKnobs,
  options: { state?: HpaState } = {},
): HpaOutcome {
  const state = options.state ?? HPA_INITIAL_STATE;
  const { currentReplicas: current, nowMs } = input;
  const ratio = input.metricTotal / (input.target * Math.max(1, current));
  const recommendation = Math.abs(1 - ratio) <= knobs.tolerance
    ? current
    : Math.ceil(Math.round(input.metricTotal / input.target * 1e9) / 1e9);

  const longest = Math.max(
    knobs.scaleUp.stabilizationWindowS,
    knobs.scaleDown.stabilizationWindowS,
  );
  const recommendations: [number, number][] = [
    ...state.recommendations.filter(([t]) => t > nowMs - longest * 1000),
    [nowMs, recommendation],
  ];
  let upRec = recommendation, downRec = recommendation;
  for (const [t, r] of recommendations) {
    if (t > nowMs - knobs.scaleUp.stabilizationWindowS * 1000) upRec = Math.min(upRec, r);
    if (t > nowMs - knobs.scaleDown.stabilizationWindowS * 1000) downRec = Math.max(downRec, r);
  }
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;

  let desired = stabilized;
  let limitedBy: string | null = null;
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, state.upEvents, knobs.scaleUp, nowMs));
    const allowed = Math.min(input.maxReplicas, limit);
    if (desired > allowed) {
      desired = allowed;
      if (limit < input.maxReplicas) limitedBy = "ScaleUpLimit";
    }
  } else if (desired < current) {
    const limit = Math.min(
      current,
      scaleDownLimit(current, state.downEvents, knobs.scaleDown, nowMs),
    );
    const allowed = Math.max(input.minReplicas, limit);
    if (desired < allowed) {
      desired = allowed;
      if (limit > input.minReplicas) limitedBy = "ScaleDownLimit";
    }
  }
  desired = Math.min(input.maxReplicas, Math.max(input.minReplicas, desired));

  const keepUp = Math.max(0, ...knobs.scaleUp.policies.map((p) => p.periodS));
  const keepDown = Math.max(0, ...knobs.scaleDown.policies.map((p) => p.periodS));
  const upEvents = state.upEvents.filter(([t]) => t > nowMs - keepUp * 1000);
  const downEvents = state.downEvents.filter(([t]) => t > nowMs - keepDown * 1000);
  if (desired > current) upEvents.push([nowMs, desired - current]);
  if (desired < current) downEvents.push([nowMs, current - desired]);
  return {
    recommendation,
    stabilized,
    desired,
    limitedBy,
    state: { recommendations, upEvents, downEvents },
  };
}

const STATE_KEY = "hpa";

interface HpaPolicyState {
  lastSyncMs: number;
  desired: number;
  hpa: HpaState;
}

/**
 * The `hpa` policy: every `sync_period_s` runs {@linkcode hpaScale} on the aggregated in-flight
 * total it is given (the PromQL `avg_over_time` of the export), holding the answer in between.
 */
export function hpaPolicy(ctx: AutoscalingContext): PolicyOutput {
  const knobs = hpaKnobs(ctx.policyKwargs);
  const prev = ctx.policyState[STATE_KEY] as HpaPolicyState | undefined;
  if (prev && ctx.currentTimeMs - prev.lastSyncMs < Math.round(knobs.syncPeriodS * 1000)) {
    return { desiredReplicas: prev.desired, policyState: ctx.policyState };
  }
  const outcome = hpaScale(
    {
      currentReplicas: ctx.targetNumReplicas,
      metricTotal: ctx.totalNumRequests,
      target: knobs.target ?? ctx.config.target_ongoing_requests,
      minReplicas: ctx.capacityAdjustedMinReplicas,
      maxReplicas: ctx.capacityAdjustedMaxReplicas,
      nowMs: ctx.currentTimeMs,
    },
    knobs,
    { state: prev?.hpa },
  );
  const next: HpaPolicyState = {
    lastSyncMs: ctx.currentTimeMs,
    desired: outcome.desired,
    hpa: outcome.state,
  };
  return {
    desiredReplicas: outcome.desired,
    policyState: { ...ctx.policyState, [STATE_KEY]: next },
  };
}
