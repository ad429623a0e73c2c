/**
 * What the service and the simulator share so that a simulation runs the service's own logic:
 * the router (power of two choices, `max_ongoing_requests`, back-pressure) and the replica set
 * (lifecycle, CPU accounting, start limits, drain and stop order), both on an injected clock.
 * lib/serve drives them with real workers, lib/sim with simulated replicas.
 *
 * @module
 */
export { ReplicaRouter, type ReplicaRouterOptions, type RoutedReplica } from "./router.ts";
export { Cluster } from "./cluster.ts";
export type { Clock, TimerId } from "../autoscaler/clock.ts";
export {
  type ManagedReplica,
  REPLICA_STATES,
  type ReplicaDriver,
  ReplicaSet,
  type ReplicaSetOptions,
  type ReplicaState,
} from "./replica_set.ts";
