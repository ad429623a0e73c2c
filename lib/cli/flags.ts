/**
 * Flag parsing for the command-line entry points: one path for every command's flag errors (the
 * bad flag, a did-you-mean, exit code 2) and strict number and duration values.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { closestMatch } from "../config/mod.ts";
// The shape reader owns the duration syntax (`90s`, `1m30s`, `250ms`); flags use the same one.
import { parseDurationS } from "../loadgen/shape.ts";

/** A command line that cannot be run as given: the message names the flag or argument. */
export class UsageError extends Error {
  /** Creates the error; `message` says what was wrong, without the usage text. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Positional arguments a command takes. */
export interface PositionalRule {
  /** Fewest positionals (default 0). */
  min?: number;
  /** Most positionals (default: no limit). */
  max?: number;
  /** What they are, for messages (default "argument"), e.g. "config file". */
  name?: string;
}

/** Options for {@link parseCommandLine}. */
export interface ParseCommandLineOptions {
  /** Positionals taken; omitted or false: none. */
  positionals?: PositionalRule | boolean;
}

/** The values of parseArgs options `O` plus the positionals. */
export interface ParsedCommandLine<O extends ParseArgsOptionsConfig> {
  /** Flag values by long name (strings, booleans, or arrays for `multiple`). */
  values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>[
    "values"
  ];
  /** Arguments that are not flags, in order. */
  positionals: string[];
}

/**
 * Parses `args` against `options` (node:util parseArgs options) strictly. A lone `--` as
 * `deno task` may pass it is dropped. Throws {@link UsageError} for an unknown flag (with the
 * closest known flag as a did-you-mean), a flag missing its value, a value given to a switch,
 * and too few or too many positionals.
 *
 * ```ts
 * parseCommandLine(["--prot", "8000"], { port: { type: "string" } });
 * // throws UsageError: unknown flag --prot (did you mean --port?)
 * ```
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  settings: ParseCommandLineOptions = {},
): ParsedCommandLine<O> {
  const rule: PositionalRule = settings.positionals === true
    ? {}
    : settings.positionals
    ? settings.positionals
    : { max: 0 };
  const given = args.length > 0 && args[0] === "--" ? args.slice(1) : args;
  const { tokens } = parseArgs({
    args: given,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const spellings = flagSpellings(options);
  // `--seed -1`: node:util calls a value starting with a dash ambiguous; a negative number is
  // meant as the value, so it is passed on as `--seed=-1`.
  const joined = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = options[token.name];
    if (spec === undefined) {
      // `-port` is read as the short flags -p -o -r -t: name the whole word the user typed.
      const typed = token.rawName.startsWith("--")
        ? token.rawName
        : given[token.index].split("=")[0];
      throw new UsageError(unknownFlagMessage(typed, options));
    }
    if (spec.type === "string") {
      const missing = token.value === undefined ||
        (!token.inlineValue && spellings.has(token.value.split("=")[0]));
      if (missing) throw new UsageError(`${token.rawName} needs a value`);
      if (!token.inlineValue && /^-\d|^-\.\d/.test(token.value!)) joined.add(token.index);
    } else if (token.value !== undefined) {
      throw new UsageError(`${token.rawName} takes no value, got "${token.value}"`);
    }
  }
  const strictArgs = joined.size === 0
    ? given
    : given.flatMap((arg, i) =>
      joined.has(i) ? [`${arg}=${given[i + 1]}`] : joined.has(i - 1) ? [] : [arg]
    );
  let parsed;
  try {
    parsed = parseArgs({ args: strictArgs, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const n = parsed.positionals.length;
  const what = rule.name ?? "argument";
  if (n < (rule.min ?? 0)) {
    throw new UsageError(
      rule.min === 1 && (rule.max ?? 1) === 1
        ? `expected a ${what}`
        : `expected at least ${rule.min} ${what}s, got ${n}`,
    );
  }
  if (rule.max !== undefined && n > rule.max) {
    const extra = parsed.positionals[rule.max];
    throw new UsageError(
      rule.max === 0
        ? `unexpected argument "${extra}" (this command takes only flags)`
        : `unexpected argument "${extra}" (expected at most ${rule.max} ${what}${
          rule.max > 1 ? "s" : ""
        })`,
    );
  }
  return parsed as ParsedCommandLine<O>;
}

function flagSpellings(options: ParseArgsOptionsConfig): Set<string> {
  const out = new Set<string>();
  for (const [name, spec] of Object.entries(options)) {
    out.add(`--${name}`);
    if (spec.short) out.add(`-${spec.short}`);
  }
  return out;
}

function unknownFlagMessage(rawName: string, options: ParseArgsOptionsConfig): string {
  const word = rawName.replace(/^-+/, "");
  const longNames = Object.keys(options);
  let suggestion: string | null = null;
  if (rawName.startsWith("--")) {
    const match = closestMatch(word, longNames);
    if (match !== null) suggestion = `--${match}`;
  } else {
    // `-port` for `--port`: one dash too few.
    const match = word.length > 1 ? closestMatch(word, longNames) : null;
    if (match !== null) suggestion = `--${match}`;
  }
  return `unknown flag ${rawName}${suggestion ? ` (did you mean ${suggestion}?)` : ""}`;
}

/** Bounds for {@link parseNumberFlag}. */
export interface NumberFlagOptions {
  /** Smallest value allowed (inclusive). */
  min?: number;
  /** Values must be above this (exclusive), e.g. 0 for "a number > 0". */
  above?: number;
  /** Largest value allowed (inclusive). */
  max?: number;
  /** Whole numbers only. */
  integer?: boolean;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Describes the allowed values, e.g. "an integer from 0 to 65535", "a number > 0". */
export function describeNumberRange(options: NumberFlagOptions): string {
  const kind = options.integer ? "an integer" : "a number";
  const { min, max, above } = options;
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  const parts: string[] = [];
  if (above !== undefined) parts.push(`> ${above}`);
  else if (min !== undefined) parts.push(`>= ${min}`);
  if (max !== undefined) parts.push(`<= ${max}`);
  return parts.length ? `${kind} ${parts.join(" and ")}` : kind;
}

/**
 * Parses a number flag's text strictly (plain decimal: `2`, `0.5`, `1e3`; not `""`, `0x10`,
 * `1abc`, `Infinity`). `undefined` stays `undefined`. Throws {@link UsageError} naming the flag,
 * the allowed range and the text given.
 *
 * ```ts
 * parseNumberFlag("time-scale", "0", { above: 0 }); // throws: --time-scale must be a number > 0, got "0"
 * ```
 */
export function parseNumberFlag(
  flag: string,
  text: string | undefined,
  options: NumberFlagOptions = {},
): number | undefined {
  if (text === undefined) return undefined;
  const n = DECIMAL.test(text.trim()) ? Number(text.trim()) : NaN;
  const ok = Number.isFinite(n) &&
    (!options.integer || Number.isInteger(n)) &&
    (options.min === undefined || n >= options.min) &&
    (options.above === undefined || n > options.above) &&
    (options.max === undefined || n <= options.max);
  if (!ok) {
    throw new UsageError(`--${flag} must be ${describeNumberRange(options)}, got "${text}"`);
  }
  return n;
}

/**
 * Parses a duration flag into seconds: `90` (seconds), `90s`, `1m30s`, `1h`, `250ms`, as in
 * load shapes. `undefined` stays `undefined`. With `above: 0`, zero is refused.
 * Throws {@link UsageError} naming the flag and the text given.
 */
export function parseDurationFlagS(
  flag: string,
  text: string | undefined,
  options: { above?: number; min?: number } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const seconds = parseDurationS(text);
  const bound = options.above !== undefined
    ? { ok: (s: number) => s > options.above!, says: ` > ${options.above} s` }
    : options.min !== undefined
    ? { ok: (s: number) => s >= options.min!, says: ` >= ${options.min} s` }
    : { ok: () => true, says: "" };
  if (seconds === null || !bound.ok(seconds)) {
    throw new UsageError(
      `--${flag} must be a duration${bound.says} like 30s, 5m, 1h30m or 250ms, got "${text}"`,
    );
  }
  return seconds;
}
