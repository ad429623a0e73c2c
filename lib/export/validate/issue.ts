/**
 * A problem found in a manifest: which document, which field, what was wrong.
 *
 * @module
 */

/** Which check found it. */
export type IssueRule = "yaml" | "kind" | "schema" | "knative" | "keda" | "serve" | "k8s";

/** One problem in a manifest. */
export interface ManifestIssue {
  /** 0-based document index in the file. */
  doc: number;
  /** Field path, e.g. `spec.template.metadata.annotations["autoscaling.knative.dev/window"]`. */
  path: string;
  /** What was wrong and what would be right. */
  message: string;
  /** Which check found it. */
  rule: IssueRule;
}

/** `a.b[0].c` from JSON-pointer segments (keys with dots or slashes are bracketed). */
export function fieldPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number" || /^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Formats an issue as `doc N (Kind): path: message [rule]`. */
export function formatManifestIssue(issue: ManifestIssue, kind?: string): string {
  const where = kind ? `doc ${issue.doc} (${kind})` : `doc ${issue.doc}`;
  return `${where}: ${issue.path || "(document)"}: ${issue.message} [${issue.rule}]`;
}
