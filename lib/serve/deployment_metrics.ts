/**
 * A deployment's Prometheus metrics (names as Ray Serve's, research/ray-serve.md §7): the
 * counters and histograms the request path updates, and gauges read at scrape time from a
 * {@linkcode DeploymentView}.
 *
 * @module
 */
import { Metric, type Registry, type Series } from "./metrics.ts";
import { REPLICA_STATES, type ReplicaState } from "./types.ts";

/** What the scrape-time gauges read of a deployment. */
export interface DeploymentView {
  queued(): number;
  ongoingTotal(): number;
  replicas(): readonly { id: string; ongoing: number; state: ReplicaState; healthy: boolean }[];
  stateCounts(): Readonly<Record<ReplicaState, number>>;
  /** The `ray_serve_deployment_status` code (0 UNKNOWN ... 6 HEALTHY). */
  statusCode(): number;
  target(): number;
  /** The autoscaler's desired replicas, else the target. */
  desired(): number;
}

/** One replica's request series. */
export interface ReplicaSeries {
  requests: Series;
  latency: Series;
  errors: Series;
}

/** Labels of a deployment's metrics. */
export interface DeploymentLabels {
  name: string;
  appName: string;
  route: string;
}

/** The metrics of one deployment; see the module doc. */
export class DeploymentMetrics {
  readonly #m: Record<string, Metric>;
  readonly #labels: DeploymentLabels;
  readonly #routerSeries: Series;
  readonly #byReplica = new WeakMap<object, ReplicaSeries>();

  /** Registers the deployment's metrics in `registry`; gauges read `view` at scrape time. */
  constructor(registry: Registry, labels: DeploymentLabels, view: DeploymentView) {
    this.#labels = labels;
    const r = registry;
    const depApp = ["deployment", "application"];
    const perReplica = ["deployment", "replica", "route", "application"];
    const replicaApp = ["deployment", "replica", "application"];
    const handle = ["deployment", "application", "handle", "actor_id"];
    const m: Record<string, Metric> = this.#m = {
      requests: r.counter(
        "ray_serve_deployment_request_counter_total",
        "Requests processed by each replica.",
        perReplica,
      ),
      errors: r.counter(
        "ray_serve_deployment_error_counter_total",
        "Requests that failed in each replica.",
        perReplica,
      ),
      latency: r.histogram(
        "ray_serve_deployment_processing_latency_ms",
        "Time a replica took to process a request (excludes queueing), ms.",
        perReplica,
      ),
      routerRequests: r.counter(
        "ray_serve_num_router_requests_total",
        "Requests received by the router.",
        ["deployment", "route", "application", "handle", "actor_id"],
      ),
      starts: r.counter("ray_serve_deployment_replica_starts_total", "Replica starts.", replicaApp),
      healthFailures: r.counter(
        "ray_serve_health_check_failures_total",
        "Failed replica health checks.",
        replicaApp,
      ),
      startupLatency: r.histogram(
        "ray_serve_replica_startup_latency_ms",
        "Time from asking for a replica to it being RUNNING, ms.",
        replicaApp,
      ),
      queued: r.gauge(
        "ray_serve_deployment_queued_queries",
        "Requests waiting in the router queue.",
        handle,
      ),
      ongoingAtReplicas: r.gauge(
        "ray_serve_num_ongoing_requests_at_replicas",
        "Requests assigned to replicas and not finished.",
        handle,
      ),
      processing: r.gauge(
        "ray_serve_replica_processing_queries",
        "Requests each replica is processing.",
        replicaApp,
      ),
      healthy: r.gauge(
        "ray_serve_deployment_replica_healthy",
        "1 when the replica is RUNNING and healthy.",
        replicaApp,
      ),
      status: r.gauge(
        "ray_serve_deployment_status",
        "0 UNKNOWN, 1 DEPLOY_FAILED, 2 UNHEALTHY, 3 UPDATING, 4 UPSCALING, 5 DOWNSCALING, 6 HEALTHY.",
        depApp,
      ),
      target: r.gauge(
        "ray_serve_autoscaling_target_replicas",
        "Target number of replicas.",
        depApp,
      ),
      desired: r.gauge(
        "ray_serve_autoscaling_desired_replicas",
        "Replicas the autoscaling policy asked for (after factors, bounds and delays).",
        depApp,
      ),
      totalRequests: r.gauge(
        "ray_serve_autoscaling_total_requests",
        "Total requests (queued + ongoing) seen by the autoscaler.",
        depApp,
      ),
      byState: r.gauge(
        "autoscale_lab_deployment_replicas",
        "Replicas by state (no Ray Serve counterpart; `serve status` replica_states).",
        ["deployment", "application", "state"],
      ),
    };
    const { name, appName, route } = labels;
    const dep = [name, appName];
    this.#routerSeries = m.routerRequests.child([name, route, appName, "proxy", "proxy"]);
    const handleLabels = [name, appName, "proxy", "proxy"];
    m.queued.collect = () => m.queued.set(handleLabels, view.queued());
    m.ongoingAtReplicas.collect = () => m.ongoingAtReplicas.set(handleLabels, view.ongoingTotal());
    m.processing.collect = () => {
      m.processing.clear();
      for (const r of view.replicas()) m.processing.set([name, r.id, appName], r.ongoing);
    };
    m.healthy.collect = () => {
      m.healthy.clear();
      for (const r of view.replicas()) m.healthy.set([name, r.id, appName], r.healthy ? 1 : 0);
    };
    m.status.collect = () => m.status.set(dep, view.statusCode());
    m.target.collect = () => m.target.set(dep, view.target());
    m.byState.collect = () => {
      const counts = view.stateCounts();
      for (const s of REPLICA_STATES) m.byState.set([name, appName, s], counts[s]);
    };
    m.desired.collect = () => m.desired.set(dep, view.desired());
    m.totalRequests.collect = () => m.totalRequests.set(dep, view.ongoingTotal() + view.queued());
  }

  /** Counts a request received by the router. */
  routerRequest(): void {
    Metric.inc(this.#routerSeries);
  }

  /** The request series of `replica` (made once per replica). */
  replicaSeries(replica: { id: string }): ReplicaSeries {
    let s = this.#byReplica.get(replica);
    if (!s) {
      const labels = [this.#labels.name, replica.id, this.#labels.route, this.#labels.appName];
      s = {
        requests: this.#m.requests.child(labels),
        latency: this.#m.latency.child(labels),
        errors: this.#m.errors.child(labels),
      };
      this.#byReplica.set(replica, s);
    }
    return s;
  }

  /** Records one processed request: counted, its processing time observed, errors counted. */
  processed(series: ReplicaSeries, processingMs: number, error: boolean): void {
    Metric.inc(series.requests);
    this.#m.latency.observeSeries(series.latency, processingMs);
    if (error) Metric.inc(series.errors);
  }

  /** Counts a failed request (it threw). */
  failed(series: ReplicaSeries): void {
    Metric.inc(series.errors);
  }

  /** Counts a replica start. */
  replicaStarted(replicaId: string): void {
    this.#m.starts.inc([this.#labels.name, replicaId, this.#labels.appName]);
  }

  /** Observes a replica's time from asked-for to RUNNING. */
  replicaRunning(replicaId: string, startupMs: number): void {
    this.#m.startupLatency.observe([this.#labels.name, replicaId, this.#labels.appName], startupMs);
  }

  /** Counts a failed health check. */
  healthCheckFailed(replicaId: string): void {
    this.#m.healthFailures.inc([this.#labels.name, replicaId, this.#labels.appName]);
  }
}
