/**
 * Live dashboard (issue 9): a read-only web page, by default at http://127.0.0.1:8265, showing
 * the application and deployment status, the replicas, and live charts (Observable Plot, served
 * by the dashboard itself) of requests/s and latency percentiles (service-wide), ongoing and
 * queued requests and replica counts of any deployment the page selects (one series per
 * `app/deployment`), with every scaling decision marked and explained. One shared tick pushes a
 * frame to every page over Server-Sent Events.
 *
 * ```ts
 * import { serveDashboardSource, startDashboard } from "../lib/dashboard/mod.ts";
 * const dashboard = await startDashboard(serveDashboardSource(serve), { port: 8265 });
 * // ... open dashboard.url ...
 * await dashboard.stop();
 * ```
 *
 * @module
 */
export { type DashboardHandle, type DashboardOptions, startDashboard } from "./server.ts";
export {
  type DashboardSource,
  fetchServeStatus,
  httpDashboardSource,
  serveDashboardSource,
} from "./source.ts";
export type {
  ChartPoint,
  DelayConfig,
  DeploymentCounts,
  DeploymentPoint,
  ExplainedDecision,
  RequestPoint,
  RequestSample,
  RequestStats,
} from "./shaping.ts";
export type { DashboardFrame, DashboardInit, ServiceState } from "./collector.ts";
export type { DeploymentSeriesJson } from "./series.ts";
