/**
 * Reading a parsed YAML document field by field, recording every problem with its line, column
 * and field path instead of stopping at the first.
 *
 * @module
 */
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node as YamlNode,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { closestMatch } from "./_suggest.ts";
import type { ConfigIssue, ConfigIssueCode } from "./issues.ts";

/** A YAML value node, or nothing when the key was absent. */
export type Node = YamlNode | null | undefined;

/** One key of a mapping, with its nodes for positions. */
export interface Entry {
  /** The key as written. */
  key: string;
  /** The key's node (position of the key). */
  keyNode: Scalar;
  /** The value's node (aliases resolved); an empty value is a null scalar. */
  value: Node;
}

/** Fields of one mapping: which keys are known, deprecated, or Ray's but not modelled here. */
export interface LevelSpec {
  /** Name used in messages, e.g. `autoscaling_config`. */
  name: string;
  /** Keys read at this level. */
  known: readonly string[];
  /** Deprecated alias -> the field to use instead (still accepted, with a warning). */
  deprecated?: Readonly<Record<string, string>>;
  /** Ray Serve fields that autoscale-lab does not model: accepted, ignored, with a warning. */
  ignored?: readonly string[];
}

/** Options for {@link Reader.num}. */
export interface NumOptions {
  /** Value when the key is absent. */
  default: number | null;
  /** Must be an integer. */
  int?: boolean;
  /** Lower bound (inclusive unless `gt`). */
  min?: number;
  /** Makes `min` exclusive (`> min`). */
  gt?: boolean;
  /** Upper bound (inclusive). */
  max?: number;
  /** `null` is allowed (and kept). */
  nullable?: boolean;
  /** The key must be present. */
  required?: boolean;
}

/** Invalid value marker: an error was recorded; callers fall back to the default. */
export const INVALID: unique symbol = Symbol("invalid");
/** A value or the invalid marker. */
export type Checked<T> = T | typeof INVALID;

/** Collects issues while reading one document. */
export class Reader {
  /** Errors found so far. */
  readonly errors: ConfigIssue[] = [];
  /** Warnings found so far. */
  readonly warnings: ConfigIssue[] = [];
  /** Every level spec, to say where a key from another level belongs. */
  readonly allLevels: LevelSpec[] = [];

  /** A reader for `doc`, whose offsets `lineCounter` maps to lines. */
  constructor(
    readonly file: string | null,
    readonly lineCounter: LineCounter,
    readonly doc: Document.Parsed | Document,
  ) {}

  /** Line and column (1-based) of an offset. */
  position(offset: number): { line: number; column: number } {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  /** Records an issue placed at `node` (or at `fallback` when `node` has no position). */
  report(
    severity: "error" | "warning",
    code: ConfigIssueCode,
    at: Node | Entry["keyNode"],
    path: string,
    message: string,
  ): void {
    const offset = at?.range?.[0];
    const place = offset === undefined ? { line: null, column: null } : this.position(offset);
    const issue: ConfigIssue = { severity, code, file: this.file, ...place, path, message };
    (severity === "error" ? this.errors : this.warnings).push(issue);
  }

  /** Records an error. */
  error(code: ConfigIssueCode, at: Node, path: string, message: string): void {
    this.report("error", code, at, path, message);
  }

  /** Records a warning. */
  warn(code: ConfigIssueCode, at: Node, path: string, message: string): void {
    this.report("warning", code, at, path, message);
  }

  /** Resolves aliases (`*name`) to the anchored node. */
  deref(node: unknown, path: string): Node {
    if (isAlias(node)) {
      const target = node.resolve(this.doc as Document);
      if (target === undefined) {
        this.error("yaml_syntax", node, path, `refers to an unknown anchor *${node.source}`);
        return undefined;
      }
      return target as YamlNode;
    }
    return (node ?? null) as Node;
  }

  /**
   * Reads a mapping's keys. Unknown keys are rejected with a "did you mean" hint (unlike Ray Serve,
   * which tolerates them for forward compatibility: here a typo must not silently fall back to a
   * default), duplicates are rejected, deprecated aliases and ignored Ray fields are warned about.
   * Returns `INVALID` when the node is not a mapping; an absent or null node reads as empty.
   */
  fields(node: Node, path: string, spec: LevelSpec): Checked<Map<string, Entry>> {
    const entries = new Map<string, Entry>();
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
      return entries;
    }
    if (!isMap(node)) {
      this.error(
        "type",
        node,
        path || spec.name,
        `must be a mapping of ${spec.name} fields, got ${describe(node)}`,
      );
      return INVALID;
    }
    for (const pair of (node as YAMLMap).items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node;
      if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
        this.error(
          "type",
          (keyNode ?? node) as YamlNode,
          path,
          `keys must be field names, got ${describe(keyNode)}`,
        );
        continue;
      }
      const key = keyNode.value;
      const keyPath = join(path, key);
      const previous = entries.get(key);
      if (previous) {
        const first = this.position(previous.keyNode.range?.[0] ?? 0);
        this.error(
          "duplicate_key",
          keyNode,
          keyPath,
          `is set twice (first at line ${first.line}); keep one`,
        );
        continue;
      }
      if (key === "<<") {
        this.error(
          "unknown_key",
          keyNode,
          keyPath,
          "YAML merge keys are not supported here; write the fields out",
        );
        continue;
      }
      const deprecatedFor = spec.deprecated?.[key];
      if (deprecatedFor !== undefined) {
        this.warn(
          "deprecated",
          keyNode,
          keyPath,
          `is deprecated; use ${deprecatedFor} instead`,
        );
      } else if (spec.ignored?.includes(key)) {
        this.warn(
          "ignored",
          keyNode,
          keyPath,
          "is a Ray Serve field that autoscale-lab does not model; ignored",
        );
        continue;
      } else if (!spec.known.includes(key)) {
        this.error("unknown_key", keyNode, keyPath, this.unknownKeyMessage(key, spec));
        continue;
      }
      const value = this.deref(pair.value, keyPath);
      if (value === undefined) continue; // an unknown anchor, already reported
      entries.set(key, { key, keyNode, value });
    }
    return entries;
  }

  private unknownKeyMessage(key: string, spec: LevelSpec): string {
    const elsewhere = this.allLevels.find((level) => level !== spec && level.known.includes(key));
    if (elsewhere) return `is not a field of ${spec.name}; it belongs in ${elsewhere.name}`;
    const here = [...spec.known, ...Object.keys(spec.deprecated ?? {}), ...(spec.ignored ?? [])];
    const hint = closestMatch(key, here);
    if (hint) return `is not a field of ${spec.name}; did you mean "${hint}"?`;
    return `is not a field of ${spec.name}; expected one of: ${spec.known.join(", ")}`;
  }

  /** Reports a value of the wrong type (at the value, or the key when it has none). */
  private wrongType(entry: Entry, fieldPath: string, expected: string): typeof INVALID {
    const node = entry.value;
    this.error(
      "type",
      node ?? entry.keyNode,
      fieldPath,
      `must be ${expected}, got ${describe(node)}`,
    );
    return INVALID;
  }

  /** Reads a number field with its type and range rules; see {@link NumOptions}. */
  num(
    entries: Map<string, Entry>,
    parent: Node,
    path: string,
    key: string,
    options: NumOptions,
  ): Checked<number | null> {
    const entry = entries.get(key);
    const fieldPath = join(path, key);
    const expected = expectedNumber(options);
    if (!entry) {
      if (options.required) {
        this.error("required", parent, fieldPath, `is required: expected ${expected}`);
        return INVALID;
      }
      return options.default;
    }
    const node = entry.value;
    const value = isScalar(node) ? node.value : undefined;
    if (value === null && options.nullable) return null;
    if (typeof value !== "number" || Number.isNaN(value)) {
      return this.wrongType(entry, fieldPath, expected);
    }
    if (!Number.isFinite(value)) {
      this.error("range", node, fieldPath, `must be ${expected}, got ${describe(node)}`);
      return INVALID;
    }
    if (options.int && !Number.isInteger(value)) {
      this.error("type", node, fieldPath, `must be ${expected}, got ${value}`);
      return INVALID;
    }
    const min = options.min;
    if (min !== undefined && (options.gt ? value <= min : value < min)) {
      this.error(
        "range",
        node,
        fieldPath,
        `must be ${options.gt ? ">" : ">="} ${min}, got ${value}`,
      );
      return INVALID;
    }
    if (options.max !== undefined && value > options.max) {
      this.error("range", node, fieldPath, `must be <= ${options.max}, got ${value}`);
      return INVALID;
    }
    return value;
  }

  /** Reads a string field; `choices` makes it an enum (with a "did you mean" hint). */
  str(
    entries: Map<string, Entry>,
    parent: Node,
    path: string,
    key: string,
    options: {
      default?: string;
      required?: boolean;
      nonEmpty?: boolean;
      choices?: readonly string[];
      caseInsensitive?: boolean;
      nullable?: boolean;
    },
  ): Checked<string | null> {
    const entry = entries.get(key);
    const fieldPath = join(path, key);
    const expected = options.choices
      ? `one of ${options.choices.map((c) => JSON.stringify(c)).join(", ")}`
      : options.nonEmpty
      ? "a non-empty string"
      : "a string";
    if (!entry) {
      if (options.required || options.default === undefined) {
        this.error("required", parent, fieldPath, `is required: expected ${expected}`);
        return INVALID;
      }
      return options.default;
    }
    const node = entry.value;
    const value = isScalar(node) ? node.value : undefined;
    if (value === null && options.nullable) return null;
    if (typeof value !== "string") return this.wrongType(entry, fieldPath, expected);
    if (options.nonEmpty && value.trim() === "") {
      this.error("range", node, fieldPath, `must be ${expected}, got an empty string`);
      return INVALID;
    }
    if (options.choices) {
      const match = options.choices.find((choice) =>
        options.caseInsensitive ? choice.toLowerCase() === value.toLowerCase() : choice === value
      );
      if (match === undefined) {
        const hint = closestMatch(value, options.choices);
        this.error(
          "range",
          node,
          fieldPath,
          `must be ${expected}, got ${JSON.stringify(value)}${
            hint ? `; did you mean "${hint}"?` : ""
          }`,
        );
        return INVALID;
      }
      return match;
    }
    return value;
  }

  /** The sequence at `node`, or `INVALID` (reported) when it is something else. */
  seq(node: Node, path: string, what: string): Checked<Node[]> {
    if (!isSeq(node)) {
      this.error("type", node, path, `must be a list of ${what}, got ${describe(node)}`);
      return INVALID;
    }
    return (node as YAMLSeq).items.map((item, i) => this.deref(item, `${path}[${i}]`));
  }
}

/** `a.b` path join; `""` parent gives the bare key. */
export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** What a node holds, for "got ..." in messages. */
export function describe(node: unknown): string {
  if (node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "null (an empty value)";
    if (typeof value === "string") {
      const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
      return `${JSON.stringify(shown)} (a string)`;
    }
    if (typeof value === "boolean") return `${value} (a boolean)`;
    if (typeof value === "number") {
      return Number.isNaN(value)
        ? ".nan"
        : Number.isFinite(value)
        ? String(value)
        : String(node.source ?? value);
    }
    return String(value);
  }
  return "an unsupported YAML value";
}

function expectedNumber(options: NumOptions): string {
  let text = options.int ? "an integer" : "a number";
  if (options.min !== undefined) text += ` ${options.gt ? ">" : ">="} ${options.min}`;
  if (options.max !== undefined) {
    text += `${options.min !== undefined ? " and" : ""} <= ${options.max}`;
  }
  if (options.nullable) text += " or null";
  return text;
}

/** The checked value, or `fallback` when it was invalid (the error is already recorded). */
export function or<T, F>(value: Checked<T>, fallback: F): T | F {
  return value === INVALID ? fallback : value;
}
