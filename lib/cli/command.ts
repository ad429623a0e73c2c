/**
 * A command's exits: usage and help, flag errors (exit 2 with the usage), failures, and the exit
 * codes every command shares.
 *
 * @module
 */
import type { ParseArgsOptionsConfig } from "node:util";
import {
  type NumberFlagOptions,
  parseCommandLine,
  type ParseCommandLineOptions,
  type ParsedCommandLine,
  parseDurationFlagS,
  parseNumberFlag,
  UsageError,
} from "./flags.ts";

/**
 * One meaning per exit code, across every command (the README's table):
 * - `ok` 0: done.
 * - `failed` 1: the command ran and what it did failed (requests failed, a test failed, the
 *   service did not answer, the model could not load, an unexpected error).
 * - `badInput` 2: nothing ran: a bad flag or flag value, or a file it names is missing or
 *   invalid (config, shape, trace, image).
 * - `threshold` 99: `loadtest --threshold` was not met (the run itself succeeded).
 */
export const EXIT_CODES = { ok: 0, failed: 1, badInput: 2, threshold: 99 } as const;

/** Where a {@link Cli} writes and how it exits (tests replace them). */
export interface CliIo {
  /** Writes a line to stderr. */
  error(line: string): void;
  /** Writes a line to stdout. */
  print(line: string): void;
  /** Ends the process with `code`. */
  exit(code: number): never;
}

const DENO_IO: CliIo = {
  error: (line) => console.error(line),
  print: (line) => console.log(line),
  exit: (code) => Deno.exit(code),
};

/** A command's flag parsing and exits; every message starts with `PROG: `. */
export interface Cli {
  /** The command's name, the prefix of every message (e.g. `deploy`). */
  readonly prog: string;
  /** The `--help` text. */
  readonly usage: string;
  /**
   * Parses `args` (default `Deno.args`); `-h`/`--help` prints the usage and exits 0; any flag
   * error prints it with the usage and exits 2.
   */
  parse<O extends ParseArgsOptionsConfig>(
    options: O,
    settings?: ParseCommandLineOptions & { args?: string[] },
  ): ParsedCommandLine<O>;
  /** Prints `PROG: message` and exits with `code` (default 2, bad input). */
  fail(message: string, code?: number): never;
  /** Prints `PROG: message`, then the usage, and exits 2. */
  usageError(message: string): never;
  /** A strict number flag (see `parseNumberFlag`); a bad value is a usage error. */
  number(flag: string, text: string | undefined, options?: NumberFlagOptions): number | undefined;
  /** A duration flag in seconds (see `parseDurationFlagS`); a bad value is a usage error. */
  durationS(
    flag: string,
    text: string | undefined,
    options?: { above?: number; min?: number },
  ): number | undefined;
  /**
   * Runs `main` and exits with the code it returns; a {@link UsageError} it throws exits 2 with
   * the usage, any other error prints `PROG: unexpected error: <stack>` and exits 1.
   */
  run(main: () => Promise<number>): Promise<never>;
}

/**
 * Returns the {@link Cli} of the command `prog` with help text `usage`.
 *
 * ```ts
 * const c = cli("deploy", USAGE);
 * const { values, positionals } = c.parse({ port: { type: "string" } }, { positionals: { min: 1, max: 1 } });
 * const port = c.number("port", values.port, { integer: true, min: 0, max: 65535 });
 * ```
 */
export function cli(prog: string, usage: string, io: CliIo = DENO_IO): Cli {
  const fail = (message: string, code: number = EXIT_CODES.badInput): never => {
    io.error(`${prog}: ${message}`);
    return io.exit(code);
  };
  const usageError = (message: string): never => {
    io.error(`${prog}: ${message}\n\n${usage}`);
    return io.exit(EXIT_CODES.badInput);
  };
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (error) {
      if (error instanceof UsageError) return usageError(error.message);
      throw error;
    }
  };
  return {
    prog,
    usage,
    parse(options, settings = {}) {
      const args = settings.args ?? Deno.args;
      const withHelp = { ...options, help: { type: "boolean", short: "h" } } as typeof options;
      // --help wins over a missing argument (`deploy --help` has no config file to name).
      const loose = guard(() => parseCommandLine(args, withHelp, { positionals: true }));
      if ((loose.values as Record<string, unknown>).help) {
        io.print(usage);
        return io.exit(EXIT_CODES.ok);
      }
      return guard(() => parseCommandLine(args, withHelp, settings));
    },
    fail,
    usageError,
    number: (flag, text, options) => guard(() => parseNumberFlag(flag, text, options)),
    durationS: (flag, text, options) => guard(() => parseDurationFlagS(flag, text, options)),
    async run(main) {
      let code: number;
      try {
        code = await main();
      } catch (error) {
        if (error instanceof UsageError) return usageError(error.message);
        io.error(`${prog}: unexpected error: ${(error as Error)?.stack ?? error}`);
        code = EXIT_CODES.failed;
      }
      return io.exit(code);
    },
  };
}
