/**
 * Loading and validating a serve config file: YAML text in, a typed, fully defaulted
 * {@link ServeConfig} out, or a {@link ConfigError} listing every problem with file:line:col and
 * field path.
 *
 * Unknown keys are REJECTED (with a "did you mean" hint), unlike Ray Serve, which tolerates them
 * for forward compatibility: in a lab whose point is tuning, a misspelt knob that silently falls
 * back to its default would invalidate the experiment. Ray fields that we do not model (e.g.
 * `proxy_location`, `runtime_env`) are accepted with a warning saying they are ignored.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { isMap, isPair, isScalar, LineCounter, parseDocument } from "yaml";
import { APPLICATION_DEFAULTS, HTTP_OPTIONS_DEFAULTS } from "./defaults.ts";
import { ConfigError, type ConfigIssue } from "./issues.ts";
import { APPLICATION, HTTP, LEVELS, LISTENERS, TOP } from "./_levels.ts";
import { describe, type Entry, INVALID, join, type Node, or, Reader } from "./_reader.ts";
import { readDeployment } from "./_read_deployment.ts";
import type {
  ApplicationConfig,
  DeploymentConfig,
  HttpListenerKind,
  HttpOptions,
  ServeConfig,
} from "./types.ts";

/** A validated config and the warnings found while reading it. */
export interface LoadedConfig {
  /** The typed config with every default filled in. */
  config: ServeConfig;
  /** Deprecated aliases, ignored Ray fields, questionable settings. */
  warnings: ConfigIssue[];
}

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Where the text came from, as the user named it: used in messages, and its folder is the base
   * for relative model paths. Without it, messages say `<config>` and paths resolve from the cwd.
   */
  sourcePath?: string;
}

/**
 * Parses and validates config text. Every problem in the text is reported, each with file,
 * line, column, field path, what was expected and what was found.
 *
 * @throws {ConfigError} when the text has at least one error (not YAML, empty, wrong types, ...).
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): LoadedConfig {
  const file = options.sourcePath ?? null;
  const baseDir = options.sourcePath ? dirname(resolve(options.sourcePath)) : Deno.cwd();
  const fail = (
    code: ConfigIssue["code"],
    message: string,
    line: number | null = null,
    column: number | null = line === null ? null : 1,
  ) => {
    throw new ConfigError([
      { severity: "error", code, file, line, column, path: "", message },
    ]);
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const nul = text.indexOf("\u0000");
  if (nul >= 0) {
    // Point at the first NUL: a stray one in an otherwise good file is hard to find.
    const before = text.slice(0, nul);
    fail(
      "not_text",
      "is not a text file (it contains NUL bytes, the first one here); expected a YAML serve config",
      before.split("\n").length,
      nul - before.lastIndexOf("\n"),
    );
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const reader = new Reader(file, lineCounter, doc);
  reader.allLevels.push(...LEVELS);

  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const offset = error.pos[0];
      // The key being parsed, without the list index a broken flow sequence produces.
      const pathHere = pathAtOffset(doc.contents, offset).replace(/(\[\d+\])+$/, "");
      reader.errors.push({
        severity: "error",
        code: "yaml_syntax",
        file,
        ...reader.position(offset),
        path: error.code === "MULTIPLE_DOCS" ? "" : pathHere,
        message: error.code === "MULTIPLE_DOCS"
          ? "holds a second YAML document (after `---`); a config file is one document"
          : `is not valid YAML: ${firstLine(error.message)}`,
      });
    }
    throw new ConfigError(reader.errors, reader.warnings);
  }
  for (const warning of doc.warnings) {
    reader.warnings.push({
      severity: "warning",
      code: "yaml_syntax",
      file,
      ...reader.position(warning.pos[0]),
      path: pathAtOffset(doc.contents, warning.pos[0]),
      message: firstLine(warning.message),
    });
  }
  const root = doc.contents as Node;
  if (root === null || root === undefined || (isScalar(root) && root.value === null)) {
    fail(
      "empty",
      "is empty (no YAML content, only blanks or comments); expected a serve config with " +
        "`applications:` (see configs/basic.yaml)",
    );
  }
  if (!isMap(root)) {
    reader.error(
      "not_a_mapping",
      root,
      "",
      `must be a YAML mapping with \`applications:\` (Ray Serve's config-file structure), got ${
        describe(root)
      }`,
    );
    throw new ConfigError(reader.errors, reader.warnings);
  }

  const config = readServeConfig(reader, root, baseDir);
  const byPlace = (a: ConfigIssue, b: ConfigIssue) =>
    (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
  reader.errors.sort(byPlace);
  reader.warnings.sort(byPlace);
  if (reader.errors.length > 0) throw new ConfigError(reader.errors, reader.warnings);
  config.source_path = options.sourcePath ? resolve(options.sourcePath) : null;
  return { config, warnings: reader.warnings };
}

/**
 * Reads and validates a config file. A missing, unreadable or non-text file gets its own message.
 *
 * @throws {ConfigError} for a file that cannot be read or has at least one error.
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let bytes: Uint8Array;
  const fail = (code: ConfigIssue["code"], message: string): never => {
    throw new ConfigError([
      { severity: "error", code, file: path, line: null, column: null, path: "", message },
    ]);
  };
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return fail("not_found", `file not found (looked for ${resolve(path)})`);
    }
    if (error instanceof Deno.errors.IsADirectory) {
      return fail("unreadable", "is a directory; expected a YAML config file");
    }
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
      return fail("unreadable", `cannot be read: permission denied (${(error as Error).message})`);
    }
    return fail("unreadable", `cannot be read: ${(error as Error).message}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("not_text", "is not UTF-8 text; expected a YAML serve config");
  }
  return parseConfig(text, { sourcePath: path });
}

function readServeConfig(r: Reader, root: Node, baseDir: string): ServeConfig {
  const top = r.fields(root, "", TOP);
  const entries = top === INVALID ? new Map<string, Entry>() : top;
  const http = readHttpOptions(r, entries.get("http_options")?.value, "http_options");
  const applications: ApplicationConfig[] = [];
  const appsEntry = entries.get("applications");
  if (!appsEntry) {
    r.error(
      "required",
      root,
      "applications",
      "is required: expected a list of applications (name, route_prefix, import_path, deployments)",
    );
  } else {
    const items = r.seq(appsEntry.value, "applications", "applications");
    if (items !== INVALID) {
      if (items.length === 0) {
        r.error(
          "range",
          appsEntry.value,
          "applications",
          "must list at least one application, got an empty list",
        );
      }
      items.forEach((item, i) => {
        const app = readApplication(r, item, `applications[${i}]`, baseDir);
        if (app) applications.push(app);
      });
      checkUnique(r, items, "applications", "name", "application names", APPLICATION_DEFAULTS.name);
      checkUnique(
        r,
        items,
        "applications",
        "route_prefix",
        "route prefixes",
        APPLICATION_DEFAULTS.route_prefix,
      );
    }
  }
  return { http_options: http, applications, source_path: null };
}

function readHttpOptions(r: Reader, node: Node, path: string): HttpOptions {
  const d = HTTP_OPTIONS_DEFAULTS;
  const read = r.fields(node, path, HTTP);
  if (read === INVALID) return { ...d };
  const e = read;
  return {
    host: or(r.str(e, node, path, "host", { default: d.host, nonEmpty: true }), d.host) as string,
    port: or(
      r.num(e, node, path, "port", { default: d.port, int: true, min: 0, max: 65535 }),
      d.port,
    ) as number,
    root_path: or(
      r.str(e, node, path, "root_path", { default: d.root_path }),
      d.root_path,
    ) as string,
    request_timeout_s: or(
      r.num(e, node, path, "request_timeout_s", {
        default: null,
        min: 0,
        gt: true,
        nullable: true,
      }),
      null,
    ),
    keep_alive_timeout_s: or(
      r.num(e, node, path, "keep_alive_timeout_s", { default: d.keep_alive_timeout_s, min: 0 }),
      d.keep_alive_timeout_s,
    ) as number,
    listener: or(
      r.str(e, node, path, "listener", { default: d.listener, choices: LISTENERS }),
      d.listener,
    ) as HttpListenerKind,
    header_timeout_s: or(
      r.num(e, node, path, "header_timeout_s", { default: d.header_timeout_s, min: 0, gt: true }),
      d.header_timeout_s,
    ) as number,
    max_pending_connections: or(
      r.num(e, node, path, "max_pending_connections", {
        default: d.max_pending_connections,
        int: true,
        min: 1,
      }),
      d.max_pending_connections,
    ) as number,
  };
}

function readApplication(
  r: Reader,
  node: Node,
  path: string,
  baseDir: string,
): ApplicationConfig | null {
  const read = r.fields(node, path, APPLICATION);
  if (read === INVALID) return null;
  if (node === null || node === undefined || !isMap(node)) {
    r.error(
      "type",
      node,
      path,
      `must be a mapping with name, route_prefix, import_path and deployments, got ${
        describe(node)
      }`,
    );
    return null;
  }
  const e = read;
  const name = r.str(e, node, path, "name", { default: APPLICATION_DEFAULTS.name, nonEmpty: true });
  const routePrefix = r.str(e, node, path, "route_prefix", {
    default: APPLICATION_DEFAULTS.route_prefix,
  });
  if (typeof routePrefix === "string" && !routePrefix.startsWith("/")) {
    r.error(
      "range",
      e.get("route_prefix")?.value,
      join(path, "route_prefix"),
      `must start with "/", got ${JSON.stringify(routePrefix)}`,
    );
  }
  const importPath = r.str(e, node, path, "import_path", { required: true, nonEmpty: true });
  if (
    typeof importPath === "string" && importPath.trim() !== "" &&
    !/^[\w.\-/]+[:.][\w]+$/.test(importPath)
  ) {
    r.error(
      "range",
      e.get("import_path")?.value,
      join(path, "import_path"),
      `must be "module:attribute" or "module.attribute" (e.g. autoscale_lab.serve:app), got ${
        JSON.stringify(importPath)
      }`,
    );
  }
  const deployments: DeploymentConfig[] = [];
  const depPath = join(path, "deployments");
  const depEntry = e.get("deployments");
  if (!depEntry) {
    r.error(
      "required",
      node,
      depPath,
      "is required: expected a list with at least one deployment (name, autoscaling_config, ...)",
    );
  } else {
    const items = r.seq(depEntry.value, depPath, "deployments");
    if (items !== INVALID) {
      if (items.length === 0) {
        r.error(
          "range",
          depEntry.value,
          depPath,
          "must list at least one deployment, got an empty list",
        );
      }
      items.forEach((item, i) => {
        const dep = readDeployment(r, item, `${depPath}[${i}]`, baseDir);
        if (dep) deployments.push(dep);
      });
      checkUnique(r, items, depPath, "name", "deployment names");
    }
  }
  return {
    name: or(name, APPLICATION_DEFAULTS.name) as string,
    route_prefix: or(routePrefix, APPLICATION_DEFAULTS.route_prefix) as string,
    import_path: or(importPath, "") as string,
    deployments,
  };
}

function checkUnique(
  r: Reader,
  items: Node[],
  path: string,
  key: string,
  what: string,
  fallback?: string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isMap(item)) return;
    const pair = item.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    const valueNode = (pair?.value ?? item) as Node;
    // An absent key counts with its default (two applications without route_prefix both get "/").
    const value = pair ? (isScalar(valueNode) ? valueNode.value : undefined) : fallback;
    if (typeof value !== "string") return;
    const first = seen.get(value);
    if (first !== undefined) {
      r.error(
        "conflict",
        valueNode,
        `${path}[${i}].${key}`,
        `must be unique among ${what}, got ${JSON.stringify(value)}${
          pair ? "" : " (the default)"
        } again (also ${path}[${first}])`,
      );
    } else seen.set(value, i);
  });
}

/** The field path at an offset, for YAML syntax errors (best effort; `""` when none). */
function pathAtOffset(node: unknown, offset: number, path = ""): string {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node;
      const value = pair.value as Node;
      const start = key?.range?.[0] ?? value?.range?.[0];
      const end = value?.range?.[2] ?? key?.range?.[2];
      if (start === undefined || end === undefined) continue;
      if (offset >= start && offset <= end) {
        const name = isScalar(key) ? String(key.value) : "?";
        return pathAtOffset(value, offset, join(path, name));
      }
    }
  } else if (
    node && typeof node === "object" && "items" in node &&
    Array.isArray((node as { items: unknown[] }).items)
  ) {
    const items = (node as { items: Node[] }).items;
    for (let i = 0; i < items.length; i++) {
      const range = items[i]?.range;
      if (range && offset >= range[0] && offset <= range[2]) {
        return pathAtOffset(items[i], offset, `${path}[${i}]`);
      }
    }
  }
  return path;
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}
