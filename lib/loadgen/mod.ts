/**
 * Load generation: shapes, closed-loop users, the open-loop arrival-rate executor, an
 * HDR-style histogram, Locust-compatible statistics and CSV writers, and the runner.
 * Statistics and writers are clock-agnostic (they take timestamps), so the simulator can
 * reuse them in virtual time.
 *
 * @module
 */
export * from "./histogram.ts";
export * from "./locust_stats.ts";
export * from "./csv_files.ts";
export * from "./wait_time.ts";
export * from "./shape.ts";
export * from "./http_client.ts";
export * from "./request_spec.ts";
export * from "./thresholds.ts";
export * from "./replicas.ts";
export * from "./runner.ts";
export * from "./report.ts";
export * from "./sweep.ts";
export * from "./failure_hint.ts";
