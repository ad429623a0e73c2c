/**
 * The command-line layer shared by every `scripts/*.ts` entry point: strict flag parsing with
 * did-you-mean, number and duration flags, usage and help, and one exit code per meaning.
 *
 * ```ts
 * import { cli, EXIT_CODES } from "../lib/cli/mod.ts";
 * const c = cli("status", "usage: deno task status [--address URL]");
 * const { values } = c.parse({ address: { type: "string" } });
 * ```
 *
 * @module
 */
export { type Cli, cli, type CliIo, EXIT_CODES } from "./command.ts";
export {
  describeNumberRange,
  type NumberFlagOptions,
  parseCommandLine,
  type ParseCommandLineOptions,
  type ParsedCommandLine,
  parseDurationFlagS,
  parseNumberFlag,
  type PositionalRule,
  UsageError,
} from "./flags.ts";
