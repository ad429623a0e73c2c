/**
 * The dashboard's state between ticks: buffers finished requests and scaling decisions from a
 * {@linkcode DashboardSource}, and on each `tick(nowMs)` reads the status once and turns it into
 * a frame (status, one chart point with every deployment's counts, new decisions explained). It
 * keeps a bounded service-wide request history and one bounded series per deployment
 * ({@linkcode DeploymentSeriesStore}). Time is passed in, so tests step it without sleeping.
 *
 * @module
 */
import type { AutoscalerStatus, ScalingDecision } from "../autoscaler/mod.ts";
import type { ServeStatusJson } from "../serve/mod.ts";
import type { DashboardSource } from "./source.ts";
import { type DeploymentSeriesJson, DeploymentSeriesStore } from "./series.ts";
import {
  type ChartPoint,
  chartPoint,
  decisionKey,
  type DeploymentRef,
  deploymentsOf,
  explainDecision,
  type ExplainedDecision,
  History,
  type RequestPoint,
  type RequestSample,
  type RequestStats,
  requestStats,
} from "./shaping.ts";

/** Whether the service answered, and since when it has not. */
export interface ServiceState {
  /** Whether the latest status read succeeded. */
  up: boolean;
  /** The last failure, or null while up. */
  error: string | null;
  /** Unix ms of the first failed read of the current outage, or null while up. */
  down_since_ms: number | null;
}

/** What every client receives once per tick. */
export interface DashboardFrame {
  /** Unix ms of the tick (server clock; the page computes ages from it). */
  t: number;
  /** Whether the service answered this tick. */
  service: ServiceState;
  /** The `/api/status` document of this tick, or null when unreachable. */
  status: ServeStatusJson | null;
  /** This tick's point of every chart: service-wide requests, counts by `app/deployment`. */
  point: ChartPoint;
  /** Decisions first seen this tick, oldest first. */
  decisions: ExplainedDecision[];
}

/** What a client receives when it connects: the recent past and the latest frame. */
export interface DashboardInit {
  /** What the page is watching (the source's label, e.g. the service URL). */
  label: string;
  /** Tick period, ms. */
  tick_ms: number;
  /** How far back the charts reach, seconds. */
  history_s: number;
  /** The service-wide request points of the last `history_s`, oldest first. */
  history: RequestPoint[];
  /**
   * One series per deployment, by `app/deployment`, in the order they appeared; a removed one
   * (`removed_ms` set) stays until its last point is older than `history_s`.
   */
  deployments: Record<string, DeploymentSeriesJson>;
  /** The decisions of the last `history_s`, oldest first. */
  decisions: ExplainedDecision[];
  /** The latest frame, or null before the first tick. */
  frame: DashboardFrame | null;
}

/** Options of {@linkcode DashboardCollector}. */
export interface CollectorOptions {
  /** Tick period, ms (default 1000). */
  tickMs?: number;
  /** How far back charts reach, seconds (default 300). */
  historyS?: number;
  /** When collecting starts (the first tick's request window opens here), unix ms. */
  startMs: number;
}

const MAX_BUFFERED_SAMPLES = 500_000;
const MAX_DECISIONS = 200;

/** Collects a source's data and shapes it into frames; see the module doc. */
export class DashboardCollector {
  readonly tickMs: number;
  readonly historyS: number;
  readonly #source: DashboardSource;
  readonly #points: History<RequestPoint>;
  readonly #series: DeploymentSeriesStore;
  readonly #decisions: History<ExplainedDecision>;
  readonly #seen = new Set<string>();
  #samples: RequestSample[] = [];
  #pendingDecisions: ScalingDecision[] = [];
  #lastTickMs: number;
  #latest: DashboardFrame | null = null;
  #service: ServiceState = { up: false, error: "not read yet", down_since_ms: null };
  #unsubscribe: (() => void)[] = [];
  #backlogRead = false;
  /** The first deployment's key: the source's own decisions (backlog, subscription) are its. */
  #firstKey: string | null = null;

  /** Subscribes to the source's requests and decisions. Call {@linkcode stop} to let go. */
  constructor(source: DashboardSource, options: CollectorOptions) {
    this.tickMs = options.tickMs ?? 1000;
    this.historyS = options.historyS ?? 300;
    if (!(this.tickMs >= 10)) throw new RangeError(`tickMs must be >= 10, got ${this.tickMs}`);
    if (!(this.historyS >= 1)) throw new RangeError(`historyS must be >= 1, got ${this.historyS}`);
    this.#source = source;
    this.#lastTickMs = options.startMs;
    const capacity = Math.ceil(this.historyS * 1000 / this.tickMs) + 1;
    this.#points = new History(capacity);
    this.#series = new DeploymentSeriesStore({ capacity, historyMs: this.historyS * 1000 });
    this.#decisions = new History(MAX_DECISIONS);
    if (source.onRequest) {
      this.#unsubscribe.push(source.onRequest((r) => {
        this.#samples.push({
          timeMs: r.timeMs,
          latencyMs: r.latencyMs,
          status: r.status,
          deployment: r.deployment,
        });
        if (this.#samples.length > MAX_BUFFERED_SAMPLES) {
          this.#samples.splice(0, this.#samples.length - MAX_BUFFERED_SAMPLES);
        }
      }));
    }
    if (source.onDecision) {
      this.#unsubscribe.push(source.onDecision((d) => this.#pendingDecisions.push({ ...d })));
    }
  }

  /** Whether the source gives per-request latencies (otherwise those charts stay empty). */
  get hasRequestStats(): boolean {
    return this.#source.onRequest !== undefined;
  }

  /** Reads the status once and returns this tick's frame (also kept for new clients). */
  async tick(nowMs: number): Promise<DashboardFrame> {
    let status: ServeStatusJson | null = null;
    try {
      status = await this.#source.statusSnapshot();
      this.#service = { up: true, error: null, down_since_ms: null };
    } catch (error) {
      this.#service = {
        up: false,
        error: (error as Error)?.message ?? String(error),
        down_since_ms: this.#service.up || this.#service.down_since_ms === null
          ? nowMs
          : this.#service.down_since_ms,
      };
    }

    const fromMs = this.#lastTickMs;
    const toMs = Math.max(nowMs, fromMs + 1);
    this.#lastTickMs = toMs;
    const samples = this.#samples;
    this.#samples = samples.filter((s) => s.timeMs > toMs);
    const stats = status !== null && this.hasRequestStats
      ? requestStats(samples, { fromMs, toMs })
      : null;
    const point = chartPoint(nowMs, status, stats);
    const { deployments: _, ...requestPoint } = point;
    this.#points.push(requestPoint);
    const current = status ? deploymentsOf(status) : null;
    if (current !== null && current.length > 0) this.#firstKey = current[0].key;
    const requests = stats && current && this.#source.requestsByDeployment
      ? requestsByIngress(samples, current, { fromMs, toMs })
      : undefined;
    point.deployments = this.#series.record(nowMs, current, { requests });

    const fresh = this.#newDecisions(status);
    this.#latest = { t: nowMs, service: { ...this.#service }, status, point, decisions: fresh };
    return this.#latest;
  }

  /** What a newly connected client needs: history, decisions, latest frame. */
  init(): DashboardInit {
    return {
      label: this.#source.label,
      tick_ms: this.tickMs,
      history_s: this.historyS,
      history: this.#points.toArray(),
      deployments: this.#series.toJson(),
      decisions: this.#decisions.toArray(),
      frame: this.#latest,
    };
  }

  /** Unsubscribes from the source. */
  stop(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #newDecisions(status: ServeStatusJson | null): ExplainedDecision[] {
    // [decision, deployment key, that deployment's autoscaler status]
    const candidates: [ScalingDecision, string | null, Partial<AutoscalerStatus> | null][] = [];
    const autoscalers = new Map<string, Partial<AutoscalerStatus>>();
    for (const d of status ? deploymentsOf(status) : []) {
      const a = d.dep.autoscaler;
      if (a && typeof a === "object") autoscalers.set(d.key, a as Partial<AutoscalerStatus>);
    }
    const first = this.#source.decisionsDeployment ?? this.#firstKey;
    const firstAuto = first === null ? null : autoscalers.get(first) ?? null;
    if (!this.#backlogRead && this.#source.decisions) {
      this.#backlogRead = true;
      for (const d of this.#source.decisions()) candidates.push([d, first, firstAuto]);
    }
    for (const d of this.#pendingDecisions.splice(0)) candidates.push([d, first, firstAuto]);
    for (const [key, a] of autoscalers) {
      if (a.last_decision) candidates.push([a.last_decision, key, a]);
    }
    const fresh: ExplainedDecision[] = [];
    for (const [d, key, auto] of candidates.sort(([a], [b]) => a.time_ms - b.time_ms)) {
      const seenKey = `${key}:${decisionKey(d)}`;
      if (this.#seen.has(seenKey)) continue;
      this.#seen.add(seenKey);
      if (this.#seen.size > MAX_DECISIONS * 4) {
        this.#seen.delete(this.#seen.values().next().value!);
      }
      const e = explainDecision(d, {
        // The source's delays are the first deployment's; others show the hold time only.
        delays: key === this.#firstKey ? this.#source.delays ?? null : null,
        targetOngoingRequests: auto?.target_ongoing_requests ?? null,
        deployment: key,
      });
      fresh.push(e);
      this.#decisions.push(e);
    }
    return fresh;
  }
}

/**
 * Request statistics of each application's first deployment (the one that receives its HTTP
 * requests), from the samples that name it; the other deployments get none.
 */
function requestsByIngress(
  samples: readonly RequestSample[],
  current: readonly DeploymentRef[],
  window: { fromMs: number; toMs: number },
): Map<string, RequestStats> {
  const byKey = new Map<string, RequestSample[]>();
  const seenApps = new Set<string>();
  for (const d of current) {
    if (seenApps.has(d.app)) continue;
    seenApps.add(d.app);
    byKey.set(d.key, []);
  }
  for (const s of samples) if (s.deployment !== undefined) byKey.get(s.deployment)?.push(s);
  const out = new Map<string, RequestStats>();
  for (const [key, list] of byKey) out.set(key, requestStats(list, window));
  return out;
}
