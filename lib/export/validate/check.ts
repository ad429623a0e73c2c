/**
 * Checks manifests the way the engines would, offline: each document against its engine's CRD
 * (ajv, see crd_schema.ts), then what the CRDs cannot say — Knative's annotation ranges, KEDA's
 * trigger and HPA behaviour ranges, the embedded Serve config (lib/config + Ray's rules), and the
 * few fields of core Deployments and Services the exports rely on.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import { CRD_FILES, crdValidator, validateAgainstCrd } from "./crd_schema.ts";
import { fieldPath, type ManifestIssue } from "./issue.ts";
import { knativeServiceIssues } from "./knative_rules.ts";
import { serveConfigIssues } from "./serve_rules.ts";

/** Options of {@linkcode checkManifests}. */
export interface CheckOptions {
  /** Folder holding the CRDs (`../shared/schemas`). */
  schemasDir: string;
}

type Doc = Record<string, unknown>;
const SERVE_CONFIG_ENV = "SERVE_CONFIG";

function containersIssues(
  containers: unknown,
  base: (string | number)[],
  doc: number,
): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  if (!Array.isArray(containers) || containers.length === 0) {
    return [{
      doc,
      path: fieldPath(base),
      message: "must list at least one container",
      rule: "k8s",
    }];
  }
  containers.forEach((c: Doc, i) => {
    if (typeof c?.image !== "string" || c.image === "") {
      issues.push({
        doc,
        path: fieldPath([...base, i, "image"]),
        message: "is required",
        rule: "k8s",
      });
    }
    const env = Array.isArray(c?.env) ? c.env as Doc[] : [];
    env.forEach((e, j) => {
      if (e?.name === SERVE_CONFIG_ENV && typeof e.value === "string") {
        issues.push(...serveConfigIssues(e.value, {
          path: fieldPath([...base, i, "env", j, "value"]),
          doc,
          ray: false,
        }));
      }
    });
  });
  return issues;
}

function kedaIssues(m: Doc, doc: number): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const push = (path: (string | number)[], message: string) =>
    issues.push({ doc, path: fieldPath(path), message, rule: "keda" });
  const spec = (m.spec ?? {}) as Doc;
  const min = spec.minReplicaCount, max = spec.maxReplicaCount;
  if (typeof min === "number" && typeof max === "number" && min > max) {
    push(["spec", "maxReplicaCount"], `must be >= minReplicaCount (${min}), got ${max}`);
  }
  ((spec.triggers ?? []) as Doc[]).forEach((t, i) => {
    if (t?.type !== "prometheus") return;
    const md = (t.metadata ?? {}) as Doc;
    for (const k of ["serverAddress", "query", "threshold"]) {
      if (typeof md[k] !== "string" || md[k] === "") {
        push(
          ["spec", "triggers", i, "metadata", k],
          `is required by the prometheus scaler (a string)`,
        );
      }
    }
    for (const k of ["threshold", "activationThreshold"]) {
      if (typeof md[k] === "string" && !Number.isFinite(Number(md[k]))) {
        push(
          ["spec", "triggers", i, "metadata", k],
          `must be a number as a string, got ${JSON.stringify(md[k])}`,
        );
      }
    }
  });
  const behavior = ((spec.advanced as Doc)?.horizontalPodAutoscalerConfig as Doc)?.behavior as Doc;
  for (const dir of ["scaleUp", "scaleDown"]) {
    const rules = behavior?.[dir] as Doc | undefined;
    if (!rules) continue;
    const base = ["spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", dir];
    const w = rules.stabilizationWindowSeconds;
    if (typeof w === "number" && (w < 0 || w > 3600)) {
      push([...base, "stabilizationWindowSeconds"], `must be from 0 to 3600, got ${w}`);
    }
    ((rules.policies ?? []) as Doc[]).forEach((p, i) => {
      if (typeof p.periodSeconds === "number" && (p.periodSeconds < 1 || p.periodSeconds > 1800)) {
        push(
          [...base, "policies", i, "periodSeconds"],
          `must be from 1 to 1800, got ${p.periodSeconds}`,
        );
      }
      if (typeof p.value === "number" && p.value <= 0) {
        push([...base, "policies", i, "value"], `must be > 0, got ${p.value}`);
      }
    });
  }
  return issues;
}

function coreIssues(m: Doc, doc: number): ManifestIssue[] {
  const spec = m.spec as Doc | undefined;
  if (m.kind === "Deployment") {
    const issues: ManifestIssue[] = [];
    const sel = (spec?.selector as Doc)?.matchLabels as Doc | undefined;
    const labels = ((spec?.template as Doc)?.metadata as Doc)?.labels as Doc | undefined;
    if (!sel) {
      issues.push({ doc, path: "spec.selector.matchLabels", message: "is required", rule: "k8s" });
    } else if (!Object.entries(sel).every(([k, v]) => labels?.[k] === v)) {
      issues.push({
        doc,
        path: "spec.template.metadata.labels",
        message: "must carry every spec.selector.matchLabels label",
        rule: "k8s",
      });
    }
    issues.push(
      ...containersIssues(((spec?.template as Doc)?.spec as Doc)?.containers, [
        "spec",
        "template",
        "spec",
        "containers",
      ], doc),
    );
    return issues;
  }
  const ports = spec?.ports;
  if (!Array.isArray(ports) || ports.length === 0) {
    return [{ doc, path: "spec.ports", message: "must list at least one port", rule: "k8s" }];
  }
  return [];
}

/** Checks one parsed manifest (document `doc` of its file). */
export function checkManifest(
  m: Record<string, unknown>,
  doc: number,
  options: CheckOptions,
): ManifestIssue[] {
  if (m === null || typeof m !== "object" || Array.isArray(m)) {
    return [{ doc, path: "", message: "must be a mapping (a Kubernetes object)", rule: "kind" }];
  }
  const key = `${m.apiVersion} ${m.kind}`;
  if (key === "apps/v1 Deployment" || key === "v1 Service") return coreIssues(m, doc);
  if (!CRD_FILES[key]) return []; // not an engine's kind (a Secret, a ConfigMap): not checked
  const issues = validateAgainstCrd(m, { schemasDir: options.schemasDir, doc });
  const spec = m.spec as Doc | undefined;
  if (m.kind === "RayService" && typeof spec?.serveConfigV2 === "string") {
    issues.push(
      ...serveConfigIssues(spec.serveConfigV2, { path: "spec.serveConfigV2", doc, ray: true }),
    );
  }
  if (key === "serving.knative.dev/v1 Service") {
    issues.push(...knativeServiceIssues(m, doc));
    const tspec = (spec?.template as Doc)?.spec as Doc | undefined;
    if (tspec?.containers) {
      issues.push(
        ...containersIssues(tspec.containers, ["spec", "template", "spec", "containers"], doc)
          .filter((i) => i.rule !== "k8s"),
      );
    }
  }
  if (m.kind === "ScaledObject") issues.push(...kedaIssues(m, doc));
  return issues;
}

/** Whether `checkManifest` checks documents of this `apiVersion kind`. */
export function isCheckedKind(apiVersion: unknown, kind: unknown): boolean {
  const key = `${apiVersion} ${kind}`;
  return key in CRD_FILES || key === "apps/v1 Deployment" || key === "v1 Service";
}

/**
 * Checks every document of a YAML file's text; YAML errors come back as issues too. `kinds`
 * names each document's kind, `unchecked` the documents of kinds no check covers.
 */
export function checkManifestText(text: string, options: CheckOptions): {
  issues: ManifestIssue[];
  kinds: string[];
  unchecked: number[];
} {
  const docs = parseAllDocuments(text);
  const issues: ManifestIssue[] = [];
  const kinds: string[] = [];
  const unchecked: number[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, i) => {
    if (d.errors.length > 0) {
      for (const e of d.errors) issues.push({ doc: i, path: "", message: e.message, rule: "yaml" });
      kinds.push("?");
      return;
    }
    const value = d.toJS() as Doc;
    if (value === null || value === undefined) return;
    kinds.push(String(value?.kind ?? "?"));
    if (typeof value === "object" && !isCheckedKind(value.apiVersion, value.kind)) {
      unchecked.push(i);
    }
    issues.push(...checkManifest(value, i, options));
  });
  return { issues, kinds, unchecked };
}

/** Compiles the validators of every known CRD now (so the first check is not the slow one). */
export function warmValidators(options: CheckOptions): void {
  for (const key of Object.keys(CRD_FILES)) {
    const [apiVersion, kind] = key.split(" ");
    crdValidator(options.schemasDir, { apiVersion, kind });
  }
}
