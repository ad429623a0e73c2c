/**
 * `user_config.model` and the `--model` flag: which model a replica serves.
 *
 * String forms: `resnet50`, `noop` (answers at once), `noop:<ms>` (fixed service time, e.g.
 * `noop:20`), `emulate:SPEC` (the emulated model: each request is held for a duration drawn from
 * SPEC, any `simulate --service-time` form: `45`, `fixed:45`, `exp:45`, `lognormal:45,80`, a
 * benchmark JSON or a Locust `_stats.csv`), or a path to an `.onnx` file (relative paths, here and
 * in SPEC, are taken from `baseDir`, the config file's folder). Map forms (YAML only): `{path: ...}`, `{url: ..., sha256: ...}`,
 * `{noop: {service_time_ms: N}}`.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { durationSpecFile, parseInlineDurationSpec } from "../duration/mod.ts";
import { closestMatch } from "./_suggest.ts";
import { ConfigError } from "./issues.ts";
import type { ModelSpec } from "./types.ts";

/** What a model string may be, for messages. */
export const MODEL_STRING_FORMS =
  "resnet50, noop, noop:<ms>, emulate:SPEC or a path to an .onnx file";

/** Result of interpreting a model string: the spec, or a message saying what was wrong. */
export type ModelStringResult = { spec: ModelSpec } | { error: string };

/**
 * Interprets a model string (see the module doc). Never throws; `error` reads after the field name,
 * e.g. `must be resnet50, noop, noop:<ms>, emulate:SPEC or a path to an .onnx file, got "resnet"; did you mean "resnet50"?`.
 */
export function interpretModelString(
  value: string,
  options: { baseDir?: string } = {},
): ModelStringResult {
  const text = value.trim();
  if (text === "resnet50") return { spec: { kind: "resnet50" } };
  if (text === "noop") return { spec: { kind: "noop", service_time_ms: 0 } };
  if (/^noop:/i.test(text)) {
    const msText = text.slice(5).trim().replace(/ms$/, "");
    const ms = Number(msText);
    if (msText === "" || !Number.isFinite(ms) || ms < 0) {
      return {
        error: `must be noop:<ms> with a service time in milliseconds >= 0 (e.g. noop:20), got ${
          JSON.stringify(value)
        }`,
      };
    }
    return { spec: { kind: "noop", service_time_ms: ms } };
  }
  if (/^emulate:/i.test(text)) return interpretEmulateString(text.slice(8), options);
  if (/^[a-z]+:\/\//i.test(text)) {
    return {
      error: `is a URL (${
        JSON.stringify(value)
      }); a downloaded model needs a checksum: write {url: ..., sha256: <64 hex digits>}`,
    };
  }
  if (/\.onnx$/i.test(text)) {
    return {
      spec: {
        kind: "path",
        path: isAbsolute(text) ? text : resolve(options.baseDir ?? Deno.cwd(), text),
      },
    };
  }
  const hint = closestMatch(text, ["resnet50", "noop", "emulate"]);
  return {
    error: `must be ${MODEL_STRING_FORMS}, got ${JSON.stringify(value)}${
      hint ? `; did you mean "${hint}"?` : ""
    }`,
  };
}

/**
 * `emulate:SPEC`: inline forms are checked here; a file is only resolved against `baseDir` (it is
 * read when the service starts, which reports a missing or unusable file).
 */
function interpretEmulateString(
  specText: string,
  options: { baseDir?: string },
): ModelStringResult {
  const spec = specText.trim();
  const usage =
    "emulate:SPEC with SPEC a service time: 45, fixed:45, exp:45, lognormal:MEAN,P99, a benchmark JSON or a Locust _stats.csv";
  if (spec === "") return { error: `must be ${usage}; got "emulate:" with no SPEC` };
  try {
    if (parseInlineDurationSpec(spec, { what: "emulate" })) {
      return { spec: { kind: "emulate", spec } };
    }
  } catch (error) {
    return { error: `must be ${usage}; ${(error as Error).message}` };
  }
  const { path, select } = durationSpecFile(spec);
  const absolute = isAbsolute(path) ? path : resolve(options.baseDir ?? Deno.cwd(), path);
  return {
    spec: { kind: "emulate", spec: select === undefined ? absolute : `${absolute}#${select}` },
  };
}

/**
 * Parses a `--model` flag value (the string forms only) into a ModelSpec. Relative `.onnx` paths
 * are resolved from `options.baseDir` (default: the current directory).
 *
 * @throws {ConfigError} naming the flag (`options.label`, default `--model`), what was expected and what was found.
 */
export function parseModelSpec(
  value: string,
  options: { baseDir?: string; label?: string } = {},
): ModelSpec {
  const result = interpretModelString(value, options);
  if ("spec" in result) return result.spec;
  throw new ConfigError([{
    severity: "error",
    code: "invalid",
    file: null,
    line: null,
    column: null,
    path: options.label ?? "--model",
    message: result.error,
  }]);
}

/** True when a 64-hex-digit sha256 string. */
export function isSha256(value: string): boolean {
  return /^[0-9a-f]{64}$/i.test(value);
}
