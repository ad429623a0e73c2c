/**
 * Names a config's `policy:` may use instead of `module:exportName`: the built-in peer policies
 * of lib/autoscaler/peers (which this list must match; a test checks it).
 *
 * @module
 */

/** `policy: knative-kpa` (Knative's KPA) and `policy: hpa` (Kubernetes HPA / KEDA). */
export const BUILTIN_POLICY_NAMES: readonly string[] = ["knative-kpa", "hpa"];
