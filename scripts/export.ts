/**
 * `deno task export CONFIG --to TARGET [options]`: writes what a distributed engine deploys
 * (Ray Serve config, KubeRay RayService, Knative Service, KEDA ScaledObject or HTTPScaledObject
 * with their Deployment and Service), prints per knob how it was carried over, validates the
 * manifests offline against the engines' CRDs, and refuses an unfaithful export unless --lossy.
 *
 * `deno task export --check FILE`: validates a manifest written by hand the same way.
 * `deno task export CONFIG --compare [--shape FILE]`: simulates the shape under Ray's policy and
 * each engine's, prints one table and writes an overlaid replicas chart.
 *
 * @module
 */
import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import { ConfigError, loadConfig } from "../lib/config/mod.ts";
import {
  checkManifestText,
  compareChartSvg,
  compareClaims,
  compareEngines,
  EXPORT_TARGETS,
  exportConfig,
  ExportError,
  exportFileText,
  type ExportOptions,
  type ExportTarget,
  formatCarryTable,
  formatCompareTable,
  formatManifestIssue,
  isUnfaithful,
  SchemaMissingError,
} from "../lib/export/mod.ts";

const USAGE = `usage:
  deno task export CONFIG --to TARGET [options]     export a tuned config to an engine
  deno task export --check FILE [--schemas DIR]     validate a manifest written by hand
  deno task export CONFIG --compare [--shape FILE]  predict each engine's scaling

targets: ${EXPORT_TARGETS.join(", ")}, or all

options:
  --out DIR             where files go (default results/export/<config>)
  --image REF           container image (RayService: Ray's image with export/ray/; others:
                        the single-replica server built by the Containerfile)
  --model-uri URI       the model's URL in the cluster (default: pretrained ResNet-50 for
                        model: resnet50); --model-sha256 HEX (computed for a local file)
  --worker-cpus N       CPUs of a RayService worker pod (default 4); --worker-memory Q
  --app-uri URI         remote zip of export/ray/ for runtime_env.working_dir
  --prometheus-url URL  the KEDA trigger's server (default kube-prometheus-stack's)
  --namespace NS        namespace of the manifests and the KEDA query
  --lossy               write even when a non-default knob cannot be carried over
  --schemas DIR         the engines' CRDs (default ../shared/schemas; skipped if absent)
  --shape FILE          --compare: load shape (default configs/loadtest/tutorial.yaml)
  --slo-ms N            --compare: p99 objective of the SLA column (default 500)
  --seed N              --compare: random seed (default 1)
  -h, --help            this text

exit codes:
  0  done: every manifest written, and valid where the schemas are present (--check: valid)
  1  it ran and failed: --check found issues in the manifest, a written manifest did not
     validate, or a target was refused as lossy (not written; with --to all the others are)
  2  nothing ran: a bad flag or value, a missing or invalid config or shape, a model a cluster
     cannot fetch (a local file without --model-uri), a --check file that cannot be read, CRD
     schemas absent for --check or incomplete in --schemas DIR`;

const c: Cli = cli("export", USAGE);
const fail: Cli["fail"] = c.fail;

function defaultSchemasDir(): string {
  const env = Deno.env.get("AUTOSCALE_LAB_SCHEMAS");
  if (env) return env;
  return decodeURIComponent(new URL("../../shared/schemas", import.meta.url).pathname);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function configName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).replace(/\.ya?ml$/i, "");
}

/** Validates `text`; prints every issue; returns whether it passed. */
function check(label: string, text: string, schemasDir: string): boolean {
  const t0 = performance.now();
  let result;
  try {
    result = checkManifestText(text, { schemasDir });
  } catch (error) {
    if (error instanceof SchemaMissingError) fail(error.message);
    throw error;
  }
  const ms = performance.now() - t0;
  for (const i of result.unchecked) {
    console.log(`  ${label}: doc ${i} (${result.kinds[i]}): not checked (no schema for this kind)`);
  }
  if (result.issues.length === 0) {
    console.log(
      `  ${label}: valid (${result.kinds.join(", ")}; CRD schemas + engine rules, ${
        ms.toFixed(0)
      } ms)`,
    );
    return true;
  }
  for (const i of result.issues) {
    console.log(`  ${label}: ${formatManifestIssue(i, result.kinds[i.doc])}`);
  }
  return false;
}

async function main(): Promise<number> {
  const parsed = c.parse({
    to: { type: "string" },
    out: { type: "string" },
    image: { type: "string" },
    "model-uri": { type: "string" },
    "model-sha256": { type: "string" },
    "worker-cpus": { type: "string" },
    "worker-memory": { type: "string" },
    "app-uri": { type: "string" },
    "prometheus-url": { type: "string" },
    namespace: { type: "string" },
    "ray-version": { type: "string" },
    lossy: { type: "boolean", default: false },
    check: { type: "string" },
    schemas: { type: "string" },
    compare: { type: "boolean", default: false },
    shape: { type: "string", default: "configs/loadtest/tutorial.yaml" },
    "slo-ms": { type: "string" },
    seed: { type: "string", default: "1" },
  }, { positionals: { max: 1, name: "config file" } });
  const v = parsed.values;
  const schemasDir = v.schemas ?? defaultSchemasDir();

  if (v.check !== undefined) {
    if (parsed.positionals.length > 0) c.usageError("--check takes no config file");
    if (!exists(schemasDir)) fail(`the CRD schemas are not at ${schemasDir}; pass --schemas DIR`);
    let text: string;
    try {
      text = await Deno.readTextFile(v.check);
    } catch (error) {
      fail(`cannot read ${v.check}: ${(error as Error).message}`);
    }
    return check(v.check, text, schemasDir) ? EXIT_CODES.ok : EXIT_CODES.failed;
  }

  if (parsed.positionals.length !== 1) c.usageError("expected exactly one config file");
  const configPath = parsed.positionals[0];
  let config;
  try {
    const loaded = await loadConfig(configPath);
    for (const w of loaded.warnings) console.error(`export: warning: ${w.message}`);
    config = loaded.config;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const name = configName(configPath);
  const outDir = (v.out ?? `results/export/${name}`).replace(/\/+$/, "");

  if (v.compare) {
    let shape;
    try {
      const { loadShape } = await import("../lib/loadgen/mod.ts");
      shape = await loadShape(v.shape);
    } catch (error) {
      fail((error as Error).message);
    }
    const seed = c.number("seed", v.seed, { integer: true })!;
    const sloMs = c.number("slo-ms", v["slo-ms"], { above: 0 }) ?? 500;
    const t0 = performance.now();
    const result = await compareEngines(config, shape, { outDir, name, seed, sloMs });
    console.log(
      `${name} on shape ${shape.name} (${shape.durationS} s; the load first rises at ${result.loadRiseS} s), seed ${seed}:\n`,
    );
    console.log(formatCompareTable(result));
    console.log("");
    for (const line of await compareClaims(result)) console.log(line);
    const chartPath = `${outDir}/${name}_compare_replicas.svg`;
    await Deno.writeTextFile(
      chartPath,
      await compareChartSvg(result, `${name}: replicas under each engine's policy (${shape.name})`),
    );
    await Deno.writeTextFile(
      `${outDir}/${name}_compare.json`,
      JSON.stringify(
        { config: configPath, shape: shape.name, seed, sloMs, rows: result.rows },
        null,
        2,
      ) + "\n",
    );
    console.log(
      `\nscale-up lag = first upscale - first rise of the load; SLA = share of seconds whose p99 <= ${sloMs} ms;` +
        ` replica-h = replicas holding CPUs over time.\nEngines as exported: Ray's delays and factors off for` +
        ` knative/keda, whose own rules (KPA windows, panic, rate caps, scale-down delay; HPA tolerance,` +
        ` stabilisation windows, Pods/Percent policies, 15 s sync) decide.\nChart: ${chartPath}` +
        ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return EXIT_CODES.ok;
  }

  if (v.to === undefined) c.usageError("--to TARGET, --check FILE or --compare is required");
  const targets = v.to === "all" ? [...EXPORT_TARGETS] : [v.to as ExportTarget];
  if (!EXPORT_TARGETS.includes(targets[0])) {
    fail(`--to must be one of ${EXPORT_TARGETS.join(", ")} or all, got "${v.to}"`);
  }
  const options: ExportOptions = {
    image: v.image,
    modelUri: v["model-uri"],
    modelSha256: v["model-sha256"],
    workerCpus: c.number("worker-cpus", v["worker-cpus"], { above: 0 }),
    workerMemory: v["worker-memory"],
    appUri: v["app-uri"],
    prometheusUrl: v["prometheus-url"],
    namespace: v.namespace,
    rayVersion: v["ray-version"],
  };
  const validate = exists(schemasDir);
  let failed = false;
  for (const target of targets) {
    let result;
    try {
      result = await exportConfig(config, target, options);
    } catch (error) {
      if (error instanceof ExportError) fail(error.message);
      fail(`${target}: ${(error as Error).message}`);
    }
    console.log(`\n== ${configPath} -> ${target}\n`);
    console.log(formatCarryTable(result.carry));
    for (const n of result.notes) console.log(`note: ${n}`);
    if (isUnfaithful(result) && !v.lossy) {
      const lost = result.carry.filter((r) => r.unfaithful).map((r) => r.knob);
      console.log(
        `\nnot written: ${target} cannot carry ${
          lost.join(", ")
        } (LOST above, set away from Ray's default); ` +
          `re-run with --lossy to write it anyway`,
      );
      failed = true;
      continue;
    }
    await Deno.mkdir(outDir, { recursive: true });
    for (const file of result.files) {
      const path = `${outDir}/${file.name}`;
      const text = exportFileText(file);
      await Deno.writeTextFile(path, text);
      console.log(`\nwrote ${path}`);
      if (target === "serve") continue; // a Serve config, not a Kubernetes manifest
      if (!validate) {
        console.log(
          `  not validated: the CRD schemas are not at ${schemasDir} (pass --schemas DIR)`,
        );
      } else if (!check(path, text, schemasDir)) failed = true;
    }
  }
  return failed ? EXIT_CODES.failed : EXIT_CODES.ok;
}

if (import.meta.main) await c.run(main);
