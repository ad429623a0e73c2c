/**
 * `deno task config <file>...`: validates serve config files and prints each effective config
 * (every default filled in) as YAML on stdout, documents separated by `---`. Warnings and errors go
 * to stderr as `file:line:col: path message` (warnings prefixed `warning: `). Exit codes as every
 * command's (`EXIT_CODES`): 2 when any file is missing or invalid, or for a bad flag.
 *
 * Flags: `--quiet` / `-q` validates only (no YAML printed); `--json` prints the typed config as
 * JSON instead of YAML; `--no-comments` leaves explanatory comments out of the YAML.
 *
 * @module
 */
import { EXIT_CODES, parseCommandLine, UsageError } from "../lib/cli/mod.ts";
import {
  ConfigError,
  estimatePeakMemory,
  formatEffectiveConfig,
  formatIssue,
  formatMemoryEstimate,
  loadConfig,
  memoryWarning,
} from "../lib/config/mod.ts";

const USAGE = `usage: deno task config [--quiet] [--json] [--no-comments] <config.yaml>...
Validates each file and prints its effective config (every default filled in). Warns when
max_replicas x the model's per-replica memory exceeds this machine's (with --quiet or several
files, the estimate is always printed).
Example: deno task config configs/basic.yaml configs/production.yaml`;

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(args, {
      quiet: { type: "boolean", short: "q" },
      json: { type: "boolean" },
      "no-comments": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    }, { positionals: true });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`config: ${error.message}\n\n${USAGE}`);
    return EXIT_CODES.badInput;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return EXIT_CODES.ok;
  }
  if (positionals.length === 0) {
    console.error(`config: no config file given\n\n${USAGE}`);
    return EXIT_CODES.badInput;
  }
  let failed = 0;
  const documents: string[] = [];
  for (const file of positionals) {
    try {
      const { config, warnings } = await loadConfig(file);
      for (const warning of warnings) console.error(`warning: ${formatIssue(warning)}`);
      // Out of memory is a tutorial troubleshooting item: estimate it before anything starts.
      for (const app of config.applications) {
        for (const dep of app.deployments) {
          const estimate = estimatePeakMemory(dep);
          const warning = memoryWarning(estimate);
          // stdout is the YAML; the estimate goes to stderr with the per-file OK lines, or warns.
          if (warning || positionals.length > 1 || values.quiet) {
            console.error(`${file}: ${app.name}/${dep.name}: ${formatMemoryEstimate(estimate)}`);
          }
          if (warning) console.error(`warning: ${file}: ${app.name}/${dep.name}: ${warning}`);
        }
      }
      if (values.json) documents.push(JSON.stringify(config, null, 2));
      else {
        documents.push(formatEffectiveConfig(config, {
          sourceLabel: file,
          comments: !values["no-comments"],
        }));
      }
      if (positionals.length > 1 || values.quiet) {
        const w = warnings.length;
        console.error(`${file}: OK${w ? ` (${w} warning${w > 1 ? "s" : ""})` : ""}`);
      }
    } catch (error) {
      failed++;
      if (error instanceof ConfigError) {
        for (const warning of error.warnings) console.error(`warning: ${formatIssue(warning)}`);
        console.error(error.message);
        const n = error.issues.length;
        console.error(`${file}: ${n} error${n > 1 ? "s" : ""}`);
      } else {
        console.error(`${file}: unexpected failure: ${(error as Error)?.message ?? error}`);
      }
    }
  }
  if (!values.quiet && documents.length > 0) {
    console.log(
      values.json && documents.length > 1 ? `[${documents.join(",\n")}]` : documents.join("---\n"),
    );
  }
  return failed > 0 ? EXIT_CODES.badInput : EXIT_CODES.ok;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
