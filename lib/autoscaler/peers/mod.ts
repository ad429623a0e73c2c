/**
 * Peer policies: other engines' autoscaling rules as policies of this lab, to predict how
 * Knative (`policy: knative-kpa`) and HPA/KEDA (`policy: hpa`) would scale the same load.
 *
 * - {@linkcode PEER_POLICIES}: name -> policy, as `loadPolicy` resolves them.
 * - {@linkcode kpaScale}, {@linkcode hpaScale}: the pure per-tick rules, for tests and notes.
 *
 * @module
 */
import type { AutoscalingPolicy } from "../policy.ts";
import { HPA_POLICY_NAME, hpaPolicy } from "./hpa.ts";
import { KNATIVE_KPA_POLICY_NAME, knativeKpaPolicy } from "./knative_kpa.ts";

export {
  HPA_DEFAULT_SCALE_DOWN,
  HPA_DEFAULT_SCALE_UP,
  HPA_INITIAL_STATE,
  HPA_POLICY_NAME,
  type HpaInput,
  type HpaKnobs,
  hpaKnobs,
  type HpaOutcome,
  hpaPolicy,
  type HpaRatePolicy,
  type HpaRules,
  hpaScale,
  type HpaState,
} from "./hpa.ts";
export {
  KNATIVE_KPA_POLICY_NAME,
  knativeKpaPolicy,
  KPA_INITIAL_STATE,
  KPA_TARGET_MIN,
  type KpaInput,
  type KpaKnobs,
  kpaKnobs,
  type KpaOutcome,
  kpaScale,
  type KpaScaleState,
  kpaTargetPerPod,
} from "./knative_kpa.ts";

/** The built-in peer policies by the name a config's `policy:` uses. */
export const PEER_POLICIES: Readonly<Record<string, AutoscalingPolicy>> = {
  [KNATIVE_KPA_POLICY_NAME]: knativeKpaPolicy,
  [HPA_POLICY_NAME]: hpaPolicy,
};
