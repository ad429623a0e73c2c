/**
 * The control loop around {@linkcode AutoscalerController}: {@linkcode startAutoscaler} ticks it
 * on an injected clock (real by default), imports a custom policy first, and applies config
 * updates in place.
 *
 * @module
 */
import type { AutoscalingConfig } from "../config/mod.ts";
import { type Clock, realClock, type TimerId } from "./clock.ts";
import {
  AutoscalerController,
  type AutoscalerOptions,
  type AutoscalerStatus,
  type AutoscalingTarget,
  CONTROL_LOOP_INTERVAL_MS,
  type ReconfigureResult,
  type ScalingDecision,
  type TickRecord,
} from "./controller.ts";
import { isDefaultPolicyRef, loadPolicy } from "./custom_policy.ts";

/** Whether a custom policy loaded (see {@linkcode AutoscalerHandle.ready}). */
export type PolicyLoadResult = { ok: true } | { ok: false; error: string };

/** A running autoscaler (CONTRACTS.md). */
export interface AutoscalerHandle {
  /** The current status (a copy). */
  status(): AutoscalerStatus;
  /** Recent scaling decisions, oldest first. */
  decisions(): ScalingDecision[];
  /** Subscribes to scaling decisions; returns the unsubscribe function. */
  onDecision(fn: (d: ScalingDecision) => void): () => void;
  /** Stops the control loop (the target stays where it is). */
  stop(): void;
  /**
   * Applies a new `autoscaling_config` in place (see
   * {@linkcode AutoscalerController.reconfigure}); a new custom policy is imported first and the
   * target holds until it loads.
   */
  reconfigure(config: AutoscalingConfig): ReconfigureResult;
  /** Settles once the policy is loaded (at once for the default); never rejects. */
  ready: Promise<PolicyLoadResult>;
  /** The steppable controller underneath (for tests and tools). */
  controller: AutoscalerController;
}

/** Options of {@linkcode startAutoscaler}. */
export interface StartAutoscalerOptions extends AutoscalerOptions {
  /** Clock that times the loop; default the real clock. */
  clock?: Clock;
  /** Folder a relative `policy_function` module is resolved from (the config file's folder). */
  policyBaseDir?: string;
  /** Loop period, default 100 ms (Ray's control loop). */
  loopIntervalMs?: number;
  /** Called with every tick's record (the simulator keeps them for its trace). */
  onTick?: (record: TickRecord) => void;
}

/**
 * Starts the control loop on `options.clock`: a tick, then the next one `loopIntervalMs` later
 * (like Ray, the period is the step's duration plus the interval). A custom
 * `policy.policy_function` is imported first; until it loads (or if it cannot) the target holds
 * and `status().message` says why.
 */
export function startAutoscaler(
  target: AutoscalingTarget,
  options: StartAutoscalerOptions,
): AutoscalerHandle {
  const clock = options.clock ?? realClock;
  const intervalMs = options.loopIntervalMs ?? CONTROL_LOOP_INTERVAL_MS;
  const controller = new AutoscalerController(target, { ...options, startMs: clock.now() });
  let stopped = false;
  let timer: TimerId | null = null;
  const loop = () => {
    timer = null;
    if (stopped) return;
    try {
      const record = controller.tick(clock.now());
      options.onTick?.(record);
    } catch (error) {
      options.log?.(
        `autoscaler ${options.appName}/${options.deploymentName}: tick failed: ${
          (error as Error)?.stack ?? error
        }`,
      );
    }
    if (!stopped) timer = clock.setTimeout(loop, intervalMs);
  };

  const ref = options.config.policy?.policy_function ?? null;
  let ready: Promise<PolicyLoadResult>;
  if (options.policy !== undefined || ref === null || isDefaultPolicyRef(ref)) {
    ready = Promise.resolve({ ok: true });
    // The first tick runs on the clock too, so the caller can attach the handle before it.
    timer = clock.setTimeout(loop, 0);
  } else {
    ready = loadPolicy(ref, { baseDir: options.policyBaseDir }).then(
      (policy) => {
        controller.setPolicy(policy);
        if (!stopped) loop();
        return { ok: true } as const;
      },
      (error) => {
        const message = (error as Error).message;
        controller.setPolicyError(message);
        return { ok: false, error: message } as const;
      },
    );
  }

  return {
    status: () => controller.status(),
    decisions: () => controller.decisions(),
    onDecision: (fn) => controller.onDecision(fn),
    stop: () => {
      stopped = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
    },
    ready,
    controller,
    reconfigure: (config) => {
      const result = controller.reconfigure(config, clock.now());
      const newRef = config.policy?.policy_function ?? null;
      if (!result.keptDelayState && newRef !== null && !isDefaultPolicyRef(newRef)) {
        loadPolicy(newRef, { baseDir: options.policyBaseDir }).then(
          (policy) => {
            if (controller.config === config) controller.setPolicy(policy);
          },
          (error) => controller.setPolicyError((error as Error).message),
        );
      }
      return result;
    },
  };
}
