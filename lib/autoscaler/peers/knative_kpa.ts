/**
 * `policy: knative-kpa`: the Knative Pod Autoscaler's decision rule (peers.md §1.2), to predict
 * what Knative would do with an exported config. Knobs are Knative's, in snake_case, under
 * `policy_kwargs`, with Knative's defaults: `target` (default `container_concurrency` when set,
 * else 100), `target_utilization_percentage` 70, `container_concurrency` 0, `window_s` 60,
 * `panic_window_percentage` 10, `panic_threshold_percentage` 200, `max_scale_up_rate` 1000,
 * `max_scale_down_rate` 2, `scale_down_delay_s` 0, `tick_interval_s` 2.
 *
 * The policy keeps its own 1 s buckets of the revision-wide concurrency it is given (the stable
 * and panic windows), decides once per tick and holds that answer between ticks. Ray's wrapper
 * still applies around it (factors, bounds, delays): set `upscale_delay_s: 0`,
 * `downscale_delay_s: 0` and factors 1 to see Knative alone (`export --compare` does).
 *
 * @module
 */
import type { AutoscalingContext, PolicyOutput, PolicyState } from "../policy.ts";
import { kwargsCache, readNumberKwargs } from "./_kwargs.ts";

/** The name a config uses: `policy: knative-kpa`. */
export const KNATIVE_KPA_POLICY_NAME = "knative-kpa";

/** Knative's knobs, every one resolved. */
export interface KpaKnobs {
  /** Per-pod target before utilization (`autoscaling.knative.dev/target`), or null for the default. */
  target: number | null;
  targetUtilizationPercentage: number;
  /** `spec.containerConcurrency`; 0 = unlimited. */
  containerConcurrency: number;
  windowS: number;
  panicWindowPercentage: number;
  panicThresholdPercentage: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleDownDelayS: number;
  tickIntervalS: number;
}

/** Knative's smallest effective target (`autoscaling.TargetMin` in knative/serving). */
export const KPA_TARGET_MIN = 0.01;

const parseKnobs = kwargsCache((kwargs): KpaKnobs => {
  const k = readNumberKwargs(kwargs, {
    target: { default: null, min: 0.01, max: 1e9 },
    target_utilization_percentage: { default: 70, min: 1, max: 100 },
    container_concurrency: { default: 0, min: 0, max: 1000, integer: true },
    window_s: { default: 60, min: 6, max: 3600 },
    panic_window_percentage: { default: 10, min: 1, max: 100 },
    panic_threshold_percentage: { default: 200, min: 110, max: 1000 },
    max_scale_up_rate: { default: 1000, min: 1.0000001, max: 1e9 },
    max_scale_down_rate: { default: 2, min: 1.0000001, max: 1e9 },
    scale_down_delay_s: { default: 0, min: 0, max: 3600 },
    tick_interval_s: { default: 2, min: 0.1, max: 3600 },
  }, { policyName: KNATIVE_KPA_POLICY_NAME });
  return {
    target: k.target,
    targetUtilizationPercentage: k.target_utilization_percentage!,
    containerConcurrency: k.container_concurrency!,
    windowS: k.window_s!,
    panicWindowPercentage: k.panic_window_percentage!,
    panicThresholdPercentage: k.panic_threshold_percentage!,
    maxScaleUpRate: k.max_scale_up_rate!,
    maxScaleDownRate: k.max_scale_down_rate!,
    scaleDownDelayS: k.scale_down_delay_s!,
    tickIntervalS: k.tick_interval_s!,
  };
});

/** Parses `policy_kwargs` into {@linkcode KpaKnobs}; throws a `PolicyError` naming a bad key. */
export function kpaKnobs(kwargs: Readonly<Record<string, unknown>>): KpaKnobs {
  return parseKnobs(kwargs);
}

/**
 * Knative's per-pod target (`resources/target.go`): `total` is `target` capped by a non-zero
 * `containerConcurrency` (or `containerConcurrency`, else 100, when `target` is unset), times
 * the utilization, never below {@linkcode KPA_TARGET_MIN}.
 */
export function kpaTargetPerPod(knobs: KpaKnobs): number {
  const cc = knobs.containerConcurrency;
  let total = knobs.target ?? (cc > 0 ? cc : 100);
  if (knobs.target !== null && cc > 0) total = Math.min(total, cc);
  return Math.max(KPA_TARGET_MIN, total * knobs.targetUtilizationPercentage / 100);
}

/** The scaler's memory between ticks (Knative's `panicTime`, `maxPanicPods`, delay window). */
export interface KpaScaleState {
  /** Last tick over the panic threshold while panicking, or null when not in panic. */
  panicSinceMs: number | null;
  maxPanicPods: number;
  /** Recent (time, desired) pairs for the scale-down delay's rolling max. */
  delayWindow: [number, number][];
}

/** The empty state (not panicking). */
export const KPA_INITIAL_STATE: KpaScaleState = {
  panicSinceMs: null,
  maxPanicPods: 0,
  delayWindow: [],
};

/** One tick's inputs: window averages of the revision-wide concurrency and the ready pods. */
export interface KpaInput {
  stableTotal: number;
  panicTotal: number;
  readyPods: number;
  nowMs: number;
}

/** One tick's outcome with its intermediate figures (for tests and logs). */
export interface KpaOutcome {
  desired: number;
  /** Desired from the stable window, after the rate bounds. */
  stablePods: number;
  /** Desired from the panic window, after the rate bounds. */
  panicPods: number;
  inPanic: boolean;
  /** The rate bounds: [floor(ready / down rate), ceil(up rate x ready)]. */
  bounds: [number, number];
  state: KpaScaleState;
}

/**
 * One KPA tick (`pkg/autoscaler/scaling/autoscaler.go` Scale), pure. `options.state` is the
 * previous tick's `state` (default: not panicking, no history).
 */
export function kpaScale(
  input: KpaInput,
  knobs: KpaKnobs,
  options: { state?: KpaScaleState } = {},
): KpaOutcome {
  const state = options.state ?? KPA_INITIAL_STATE;
  const target = kpaTargetPerPod(knobs);
  const ready = Math.max(1, input.readyPods);
  const maxUp = Math.ceil(knobs.maxScaleUpRate * ready);
  const maxDown = Math.floor(ready / knobs.maxScaleDownRate);
  const clamp = (n: number) => Math.min(maxUp, Math.max(maxDown, n));
  const stablePods = clamp(Math.ceil(tidy(input.stableTotal / target)));
  const panicPods = clamp(Math.ceil(tidy(input.panicTotal / target)));
  const over = panicPods / ready >= knobs.panicThresholdPercentage / 100;
  let panicSinceMs = state.panicSinceMs;
  let maxPanicPods = state.maxPanicPods;
  if (over) {
    panicSinceMs = input.nowMs;
  } else if (panicSinceMs !== null && input.nowMs - panicSinceMs >= knobs.windowS * 1000) {
    panicSinceMs = null;
    maxPanicPods = 0;
  }
  let desired: number;
  if (panicSinceMs !== null) {
    desired = Math.max(stablePods, panicPods);
    if (desired > maxPanicPods) maxPanicPods = desired;
    else desired = maxPanicPods; // never scale down while panicking
  } else {
    desired = stablePods;
  }
  let delayWindow = state.delayWindow;
  if (knobs.scaleDownDelayS > 0) {
    const cutoff = input.nowMs - knobs.scaleDownDelayS * 1000;
    delayWindow = [...delayWindow.filter(([t]) => t > cutoff), [input.nowMs, desired]];
    desired = Math.max(...delayWindow.map(([, d]) => d));
  }
  return {
    desired,
    stablePods,
    panicPods,
    inPanic: panicSinceMs !== null,
    bounds: [maxDown, maxUp],
    state: { panicSinceMs, maxPanicPods, delayWindow },
  };
}

function tidy(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

const STATE_KEY = "knative_kpa";

interface KpaPolicyState {
  /** 1 s buckets: [second index, sum, count]. */
  buckets: [number, number, number][];
  lastTickMs: number | null;
  desired: number;
  scale: KpaScaleState;
}

/** Average of the bucket means whose second lies in `(nowS - windowS, nowS]`. */
function windowAverage(buckets: [number, number, number][], nowS: number, windowS: number) {
  let sum = 0, n = 0;
  for (const [s, total, count] of buckets) {
    if (s > nowS - windowS && s <= nowS) {
      sum += total / count;
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/**
 * The `knative-kpa` policy: records the concurrency it is given into 1 s buckets, and every
 * `tick_interval_s` runs {@linkcode kpaScale} on the stable and panic window averages.
 */
export function knativeKpaPolicy(ctx: AutoscalingContext): PolicyOutput {
  const knobs = kpaKnobs(ctx.policyKwargs);
  const prev = ctx.policyState[STATE_KEY] as KpaPolicyState | undefined;
  const nowS = Math.floor(ctx.currentTimeMs / 1000);
  const keepFromS = nowS - Math.ceil(knobs.windowS);
  const buckets = (prev?.buckets ?? []).filter(([s]) => s > keepFromS);
  const last = buckets[buckets.length - 1];
  if (last && last[0] === nowS) {
    buckets[buckets.length - 1] = [nowS, last[1] + ctx.totalNumRequests, last[2] + 1];
  } else buckets.push([nowS, ctx.totalNumRequests, 1]);
  const lastTickMs = prev?.lastTickMs ?? null;
  const due = lastTickMs === null ||
    ctx.currentTimeMs - lastTickMs >= Math.round(knobs.tickIntervalS * 1000);
  let next: KpaPolicyState;
  if (!due) {
    next = { ...prev!, buckets };
  } else {
    const panicWindowS = Math.max(1, knobs.windowS * knobs.panicWindowPercentage / 100);
    const outcome = kpaScale(
      {
        stableTotal: windowAverage(buckets, nowS, knobs.windowS),
        panicTotal: windowAverage(buckets, nowS, panicWindowS),
        readyPods: ctx.currentNumReplicas,
        nowMs: ctx.currentTimeMs,
      },
      knobs,
      { state: prev?.scale },
    );
    next = {
      buckets,
      lastTickMs: ctx.currentTimeMs,
      desired: outcome.desired,
      scale: outcome.state,
    };
  }
  const policyState: PolicyState = { ...ctx.policyState, [STATE_KEY]: next };
  return { desiredReplicas: next.desired, policyState };
}
