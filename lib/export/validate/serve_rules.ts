/**
 * The Serve config inside a manifest (`serveConfigV2`, or a pod's `SERVE_CONFIG`), checked with
 * this project's own config validator (lib/config) plus Ray's rules it does not apply because the
 * lab runs no Python (distributed.md §5): `import_path` as `module:attr` or `module.attr`,
 * `runtime_env.working_dir` a remote URI, `route_prefix` starting with `/`, no per-application
 * `host`/`port`, unique deployment names.
 *
 * @module
 */
import { parse } from "yaml";
import { ConfigError, parseConfig } from "../../config/mod.ts";
import type { ManifestIssue } from "./issue.ts";

/**
 * What lib/config refuses but Ray accepts in a generic Serve config: `user_config` is free-form
 * in Ray (ours holds the lab's model settings), and an application may omit `deployments` (the
 * code's options then apply).
 */
function rayAllows(path: string, message: string): boolean {
  if (/\.user_config(\.|\[|$)/.test(path)) return true;
  return /^applications\[\d+\]\.deployments$/.test(path) && message.startsWith("is required");
}

/** Ray's `import_path` rule: `module:attr` (one colon) or `module.attr`, both parts non-empty. */
function importPathValid(v: unknown): boolean {
  if (typeof v !== "string" || v.trim() !== v || v === "") return false;
  const colons = v.split(":").length - 1;
  if (colons > 1) return false;
  const i = colons === 1 ? v.indexOf(":") : v.lastIndexOf(".");
  return i > 0 && i < v.length - 1;
}

/** Checks `text`, reporting issues at `path` (e.g. `spec.serveConfigV2`) with the line inside it. */
export function serveConfigIssues(
  text: string,
  options: { path: string; doc: number; ray: boolean },
): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const push = (sub: string, message: string) =>
    issues.push({ doc: options.doc, path: `${options.path} > ${sub}`, message, rule: "serve" });
  try {
    parseConfig(text, { sourcePath: options.path });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const i of error.issues) {
      if (options.ray && rayAllows(i.path, i.message)) continue;
      const at = i.line !== null ? ` (line ${i.line} of the embedded config)` : "";
      push(i.path || "(config)", `${i.message}${at}`);
    }
    return issues;
  }
  if (!options.ray) return issues;
  const raw = parse(text) as { applications?: Record<string, unknown>[] };
  (raw.applications ?? []).forEach((app, a) => {
    const p = `applications[${a}]`;
    const ip = app.import_path;
    if (!importPathValid(ip)) {
      push(
        `${p}.import_path`,
        `must be "module:attribute" or "module.attribute", got ${JSON.stringify(ip)}`,
      );
    }
    const rp = app.route_prefix;
    if (rp !== undefined && rp !== null && (typeof rp !== "string" || !rp.startsWith("/"))) {
      push(`${p}.route_prefix`, `must start with "/", got ${JSON.stringify(rp)}`);
    }
    for (const k of ["host", "port"]) {
      if (k in app) {
        push(`${p}.${k}`, "is not an application field in Ray: set http_options instead");
      }
    }
    const env = app.runtime_env as Record<string, unknown> | undefined;
    const wd = env?.working_dir;
    if (wd !== undefined && (typeof wd !== "string" || !/^[a-z][a-z0-9+.-]*:\/\//i.test(wd))) {
      push(
        `${p}.runtime_env.working_dir`,
        `must be a remote URI (s3://, gs://, https://...zip); Ray rejects local paths, got ${
          JSON.stringify(wd)
        }`,
      );
    }
    const names = new Set<string>();
    ((app.deployments ?? []) as Record<string, unknown>[]).forEach((d, i) => {
      const n = String(d.name);
      if (names.has(n)) push(`${p}.deployments[${i}].name`, `repeats the deployment name "${n}"`);
      names.add(n);
    });
  });
  return issues;
}
