/**
 * `deno task bench-export`: how long exporting and validating take, against the targets
 * (export of any config to any target < 1 s; validating a manifest against the RayService CRD
 * < 2 s, compiled once and cached). Prints a table and writes results/bench_export.json, with
 * /proc/loadavg, and a baseline measured in the same run: a bare `deno eval` start, against which
 * the `--check` process is a ratio.
 *
 * Cold validation runs in fresh processes (`deno task export --check` as a user runs it): once
 * with an empty parsed-CRD cache, then with the cache `.cache/crd` that the first run filled.
 *
 * @module
 */
import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import {
  checkManifestText,
  EXPORT_TARGETS,
  exportConfig,
  exportFileText,
} from "../lib/export/mod.ts";

const c: Cli = cli(
  "bench-export",
  "usage: deno task bench-export\n" +
    "  times export of every configs/*.yaml to every target and `export --check` of a RayService\n" +
    "  (fresh processes, with and without the CRD cache); prints a table and writes\n" +
    "  results/bench_export.json. Takes no flags but -h, --help.\n" +
    "exit codes: 0 done; 1 a run failed (the error says which)",
);

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const SCHEMAS = Deno.env.get("AUTOSCALE_LAB_SCHEMAS") ??
  decodeURIComponent(new URL("../../shared/schemas", import.meta.url).pathname);

function loadavg(): string {
  try {
    return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  } catch {
    return "n/a";
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeProcess(args: string[], env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  const ms = performance.now() - t0;
  if (!out.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

async function main(): Promise<number> {
  const load0 = loadavg();
  const configs = [...Deno.readDirSync(`${ROOT}configs`)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml"))
    .map((e) => e.name)
    .sort();

  // 1. Export: every config to every target, in this process (first call and median of 20).
  const exportRows: { config: string; target: string; firstMs: number; medianMs: number }[] = [];
  for (const name of configs) {
    const { config } = await loadConfig(`${ROOT}configs/${name}`);
    for (const target of EXPORT_TARGETS) {
      const times: number[] = [];
      for (let i = 0; i < 21; i++) {
        const t0 = performance.now();
        const r = await exportConfig(config, target);
        for (const f of r.files) exportFileText(f);
        times.push(performance.now() - t0);
      }
      exportRows.push({
        config: name,
        target,
        firstMs: times[0],
        medianMs: median(times.slice(1)),
      });
    }
  }
  const worstExport = exportRows.reduce((a, b) => (b.firstMs > a.firstMs ? b : a));

  // 2. Validation against the RayService CRD.
  const { config: production } = await loadConfig(`${ROOT}configs/production.yaml`);
  const rayservice = exportFileText((await exportConfig(production, "rayservice")).files[0]);
  const manifestPath = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(manifestPath, rayservice);
  const emptyCache = await Deno.makeTempDir();
  const baselines: number[] = [];
  const coldNoCache: number[] = [];
  const coldCached: number[] = [];
  const checkArgs = [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "scripts/export.ts",
    "--check",
    manifestPath,
    "--schemas",
    SCHEMAS,
  ];
  for (let i = 0; i < 3; i++) {
    baselines.push(await timeProcess(["eval", "0"]));
    await Deno.remove(emptyCache, { recursive: true }).catch(() => {});
    coldNoCache.push(await timeProcess(checkArgs, { AUTOSCALE_LAB_CRD_CACHE: emptyCache }));
    coldCached.push(await timeProcess(checkArgs, { AUTOSCALE_LAB_CRD_CACHE: emptyCache }));
  }
  // In-process: the first check (parse cache warm, compile) and later checks (compiled).
  const inProcess: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    const r = checkManifestText(rayservice, { schemasDir: SCHEMAS });
    inProcess.push(performance.now() - t0);
    if (r.issues.length > 0) throw new Error(`the export did not validate: ${r.issues[0].message}`);
  }
  await Deno.remove(manifestPath);
  await Deno.remove(emptyCache, { recursive: true }).catch(() => {});

  const baselineMs = median(baselines);
  const figures = {
    loadavgBefore: load0,
    loadavgAfter: loadavg(),
    exports: exportRows.length,
    exportWorstFirstMs: worstExport.firstMs,
    exportWorst: `${worstExport.config} -> ${worstExport.target}`,
    exportMedianMs: median(exportRows.map((r) => r.medianMs)),
    baselineDenoStartMs: baselineMs,
    checkProcessNoCacheMs: median(coldNoCache),
    checkProcessCachedMs: median(coldCached),
    checkFirstInProcessMs: inProcess[0],
    checkWarmInProcessMs: median(inProcess.slice(1)),
  };
  const rows: [string, string, string][] = [
    [
      "export, any config -> any target (worst first call)",
      `${figures.exportWorstFirstMs.toFixed(1)} ms (${figures.exportWorst})`,
      "< 1000 ms",
    ],
    ["export, median of later calls", `${figures.exportMedianMs.toFixed(2)} ms`, ""],
    ["baseline: bare `deno eval 0` process", `${baselineMs.toFixed(0)} ms`, ""],
    [
      "`export --check` RayService, fresh process, no CRD cache",
      `${figures.checkProcessNoCacheMs.toFixed(0)} ms (${
        (figures.checkProcessNoCacheMs / baselineMs).toFixed(1)
      }x baseline)`,
      "< 2000 ms",
    ],
    [
      "`export --check` RayService, fresh process, CRD cache",
      `${figures.checkProcessCachedMs.toFixed(0)} ms (${
        (figures.checkProcessCachedMs / baselineMs).toFixed(1)
      }x baseline)`,
      "< 2000 ms",
    ],
    [
      "check in process, first (compile)",
      `${figures.checkFirstInProcessMs.toFixed(0)} ms`,
      "< 2000 ms",
    ],
    [
      "check in process, compiled (median of 10)",
      `${figures.checkWarmInProcessMs.toFixed(1)} ms`,
      "",
    ],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(
    `loadavg ${load0} (before) / ${figures.loadavgAfter} (after); ${exportRows.length} exports of ${configs.length} configs`,
  );
  console.log(`${"what".padEnd(w0)}  ${"measured".padEnd(w1)}  target`);
  for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`);
  await Deno.mkdir(`${ROOT}results`, { recursive: true });
  await Deno.writeTextFile(
    `${ROOT}results/bench_export.json`,
    JSON.stringify({ figures, exportRows }, null, 2) + "\n",
  );
  console.log(`results/bench_export.json`);
  return EXIT_CODES.ok;
}

if (import.meta.main) {
  c.parse({});
  await c.run(main);
}
