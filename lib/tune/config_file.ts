/**
 * The recommended config as a complete config file: the base config's YAML (its comments and
 * every other setting kept) with the nine knobs set, each preceded by a comment saying why it
 * has its value and what moving it costs (from the sensitivity runs), and a header with the
 * predicted figures.
 *
 * @module
 */
import { isMap, isScalar, parseDocument, type YAMLMap } from "yaml";
import { fmt, signedPercent } from "./report.ts";
import type { Score } from "./score.ts";
import type { Slo } from "./slo.ts";
import { KNOB_NAMES, type KnobName, type Knobs, type SearchSpace } from "./space.ts";
import type { SensitivityRow } from "./tune.ts";

/** Options of {@linkcode recommendedConfigYaml}. */
export interface RecommendedConfigOptions {
  /** The recommended knob values written into the config. */
  knobs: Knobs;
  /** The recommendation's score, quoted in the header. */
  score: Score;
  /** The SLOs it was tuned for, quoted in the header. */
  slos: readonly Slo[];
  /** The search space, quoted in the header. */
  space: SearchSpace;
  /** The sensitivity rows, quoted in the header. */
  sensitivity: readonly SensitivityRow[];
  /** Header lines: how it was found (command, traffic, service time, scenarios). */
  provenance: readonly string[];
}

const DEPLOYMENT_KNOBS = new Set<KnobName>(["max_ongoing_requests", "max_queued_requests"]);
/** Old spellings that would fight the knobs set here. */
const ALIASES: Record<string, string[]> = {
  autoscaling: [
    "target_num_ongoing_requests_per_replica",
    "upscale_smoothing_factor",
    "downscale_smoothing_factor",
    "initial_replicas",
  ],
  deployment: ["max_concurrent_queries"],
};

function why(knob: KnobName, o: RecommendedConfigOptions): string[] {
  const r = o.space[knob];
  const lines: string[] = [];
  if (r.pinned !== null) {
    lines.push(`${knob}: pinned to ${r.pinned} (--pin).`);
  } else {
    const bounds = r.unboundedOption ? `-1 or ${r.min}..${r.max}` : `${r.min}..${r.max}`;
    lines.push(
      `${knob}: from the cheapest config meeting every SLO everywhere; searched ${bounds}.`,
    );
  }
  const base = o.score;
  for (const s of o.sensitivity.filter((x) => x.knob === knob)) {
    const metric = o.slos[0]?.metric ?? "p99";
    lines.push(
      `  at ${s.moved}: ${
        signedPercent(s.replicaHours / base.replicaHours - 1)
      } replica-hours, base-seed ` +
        `${metric} ${
          metric === "fail_ratio" ? fmt(s.primaryWorst, 4) : `${fmt(s.primaryWorst)} ms`
        }` +
        `${s.meets ? "" : " - breaks the SLO"}`,
    );
  }
  return lines;
}

/**
 * The base config file's text with the recommended knobs set and explained. Throws when the
 * text has no first deployment with an `autoscaling_config` (the tuner refuses such configs
 * earlier).
 */
export function recommendedConfigYaml(baseText: string, options: RecommendedConfigOptions): string {
  const doc = parseDocument(baseText);
  const depPath = ["applications", 0, "deployments", 0];
  const dep = doc.getIn(depPath, true);
  const as = doc.getIn([...depPath, "autoscaling_config"], true);
  if (!isMap(dep) || !isMap(as)) {
    throw new Error("the base config has no first deployment with an autoscaling_config");
  }
  for (const key of ALIASES.autoscaling) (as as YAMLMap).delete(key);
  for (const key of ALIASES.deployment) (dep as YAMLMap).delete(key);
  for (const knob of KNOB_NAMES) {
    const map = (DEPLOYMENT_KNOBS.has(knob) ? dep : as) as YAMLMap;
    if (map.has(knob)) map.set(knob, options.knobs[knob]);
    else map.add(doc.createPair(knob, options.knobs[knob]));
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === knob);
    if (pair && isScalar(pair.key)) {
      pair.key.commentBefore = why(knob, options).map((l) => ` ${l}`).join("\n");
    }
  }
  const s = options.score;
  const header = [
    ...options.provenance,
    `Predicted (simulated): ${fmt(s.replicaHours, 3)} replica-hours on the base traffic (mean ` +
    `over its seeds);`,
    `every SLO (${options.slos.map((x) => x.text).join(", ")}) met on ` +
    `${s.scenariosMet}/${s.scenariosRun} scenarios; worst ${options.slos[0]?.metric ?? "p99"} ` +
    `${
      options.slos[0]?.metric === "fail_ratio"
        ? fmt(s.primaryWorst, 4)
        : `${fmt(s.primaryWorst, 0)} ms`
    }.`,
    "Each knob's comment: its searched range, and what moving it one step does on the base seeds.",
  ];
  const previous = doc.commentBefore ? `\n\nBase config's header:\n${doc.commentBefore}` : "";
  doc.commentBefore = header.map((l) => ` ${l}`).join("\n") + previous;
  return doc.toString({ lineWidth: 0 });
}
