/**
 * Config problems (errors and warnings) with their place in the file, and the error thrown when a
 * config cannot be used.
 *
 * @module
 */

/** What kind of problem an issue is; stable, for tests and tools that react to a kind. */
export type ConfigIssueCode =
  | "not_found"
  | "unreadable"
  | "not_text"
  | "empty"
  | "yaml_syntax"
  | "duplicate_key"
  | "not_a_mapping"
  | "type"
  | "range"
  | "required"
  | "unknown_key"
  | "conflict"
  | "invalid"
  | "deprecated"
  | "ignored"
  | "advice";

/** One problem found in a config: an error (the config is refused) or a warning (it is used). */
export interface ConfigIssue {
  /** `error` refuses the config; `warning` only informs. */
  severity: "error" | "warning";
  /** Kind of problem. */
  code: ConfigIssueCode;
  /** The file as the user named it, or `null` for a config given as text without a path. */
  file: string | null;
  /** 1-based line, or `null` when the problem has no place (a missing file). */
  line: number | null;
  /** 1-based column, or `null` when the problem has no place. */
  column: number | null;
  /** Field path such as `applications[0].deployments[0].autoscaling_config.max_replicas`; `""` for the whole file. */
  path: string;
  /** What was expected and what was found, e.g. `must be >= min_replicas (2), got 1`. */
  message: string;
}

/**
 * Formats an issue the way compilers do: `file:line:col: path message`
 * (`<config>` stands in for a missing file name; parts without a value are left out, so an
 * issue with neither file nor line reads `path message`). Severity is not part of it: callers
 * print warnings as `warning: ${formatIssue(w)}`.
 */
export function formatIssue(issue: ConfigIssue): string {
  let where = issue.file ?? (issue.line === null ? "" : "<config>");
  if (issue.line !== null) {
    where += `:${issue.line}`;
    if (issue.column !== null) where += `:${issue.column}`;
  }
  const subject = issue.path === "" ? "" : `${issue.path} `;
  return `${where === "" ? "" : `${where}: `}${subject}${issue.message}`;
}

/** Thrown when a config has at least one error; `message` lists every error, one per line. */
export class ConfigError extends Error {
  /** Every error found (never empty). */
  readonly issues: ConfigIssue[];
  /** Warnings found along with the errors. */
  readonly warnings: ConfigIssue[];

  /** Builds the error from the issues found; `warnings` are kept but not part of the message. */
  constructor(issues: ConfigIssue[], warnings: ConfigIssue[] = []) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
    this.warnings = warnings;
  }
}
