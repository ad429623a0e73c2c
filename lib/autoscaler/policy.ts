/**
 * Ray Serve's default autoscaling policy and the wrapper applied around every policy, as pure
 * functions (research/ray-serve.md §2.3-§2.7): a context in, the desired and new target
 * replicas plus the new policy state out. No clock, no I/O: the time is `ctx.currentTimeMs`.
 *
 * Order, as in Ray: cold-start fast path -> policy (raw, float allowed) -> scaling factors with
 * `ceil` and the anti-stall rule -> bounds -> wall-clock delay logic (§2.6) -> bounds again.
 *
 * @module
 */
import { type AutoscalingConfig, effectiveScalingFactors } from "../config/mod.ts";

/** State a policy carries from one tick to the next (Ray's `policy_state`). */
export type PolicyState = Readonly<Record<string, unknown>>;

/** Everything a policy may look at (Ray's `AutoscalingContext`), built once per tick. */
export interface AutoscalingContext {
  /** Application name. */
  appName: string;
  /** Deployment name. */
  deploymentName: string;
  /** The deployment's autoscaling config, every field defaulted. */
  config: AutoscalingConfig;
  /** RUNNING replicas only (Ray's `current_num_replicas`). */
  currentNumReplicas: number;
  /** The current target: the last decision (Ray's `target_num_replicas`). */
  targetNumReplicas: number;
  /** Aggregated ongoing requests, queued plus running (Ray's `total_num_requests`). */
  totalNumRequests: number;
  /** The queued part of the total. */
  totalQueuedRequests: number;
  /** Lower bound (`min_replicas`). */
  capacityAdjustedMinReplicas: number;
  /** Upper bound (`max_replicas`). */
  capacityAdjustedMaxReplicas: number;
  /** The state the policy returned last tick (the wrapper keeps its own keys under `__`). */
  policyState: PolicyState;
  /** `autoscaling_config.policy.policy_kwargs`, or `{}`. */
  policyKwargs: Readonly<Record<string, unknown>>;
  /** The time of this tick, ms since the epoch (virtual in tests, replay and the simulator). */
  currentTimeMs: number;
  /** When the target last went up, or `null`. */
  lastScaleUpTimeMs: number | null;
  /** When the target last went down, or `null`. */
  lastScaleDownTimeMs: number | null;
}

/** What a policy returns: a (possibly fractional) replica count, optionally with new state. */
export type PolicyOutput = number | { desiredReplicas: number; policyState?: PolicyState };

/** A policy: Ray's default or a custom one named by `policy.policy_function`. */
export type AutoscalingPolicy = (ctx: AutoscalingContext) => PolicyOutput;

/** Ray's default policy: raw desired replicas = `total / target_ongoing_requests` (a float). */
export function defaultAutoscalingPolicy(ctx: AutoscalingContext): number {
  return ctx.totalNumRequests / ctx.config.target_ongoing_requests;
}

/** Effective upscale/downscale gains. */
export interface ScalingFactors {
  /** Gain on upscale steps. */
  upscale: number;
  /** Gain on downscale steps. */
  downscale: number;
}

/**
 * Ray's fallback rule for the factors (research §1.1): `upscaling_factor` if set, else the
 * deprecated `upscale_smoothing_factor`, else the deprecated `smoothing_factor`; likewise down.
 */
export function scalingFactors(config: AutoscalingConfig): ScalingFactors {
  return effectiveScalingFactors(config);
}

/**
 * Applies the factor to the step from `current` towards `raw`, rounds up, and forces a one
 * replica drop when `ceil(raw) < current` but the damped step would not move (anti-stall).
 */
export function applyScalingFactors(
  raw: number,
  current: number,
  factors: ScalingFactors,
): number {
  const delta = raw - current;
  const factor = delta > 0 ? factors.upscale : factors.downscale;
  let scaled = Math.ceil(roundTiny(current + factor * delta));
  if (Math.ceil(roundTiny(raw)) < current && scaled === current) scaled = current - 1;
  return scaled;
}

/** Clamps `n` into `[min, max]`. */
export function applyBounds(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

/** Kills float noise such as `7 - 5.5000000000000001` before a `ceil`. */
function roundTiny(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Which delay is counting, for status and logs. */
export interface DelayStatus {
  /** `up` while an upscale is held back, `down` while a downscale is. */
  direction: "up" | "down";
  /** How long this direction has held, seconds. */
  held_s: number;
  /** The delay that applies (`upscale_delay_s`, `downscale_delay_s` or the to-zero delay). */
  required_s: number;
  /** `required_s - held_s`, never below 0. */
  remaining_s: number;
}

/** The wrapper's own state, kept in `policyState` under {@linkcode DELAY_STATE_KEY}. */
export interface DelayState {
  /** Direction that has held continuously since `sinceMs`. */
  direction: "up" | "down";
  /** When that direction first held. */
  sinceMs: number;
}

/** Key of the delay state inside the policy state (Ray keeps `__decision_counters` there). */
export const DELAY_STATE_KEY = "__delay";

/** Why a tick ended as it did. */
export type DecisionReason =
  | "cold_start"
  | "upscale"
  | "downscale"
  | "downscale_to_zero"
  | "upscale_delay"
  | "downscale_delay"
  | "bounds"
  | "steady";

/** Result of the delay step. */
export interface DelayOutcome {
  /** The target after this tick. */
  target: number;
  /** New delay state (`null` after firing, on equality or with nothing counting). */
  state: DelayState | null;
  /** Set while a delay holds a change back. */
  delay: DelayStatus | null;
  /** Set on the tick a held change is applied. */
  fired: "up" | "down" | null;
  /** How long the direction had held when this tick ran, seconds (0 without a direction). */
  heldS: number;
}

/**
 * Wall-clock hysteresis (research §2.6): a change fires once the same direction has held for the
 * delay (`nowMs - sinceMs >= delay`); a flip or a tick with `desired == target` resets the count.
 * A downscale from n > 1 stops at 1; 1 -> 0 uses `downscale_to_zero_delay_s` (falling back to
 * `downscale_delay_s`). The firing tick's `desired` is applied.
 */
export function applyDelay(
  desired: number,
  target: number,
  state: DelayState | null,
  options: { config: AutoscalingConfig; nowMs: number },
): DelayOutcome {
  const { config, nowMs } = options;
  if (desired === target) return { target, state: null, delay: null, fired: null, heldS: 0 };
  const direction = desired > target ? "up" : "down";
  const sinceMs = state !== null && state.direction === direction ? state.sinceMs : nowMs;
  const heldMs = nowMs - sinceMs;
  let requiredS: number;
  let value = desired;
  if (direction === "up") {
    requiredS = config.upscale_delay_s;
  } else if (target === 1) {
    requiredS = config.downscale_to_zero_delay_s ?? config.downscale_delay_s;
  } else {
    requiredS = config.downscale_delay_s;
    value = Math.max(1, desired);
  }
  if (heldMs >= Math.round(requiredS * 1000)) {
    return { target: value, state: null, delay: null, fired: direction, heldS: heldMs / 1000 };
  }
  const heldS = heldMs / 1000;
  return {
    target,
    state: { direction, sinceMs },
    delay: {
      direction,
      held_s: heldS,
      required_s: requiredS,
      remaining_s: Math.max(0, requiredS - heldS),
    },
    fired: null,
    heldS,
  };
}

/** One tick's outcome. */
export interface Decision {
  /** What the policy asked for before factors (float), or `null` on the cold-start path. */
  rawReplicas: number | null;
  /** After factors and bounds, before the delay: where the target goes when the delay ends. */
  desiredReplicas: number;
  /** The target after this tick (apply it when it differs from `ctx.targetNumReplicas`). */
  targetReplicas: number;
  /** Why. */
  reason: DecisionReason;
  /** Which delay is counting, if any. */
  delay: DelayStatus | null;
  /** How long the current direction had held at this tick (on a firing tick: the delay served). */
  heldS: number;
  /** State to pass back in the next tick's context. */
  policyState: PolicyState;
}

/** Raised when a (custom) policy returns something that is not a replica count. */
export class PolicyError extends Error {
  /** Wraps a policy failure with the policy's name. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PolicyError";
  }
}

/**
 * Runs `policy` inside Ray's wrapper (cold start, factors, anti-stall, bounds, delays, bounds)
 * and returns the decision. Pure: the same context always gives the same decision.
 * Throws {@linkcode PolicyError} when the policy throws or returns a non-count.
 */
export function decide(
  ctx: AutoscalingContext,
  policy: AutoscalingPolicy = defaultAutoscalingPolicy,
): Decision {
  const { config } = ctx;
  const min = ctx.capacityAdjustedMinReplicas;
  const max = ctx.capacityAdjustedMaxReplicas;
  const target = ctx.targetNumReplicas;
  const factors = scalingFactors(config);
  const state = ctx.policyState;
  const delayState = readDelayState(state);

  if (ctx.currentNumReplicas === 0) {
    // Cold start: no delay, and only the first replica(s) come fast (research §2.4 (a)).
    const want = ctx.totalNumRequests > 0
      ? Math.max(Math.ceil(roundTiny(1 * factors.upscale)), target)
      : target;
    const bounded = applyBounds(want, min, max);
    const reason: DecisionReason = bounded > target
      ? "cold_start"
      : bounded === target
      ? "steady"
      : "bounds";
    return {
      rawReplicas: null,
      desiredReplicas: bounded,
      targetReplicas: bounded,
      reason,
      delay: null,
      heldS: 0,
      policyState: state,
    };
  }

  let output: PolicyOutput;
  try {
    output = policy(ctx);
  } catch (error) {
    throw new PolicyError(`policy threw: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  const raw = typeof output === "number" ? output : output?.desiredReplicas;
  if (typeof raw !== "number" || !Number.isFinite(raw) || raw < 0) {
    throw new PolicyError(
      `policy must return a finite number >= 0 or { desiredReplicas, policyState }, got ${
        JSON.stringify(output)
      }`,
    );
  }
  const userState = typeof output === "number" ? state : (output.policyState ?? state);

  const scaled = applyScalingFactors(raw, ctx.currentNumReplicas, factors);
  const desired = applyBounds(scaled, min, max);
  const outcome = applyDelay(desired, target, delayState, { config, nowMs: ctx.currentTimeMs });
  const finalTarget = applyBounds(outcome.target, min, max);

  let reason: DecisionReason;
  if (outcome.fired === "up") reason = "upscale";
  else if (outcome.fired === "down") reason = finalTarget === 0 ? "downscale_to_zero" : "downscale";
  else if (finalTarget !== outcome.target) reason = "bounds";
  else if (outcome.delay !== null) {
    reason = outcome.delay.direction === "up" ? "upscale_delay" : "downscale_delay";
  } else reason = "steady";

  const nextState: Record<string, unknown> = { ...userState };
  if (outcome.state === null) delete nextState[DELAY_STATE_KEY];
  else nextState[DELAY_STATE_KEY] = outcome.state;
  return {
    rawReplicas: raw,
    desiredReplicas: desired,
    targetReplicas: finalTarget,
    reason,
    delay: outcome.delay,
    heldS: outcome.heldS,
    policyState: nextState,
  };
}

function readDelayState(state: PolicyState): DelayState | null {
  const s = state[DELAY_STATE_KEY] as DelayState | undefined;
  if (s === undefined || s === null || typeof s.sinceMs !== "number") return null;
  return s;
}

/**
 * The target a deployment starts with (research §2.7): `initial_replicas` when set, else
 * `min_replicas`, clamped into the bounds.
 */
export function initialTargetReplicas(config: AutoscalingConfig): number {
  return applyBounds(
    config.initial_replicas ?? config.min_replicas,
    config.min_replicas,
    config.max_replicas,
  );
}
