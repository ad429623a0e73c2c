/**
 * Knative's annotation rules, which its webhook enforces and the CRD does not
 * (`pkg/apis/autoscaling/annotation_validation.go`, distributed.md §2): values are strings;
 * `target` >= 0.01; utilization 1-100; `min-scale`/`max-scale` integers >= 0 with max >= min
 * (max 0 = unlimited); `initial-scale` an integer >= 1 (0 needs the cluster's
 * allow-zero-initial-scale); `scale-down-delay` 0-1h and `window` 6s-1h in whole seconds;
 * panic window 1-100 %; panic threshold 110-1000 %; `containerConcurrency` 0-1000.
 *
 * @module
 */
import { parseGoDurationMs } from "./go_duration.ts";
import { fieldPath, type ManifestIssue } from "./issue.ts";

const PREFIX = "autoscaling.knative.dev/";
/** Old camelCase names the webhook still accepts, by their current name. */
const ALIASES: Record<string, string> = {
  minScale: "min-scale",
  maxScale: "max-scale",
  initialScale: "initial-scale",
  panicWindowPercentage: "panic-window-percentage",
  panicThresholdPercentage: "panic-threshold-percentage",
  targetUtilizationPercentage: "target-utilization-percentage",
  targetBurstCapacity: "target-burst-capacity",
  scaleDownDelay: "scale-down-delay",
  scaleToZeroPodRetentionPeriod: "scale-to-zero-pod-retention-period",
};
const KNOWN = new Set([
  "class",
  "metric",
  "target",
  "target-utilization-percentage",
  "target-burst-capacity",
  "min-scale",
  "max-scale",
  "initial-scale",
  "activation-scale",
  "scale-down-delay",
  "window",
  "panic-window-percentage",
  "panic-threshold-percentage",
  "scale-to-zero-pod-retention-period",
  "metric-aggregation-algorithm",
  "window-decay-factor",
  "scale-down-delay-window",
]);

type Check = (value: string) => string | null;

const number = (min: number, max: number, what = "a number"): Check => (v) => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) return `must be ${what}, got "${v}"`;
  if (n < min || n > max) {
    return max === Infinity
      ? `must be >= ${min}, got ${v}`
      : `must be from ${min} to ${max}, got ${v}`;
  }
  return null;
};
const integer = (min: number): Check => (v) => {
  if (!/^\d+$/.test(v.trim())) return `must be a whole number >= ${min}, got "${v}"`;
  return Number(v) < min ? `must be >= ${min}, got ${v}` : null;
};
const duration = (minS: number, maxS: number): Check => (v) => {
  const ms = parseGoDurationMs(v);
  if (ms === null) return `must be a duration such as "60s" or "5m", got "${v}"`;
  if (ms % 1000 !== 0) return `must be whole seconds, got "${v}"`;
  if (ms < minS * 1000 || ms > maxS * 1000) {
    return `must be from ${minS}s to ${maxS === 3600 ? "1h" : `${maxS}s`}, got "${v}"`;
  }
  return null;
};

const CHECKS: Record<string, Check> = {
  class: (v) =>
    v === "kpa.autoscaling.knative.dev" || v === "hpa.autoscaling.knative.dev"
      ? null
      : `must be kpa.autoscaling.knative.dev or hpa.autoscaling.knative.dev, got "${v}"`,
  target: number(0.01, Infinity),
  "target-utilization-percentage": number(1, 100),
  "target-burst-capacity": (v) => {
    const n = Number(v);
    return Number.isFinite(n) && (n >= 0 || n === -1) ? null : `must be -1 or >= 0, got "${v}"`;
  },
  "min-scale": integer(0),
  "max-scale": integer(0),
  "initial-scale": (v) =>
    integer(0)(v) ??
      (Number(v) === 0
        ? `is 0, which the webhook refuses unless the cluster sets allow-zero-initial-scale; use >= 1`
        : null),
  "activation-scale": integer(1),
  "scale-down-delay": duration(0, 3600),
  window: duration(6, 3600),
  "panic-window-percentage": number(1, 100),
  "panic-threshold-percentage": number(110, 1000),
  "scale-to-zero-pod-retention-period": duration(0, 3600),
};

/** Checks the autoscaling annotations of one annotations map at `basePath`. */
export function knativeAnnotationIssues(
  annotations: unknown,
  options: { basePath: (string | number)[]; doc: number },
): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  if (annotations === undefined || annotations === null) return issues;
  const at = (key: string) => fieldPath([...options.basePath, key]);
  const push = (path: string, message: string) =>
    issues.push({ doc: options.doc, path, message, rule: "knative" });
  if (typeof annotations !== "object" || Array.isArray(annotations)) {
    push(fieldPath(options.basePath), "must be a mapping of strings");
    return issues;
  }
  const values = new Map<string, string>();
  const where = new Map<string, string>();
  for (const [key, raw] of Object.entries(annotations as Record<string, unknown>)) {
    if (typeof raw !== "string") {
      push(
        at(key),
        `must be a string (quote it: "${String(raw)}"), got ${typeof raw} ${JSON.stringify(raw)}`,
      );
      continue;
    }
    if (!key.startsWith(PREFIX)) continue;
    let name = key.slice(PREFIX.length);
    name = ALIASES[name] ?? name;
    if (!KNOWN.has(name)) {
      push(
        at(key),
        `is not an autoscaling annotation Knative knows (known: ${[...KNOWN].join(", ")})`,
      );
      continue;
    }
    if (values.has(name)) {
      push(at(key), `sets ${name} twice (also ${where.get(name)})`);
      continue;
    }
    values.set(name, raw);
    where.set(name, key);
    const problem = CHECKS[name]?.(raw);
    if (problem) push(at(key), problem);
  }
  const min = values.get("min-scale"), max = values.get("max-scale");
  if (min !== undefined && max !== undefined && /^\d+$/.test(min) && /^\d+$/.test(max)) {
    if (Number(max) !== 0 && Number(max) < Number(min)) {
      push(
        at(where.get("max-scale")!),
        `must be >= min-scale (${min}) or "0" (unlimited), got ${max}`,
      );
    }
  }
  const cls = values.get("class") ?? "kpa.autoscaling.knative.dev";
  const metric = values.get("metric");
  if (metric !== undefined) {
    const allowed = cls.startsWith("kpa")
      ? ["concurrency", "rps"]
      : ["cpu", "memory", "concurrency", "rps"];
    if (!allowed.includes(metric) && cls.startsWith("kpa")) {
      push(
        at(where.get("metric")!),
        `must be ${allowed.join(" or ")} with the KPA class, got "${metric}"`,
      );
    }
  }
  return issues;
}

/** The Knative Service checks beyond the CRD: annotations (Service and template) and containerConcurrency. */
export function knativeServiceIssues(
  manifest: Record<string, unknown>,
  doc: number,
): ManifestIssue[] {
  const meta = manifest.metadata as Record<string, unknown> | undefined;
  const spec = manifest.spec as Record<string, unknown> | undefined;
  const template = spec?.template as Record<string, unknown> | undefined;
  const tmeta = template?.metadata as Record<string, unknown> | undefined;
  const issues = [
    ...knativeAnnotationIssues(meta?.annotations, { basePath: ["metadata", "annotations"], doc }),
    ...knativeAnnotationIssues(tmeta?.annotations, {
      basePath: ["spec", "template", "metadata", "annotations"],
      doc,
    }),
  ];
  const cc = (template?.spec as Record<string, unknown> | undefined)?.containerConcurrency;
  if (
    cc !== undefined && (typeof cc !== "number" || !Number.isInteger(cc) || cc < 0 || cc > 1000)
  ) {
    issues.push({
      doc,
      path: "spec.template.spec.containerConcurrency",
      message: `must be an integer from 0 to 1000 (container-concurrency-max-limit), got ${
        JSON.stringify(cc)
      }`,
      rule: "knative",
    });
  }
  return issues;
}
