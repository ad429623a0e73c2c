/**
 * The autoscaling controller: on every control-loop tick it feeds the live counts to the metrics
 * pipeline, builds an {@linkcode AutoscalingContext}, runs the wrapped policy, applies a changed
 * target to the deployment and keeps the status (HEALTHY / UPSCALING / DOWNSCALING with Ray's
 * messages), the decision log, the decisions CSV and the Prometheus gauges up to date.
 *
 * The controller is the only part that knows the time, and it learns it from outside:
 * {@linkcode AutoscalerController.tick} takes `nowMs`, so a simulator or the replay tool steps
 * it in virtual time; {@linkcode startAutoscaler} is the wrapper that schedules ticks on an
 * injected {@linkcode Clock} (real by default).
 *
 * @module
 */
import type { AutoscalingConfig } from "../config/mod.ts";
import { DecisionsCsv } from "./_csv.ts";
import { MetricsPipeline, type MetricsSource } from "./metrics.ts";
import {
  type AutoscalingContext,
  type AutoscalingPolicy,
  decide,
  type DecisionReason,
  defaultAutoscalingPolicy,
  type DelayStatus,
  initialTargetReplicas,
  type PolicyState,
} from "./policy.ts";
import { isDefaultPolicyRef } from "./custom_policy.ts";

/** Ray's control-loop period (`RAY_SERVE_CONTROL_LOOP_INTERVAL_S`, 0.1 s). */
export const CONTROL_LOOP_INTERVAL_MS = 100;

/**
 * What the autoscaler drives, implemented by serving's deployment (structural type).
 */
export interface AutoscalingTarget {
  /** Requests executing on each RUNNING replica. */
  ongoingByReplica(): ReadonlyMap<string, number>;
  /**
   * Optional: a number that changes whenever the set of RUNNING replica ids, or the order
   * `ongoingByReplica()` lists them in, changes; lets the metrics store skip its per-tick check
   * of every report and the pipeline find each replica's window by position (the simulator's
   * 1,000 replicas).
   */
  replicaSetVersion?(): number;
  /** Requests waiting in the router queue. */
  queuedRequests(): number;
  /** RUNNING replicas. */
  runningReplicas(): number;
  /** The current target replica count. */
  targetReplicas(): number;
  /** Sets a new target; the pool starts or drains replicas to reach it. */
  setTargetReplicas(n: number): void;
}

/** Deployment status as the autoscaler sees it (research §5.2). */
export type AutoscalerDeploymentStatus = "HEALTHY" | "UPSCALING" | "DOWNSCALING";

/** Why the status last changed (Ray's `status_trigger`). */
export type AutoscalerStatusTrigger =
  | "CONFIG_UPDATE_COMPLETED"
  | "AUTOSCALING"
  | "UPSCALE_COMPLETED"
  | "DOWNSCALE_COMPLETED";

/** A tick's reason: the policy's, or a failure of the policy itself. */
export type TickReason =
  | DecisionReason
  | "policy_error"
  | "waiting_for_policy"
  /** A new `autoscaling_config` was applied in place (the row that marks it in the CSV). */
  | "config_update";

/** What {@linkcode AutoscalerController.reconfigure} kept and changed. */
export interface ReconfigureResult {
  /** The sample windows survived (same `metrics_interval_s`, `look_back_period_s`, aggregation). */
  keptWindows: boolean;
  /** The delay state survived (same policy); the new delays apply to the time already held. */
  keptDelayState: boolean;
  /** Target before and after (Ray: `initial_replicas` if set, else the old target clamped). */
  fromReplicas: number;
  /** Target after the reconfiguration, replicas. */
  toReplicas: number;
  /** The changed knobs, `name: old -> new`. */
  changes: string[];
}

/** The autoscaler's view for `/api/status` (CONTRACTS.md), snake_case like the rest of it. */
export interface AutoscalerStatus {
  /** HEALTHY once running == target, otherwise the direction of the last change. */
  status: AutoscalerDeploymentStatus;
  /** Why the status last changed. */
  status_trigger: AutoscalerStatusTrigger;
  /** Ray's message, e.g. `Upscaling from 3 to 7 replicas.`; empty when HEALTHY. */
  message: string;
  /** The policy input: aggregated queued + running requests over the look-back window. */
  total_ongoing_requests: number;
  /** The queued part of it. */
  queued_requests: number;
  /** RUNNING replicas at the last tick. */
  running_replicas: number;
  /** After factors and bounds, before the delay: where the target goes when the delay ends. */
  desired_replicas: number;
  /** The current target. */
  target_replicas: number;
  /** Which delay is counting and how long is left, or `null`. */
  delay: DelayStatus | null;
  /** The last tick's reason. */
  reason: TickReason;
  /** `min_replicas`. */
  min_replicas: number;
  /** `max_replicas`. */
  max_replicas: number;
  /** `target_ongoing_requests`. */
  target_ongoing_requests: number;
  /** `default` or the custom `module:export`. */
  policy: string;
  /** Last policy failure, or `null`. */
  policy_error: string | null;
  /** When the last tick ran, ms since the epoch (clock time). */
  last_tick_ms: number | null;
  /** The most recent scaling decision, or `null`. */
  last_decision: ScalingDecision | null;
  /** Gauges under Ray's Prometheus names; the server adds `deployment` and `application` labels. */
  prometheus: Record<string, number>;
}

/** One applied target change with the inputs behind it. */
export interface ScalingDecision {
  /** Clock time of the change, ms since the epoch. */
  time_ms: number;
  /** Seconds since the autoscaler started. */
  elapsed_s: number;
  /** Target before. */
  from_replicas: number;
  /** Target after. */
  to_replicas: number;
  /** Why. */
  reason: TickReason;
  /** Inputs at the time. */
  total_ongoing_requests: number;
  /** Queued part of the total. */
  queued_requests: number;
  /** RUNNING replicas. */
  running_replicas: number;
  /** The policy's raw (float) answer, `null` on the cold-start path. */
  raw_replicas: number | null;
  /** How long the direction had held before firing, seconds. */
  held_s: number;
  /** Ray's status message for the change. */
  message: string;
}

/** One control-loop tick, as replay and the simulator record it. */
export interface TickRecord {
  /** Clock time of the tick. */
  nowMs: number;
  /** Seconds since the autoscaler started. */
  elapsedS: number;
  /** Policy input. */
  totalOngoing: number;
  /** Queued part. */
  queued: number;
  /** RUNNING replicas. */
  running: number;
  /** Desired replicas (before the delay). */
  desired: number;
  /** Target after the tick. */
  target: number;
  /** Why. */
  reason: TickReason;
  /** Set when this tick changed the target. */
  decision: ScalingDecision | null;
}

/** Options shared by {@linkcode AutoscalerController} and {@linkcode startAutoscaler}. */
export interface AutoscalerOptions {
  /** The deployment's autoscaling config. */
  config: AutoscalingConfig;
  /** Application name (labels, log lines, CSV file name). */
  appName: string;
  /** Deployment name. */
  deploymentName: string;
  /** One line per scaling decision and per policy failure; default: none. */
  log?: (line: string) => void;
  /** Append every change to this CSV (deploy uses `results/<app>_autoscaler_<UTC start>.csv`). */
  decisionsCsvPath?: string;
  /** An already-loaded policy; overrides `config.policy`. */
  policy?: AutoscalingPolicy;
  /** Where the policy inputs come from; default: the full metrics pipeline. */
  metrics?: MetricsSource;
}

const RECENT_DECISIONS = 200;

/**
 * A steppable controller: call {@linkcode AutoscalerController.tick} with the time. No timers.
 */
export class AutoscalerController {
  readonly #target: AutoscalingTarget;
  readonly #options: AutoscalerOptions;
  #config: AutoscalingConfig;
  #metrics: MetricsSource;
  readonly #ownMetrics: boolean;
  readonly #startMs: number;
  #policy: AutoscalingPolicy | null;
  #policyName: string;
  #policyState: PolicyState = {};
  #csv: DecisionsCsv | null;
  #decisions: ScalingDecision[] = [];
  #listeners = new Set<(d: ScalingDecision) => void>();
  #lastScaleUpMs: number | null = null;
  #lastScaleDownMs: number | null = null;
  #lastErrorLogged: string | null = null;
  #status: AutoscalerStatus;
  #lastCsvKey = "";

  /** A controller for `target`, started at `startMs` (the time of the first tick or earlier). */
  constructor(target: AutoscalingTarget, options: AutoscalerOptions & { startMs: number }) {
    this.#target = target;
    this.#options = options;
    this.#config = options.config;
    this.#startMs = options.startMs;
    this.#metrics = options.metrics ?? new MetricsPipeline(options.config, options.startMs);
    this.#ownMetrics = options.metrics === undefined;
    const ref = options.config.policy?.policy_function ?? null;
    if (options.policy !== undefined) {
      this.#policy = options.policy;
      this.#policyName = ref ?? (options.policy.name || "custom");
    } else if (ref === null || isDefaultPolicyRef(ref)) {
      this.#policy = defaultAutoscalingPolicy;
      this.#policyName = "default";
    } else {
      this.#policy = null; // set by setPolicy() once loaded
      this.#policyName = ref;
    }
    this.#csv = options.decisionsCsvPath ? new DecisionsCsv(options.decisionsCsvPath) : null;

    // Initial target (research §2.7): initial_replicas when set, else the current one, clamped.
    const current = target.targetReplicas();
    const initial = options.config.initial_replicas !== null
      ? initialTargetReplicas(options.config)
      : Math.min(options.config.max_replicas, Math.max(options.config.min_replicas, current));
    if (initial !== current) target.setTargetReplicas(initial);
    this.#status = {
      status: "HEALTHY",
      status_trigger: "CONFIG_UPDATE_COMPLETED",
      message: "",
      total_ongoing_requests: 0,
      queued_requests: 0,
      running_replicas: target.runningReplicas(),
      desired_replicas: initial,
      target_replicas: initial,
      delay: null,
      reason: this.#policy === null ? "waiting_for_policy" : "steady",
      min_replicas: options.config.min_replicas,
      max_replicas: options.config.max_replicas,
      target_ongoing_requests: options.config.target_ongoing_requests,
      policy: this.#policyName,
      policy_error: null,
      last_tick_ms: null,
      last_decision: null,
      prometheus: {},
    };
    if (initial !== current) {
      this.#enterScaling(current, initial, "AUTOSCALING");
    }
    this.#updateGauges(0);
  }

  /** Installs a loaded custom policy (the constructor leaves it unset for a `module:fn` ref). */
  setPolicy(policy: AutoscalingPolicy): void {
    this.#policy = policy;
  }

  /** The config in force. */
  get config(): AutoscalingConfig {
    return this.#config;
  }

  /**
   * Applies a new `autoscaling_config` in place at `nowMs` (a lightweight update): the sample
   * windows are kept unless their timing knobs changed, the delay state is kept unless the
   * policy changed (so time already held counts against the new delay), and the target becomes
   * `initial_replicas` when set, else the old target clamped into the new bounds (Ray, research
   * §2.7). Logged and written to the decisions CSV as a `config_update` row.
   */
  reconfigure(config: AutoscalingConfig, nowMs: number): ReconfigureResult {
    const old = this.#config;
    const changes = autoscalingChanges(old, config);
    const sameTiming = old.metrics_interval_s === config.metrics_interval_s &&
      old.look_back_period_s === config.look_back_period_s &&
      old.aggregation_function === config.aggregation_function;
    const oldRef = old.policy?.policy_function ?? null;
    const newRef = config.policy?.policy_function ?? null;
    const samePolicy = oldRef === newRef ||
      ((oldRef === null || isDefaultPolicyRef(oldRef)) &&
        (newRef === null || isDefaultPolicyRef(newRef)));
    this.#config = config;
    if (!sameTiming && this.#ownMetrics) this.#metrics = new MetricsPipeline(config, nowMs);
    if (!samePolicy) {
      this.#policyState = {};
      if (newRef === null || isDefaultPolicyRef(newRef)) {
        this.#policy = defaultAutoscalingPolicy;
        this.#policyName = "default";
      } else {
        this.#policy = null; // the handle loads it and calls setPolicy()
        this.#policyName = newRef;
      }
      this.#status.policy = this.#policyName;
      this.#status.policy_error = null;
    }
    const from = this.#target.targetReplicas();
    const to = config.initial_replicas !== null
      ? initialTargetReplicas(config)
      : Math.min(config.max_replicas, Math.max(config.min_replicas, from));
    const s = this.#status;
    s.min_replicas = config.min_replicas;
    s.max_replicas = config.max_replicas;
    s.target_ongoing_requests = config.target_ongoing_requests;
    if (to !== from) {
      this.#target.setTargetReplicas(to);
      if (to > from) this.#lastScaleUpMs = nowMs;
      else this.#lastScaleDownMs = nowMs;
      const message = this.#enterScaling(from, to, "AUTOSCALING");
      this.#record({
        time_ms: nowMs,
        elapsed_s: (nowMs - this.#startMs) / 1000,
        from_replicas: from,
        to_replicas: to,
        reason: "config_update",
        total_ongoing_requests: s.total_ongoing_requests,
        queued_requests: s.queued_requests,
        running_replicas: this.#target.runningReplicas(),
        raw_replicas: null,
        held_s: 0,
        message,
      });
    }
    s.target_replicas = to;
    this.#updateGauges(0);
    this.#log(
      `autoscaler ${this.#label()}: config updated in place (${
        changes.join(", ") || "no knob changed"
      }); sample windows ${sameTiming ? "kept" : "restarted"}, delay state ${
        samePolicy ? "kept" : "reset (new policy)"
      }; target ${from}${to !== from ? ` -> ${to}` : " kept"}`,
    );
    this.#lastCsvKey = "";
    this.#writeCsv({
      nowMs,
      elapsedS: (nowMs - this.#startMs) / 1000,
      totalOngoing: s.total_ongoing_requests,
      queued: s.queued_requests,
      running: this.#target.runningReplicas(),
      desired: s.desired_replicas,
      target: to,
      reason: "config_update",
      decision: null,
    });
    this.#lastCsvKey = "";
    return {
      keptWindows: sameTiming,
      keptDelayState: samePolicy,
      fromReplicas: from,
      toReplicas: to,
      changes,
    };
  }

  /** Records a policy that could not be loaded: status shows it, the target holds. */
  setPolicyError(message: string): void {
    this.#status.policy_error = message;
    this.#status.message = message;
    this.#log(
      `autoscaler ${this.#label()}: ${message}; the target stays at ${this.#target.targetReplicas()}`,
    );
  }

  /** One control-loop step at `nowMs`: metrics, context, decision, apply, status. */
  tick(nowMs: number): TickRecord {
    const target = this.#target;
    const ongoingByReplica = target.ongoingByReplica();
    const queuedNow = target.queuedRequests();
    this.#metrics.observe(nowMs, {
      queued: queuedNow,
      ongoingByReplica,
      replicaSetVersion: target.replicaSetVersion?.(),
    });
    const m = this.#metrics.aggregate(nowMs);
    const running = target.runningReplicas();
    const current = target.targetReplicas();
    const ctx: AutoscalingContext = {
      appName: this.#options.appName,
      deploymentName: this.#options.deploymentName,
      config: this.#config,
      currentNumReplicas: running,
      targetNumReplicas: current,
      totalNumRequests: m.totalOngoing,
      totalQueuedRequests: m.queued,
      capacityAdjustedMinReplicas: this.#config.min_replicas,
      capacityAdjustedMaxReplicas: this.#config.max_replicas,
      policyState: this.#policyState,
      policyKwargs: this.#config.policy?.policy_kwargs ?? {},
      currentTimeMs: nowMs,
      lastScaleUpTimeMs: this.#lastScaleUpMs,
      lastScaleDownTimeMs: this.#lastScaleDownMs,
    };

    let desired = current;
    let next = current;
    let reason: TickReason;
    let delay: DelayStatus | null = null;
    let raw: number | null = null;
    let heldS = 0;
    const t0 = performance.now();
    if (this.#policy === null) {
      reason = this.#status.policy_error === null ? "waiting_for_policy" : "policy_error";
    } else {
      try {
        const d = decide(ctx, this.#policy);
        this.#policyState = d.policyState;
        desired = d.desiredReplicas;
        next = d.targetReplicas;
        reason = d.reason;
        delay = d.delay;
        raw = d.rawReplicas;
        heldS = d.heldS;
        if (this.#status.policy_error !== null && this.#lastErrorLogged !== null) {
          this.#status.policy_error = null;
          this.#lastErrorLogged = null;
        }
      } catch (error) {
        reason = "policy_error";
        const message = `policy ${this.#policyName} failed: ${(error as Error).message}`;
        this.#status.policy_error = message;
        if (this.#lastErrorLogged !== message) {
          this.#lastErrorLogged = message;
          this.#log(`autoscaler ${this.#label()}: ${message}; holding the target at ${current}`);
        }
      }
    }
    const policyMs = performance.now() - t0;

    let decision: ScalingDecision | null = null;
    if (next !== current) {
      target.setTargetReplicas(next);
      if (next > current) this.#lastScaleUpMs = nowMs;
      else this.#lastScaleDownMs = nowMs;
      const message = this.#enterScaling(current, next, "AUTOSCALING");
      decision = {
        time_ms: nowMs,
        elapsed_s: (nowMs - this.#startMs) / 1000,
        from_replicas: current,
        to_replicas: next,
        reason,
        total_ongoing_requests: m.totalOngoing,
        queued_requests: m.queued,
        running_replicas: running,
        raw_replicas: raw,
        held_s: heldS,
        message,
      };
      this.#record(decision);
    } else if (this.#status.status !== "HEALTHY" && running === current) {
      this.#status.status_trigger = this.#status.status === "UPSCALING"
        ? "UPSCALE_COMPLETED"
        : "DOWNSCALE_COMPLETED";
      this.#status.status = "HEALTHY";
      this.#status.message = "";
    }

    const s = this.#status;
    s.total_ongoing_requests = m.totalOngoing;
    s.queued_requests = m.queued;
    s.running_replicas = running;
    s.desired_replicas = desired;
    s.target_replicas = next;
    s.delay = delay;
    s.reason = reason;
    s.last_tick_ms = nowMs;
    if (s.policy_error !== null && s.status === "HEALTHY") s.message = s.policy_error;
    this.#updateGauges(policyMs);

    const record: TickRecord = {
      nowMs,
      elapsedS: (nowMs - this.#startMs) / 1000,
      totalOngoing: m.totalOngoing,
      queued: m.queued,
      running,
      desired,
      target: next,
      reason,
      decision,
    };
    this.#writeCsv(record);
    return record;
  }

  /** A copy of the current status. */
  status(): AutoscalerStatus {
    return structuredClone(this.#status);
  }

  /** Recent scaling decisions, oldest first. */
  decisions(): ScalingDecision[] {
    return this.#decisions.map((d) => ({ ...d }));
  }

  /** Calls `fn` on every scaling decision; returns an unsubscribe function. */
  onDecision(fn: (d: ScalingDecision) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #enterScaling(from: number, to: number, trigger: AutoscalerStatusTrigger): string {
    const up = to > from;
    const message = `${up ? "Upscaling" : "Downscaling"} from ${from} to ${to} replicas.`;
    this.#status.status = up ? "UPSCALING" : "DOWNSCALING";
    this.#status.status_trigger = trigger;
    this.#status.message = message;
    this.#status.target_replicas = to;
    return message;
  }

  #record(d: ScalingDecision): void {
    this.#decisions.push(d);
    if (this.#decisions.length > RECENT_DECISIONS) this.#decisions.shift();
    this.#status.last_decision = { ...d };
    const raw = d.raw_replicas === null ? "n/a (cold start)" : d.raw_replicas.toFixed(2);
    const cfg = this.#config;
    const delayText = d.reason === "upscale"
      ? `, held ${d.held_s.toFixed(1)} s >= upscale_delay_s ${cfg.upscale_delay_s}`
      : d.reason === "downscale"
      ? `, held ${d.held_s.toFixed(1)} s >= downscale_delay_s ${cfg.downscale_delay_s}`
      : d.reason === "downscale_to_zero"
      ? `, held ${d.held_s.toFixed(1)} s >= downscale_to_zero_delay_s ${
        cfg.downscale_to_zero_delay_s ?? cfg.downscale_delay_s
      }`
      : "";
    this.#log(
      `autoscaler ${this.#label()}: ${d.message} reason=${d.reason} total_ongoing=${
        d.total_ongoing_requests.toFixed(2)
      } queued=${
        d.queued_requests.toFixed(2)
      } running=${d.running_replicas} target_ongoing=${cfg.target_ongoing_requests} raw=${raw}${delayText}`,
    );
    for (const fn of this.#listeners) {
      try {
        fn({ ...d });
      } catch (error) {
        this.#log(`autoscaler ${this.#label()}: decision listener failed: ${error}`);
      }
    }
  }

  #updateGauges(policyMs: number): void {
    const s = this.#status;
    const g = s.prometheus;
    g.ray_serve_autoscaling_target_replicas = s.target_replicas;
    g.ray_serve_autoscaling_desired_replicas = s.desired_replicas;
    g.ray_serve_autoscaling_total_requests = s.total_ongoing_requests;
    g.ray_serve_autoscaling_target_ongoing_requests = this.#config.target_ongoing_requests;
    g.ray_serve_autoscaling_policy_execution_time_ms = policyMs;
  }

  #writeCsv(r: TickRecord): void {
    if (this.#csv === null) return;
    const key = `${r.running}|${r.desired}|${r.target}|${r.reason}`;
    if (key === this.#lastCsvKey) return;
    this.#lastCsvKey = key;
    const error = this.#csv.append(r);
    if (error !== null) this.#log(`autoscaler ${this.#label()}: ${error}`);
  }

  #label(): string {
    return `${this.#options.appName}/${this.#options.deploymentName}`;
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}

/** The knobs that differ between two autoscaling configs, as `name: old -> new`. */
export function autoscalingChanges(a: AutoscalingConfig, b: AutoscalingConfig): string[] {
  const out: string[] = [];
  for (const key of Object.keys(b) as (keyof AutoscalingConfig)[]) {
    const x = JSON.stringify(a[key] ?? null);
    const y = JSON.stringify(b[key] ?? null);
    if (x !== y) out.push(`${key}: ${x} -> ${y}`);
  }
  return out;
}
