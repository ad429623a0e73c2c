/**
 * The command-line layer shared by every `scripts/*.ts` entry point: strict flag parsing with
 * did-you-mean, number and duration flags, usage and help, and one exit code per meaning; and
 * `startDeployChild`, the one way a script runs `scripts/deploy.ts` in a child process.
 *
 * ```ts
 * import { cli, EXIT_CODES } from "../lib/cli/mod.ts";
 * const c = cli("status", "usage: deno task status [--address URL]");
 * const { values } = c.parse({ address: { type: "string" } });
 * ```
 *
 * ```ts ignore
 * import { startDeployChild } from "../lib/cli/mod.ts";
 * const child = await startDeployChild("configs/dev_fast.yaml", {
 *   args: ["--port", "0", "--no-dashboard"],
 *   output: { logFile: "/tmp/deploy.log" },
 * });
 * await child.waitRunning(60_000); // every application RUNNING per /api/status
 * const { code } = await child.stop({ signal: "SIGTERM", killAfterMs: 30_000 });
 * ```
 *
 * @module
 */
export { type Cli, cli, type CliIo, EXIT_CODES } from "./command.ts";
export {
  type DeployChild,
  type DeployChildOptions,
  type DeployChildOutput,
  type DeployChildStopOptions,
  startDeployChild,
} from "./deploy_child.ts";
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
