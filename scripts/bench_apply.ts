/**
 * `deno task bench-apply [--users N] [--replicas N] [--json PATH]`: measures issue 15's targets
 * the way a user operates the service. Starts `deno task deploy` (noop model), runs
 * `deno task loadtest` against it, and during the load applies (with `deno task apply`) first an
 * autoscaling_config change (lightweight), then a model change (rolling); ends with
 * `deno task shutdown`. Prints a table and writes JSON with /proc/loadavg before and after.
 *
 * Figures: time from starting `apply` until `/api/status` shows the new knobs (status polled
 * every 20 ms), replica ids before and after the lightweight update, fewest RUNNING replicas
 * seen while rolling (polled every 20 ms, so a dip shorter than that could be missed), the load
 * test's failed requests, and the exit code of the deploy process after shutdown.
 *
 * @module
 */
import { type Cli, cli, EXIT_CODES, startDeployChild } from "../lib/cli/mod.ts";
import type { ServeStatusJson } from "../lib/serve/mod.ts";

const USAGE = `usage: deno task bench-apply [options]

  --users N      load-test users, each posting back to back (default 8)
  --replicas N   replicas of the deployment (default 4)
  --num-cpus N   cluster CPUs (default 2; 0.25 per replica, so a newcomer fits)
  --json PATH    where to write the figures (default results/apply_bench.json)
  -h, --help     this text`;

const c: Cli = cli("bench-apply", USAGE);
const args = c.parse({
  users: { type: "string" },
  replicas: { type: "string" },
  "num-cpus": { type: "string" },
  json: { type: "string", default: "results/apply_bench.json" },
});
const users = c.number("users", args.values.users, { integer: true, min: 1, max: 200 }) ?? 8;
const replicas = c.number("replicas", args.values.replicas, { integer: true, min: 1, max: 16 }) ??
  4;
const numCpus = c.number("num-cpus", args.values["num-cpus"], { min: 0.25 }) ?? 2;
const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

function taskArgs(name: string): string[] {
  const deno = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  return (deno.tasks[name].command as string).split(/\s+/).slice(1);
}

function configText(o: { targetOngoing: number; maxReplicas: number; modelMs: number }): string {
  return `http_options: {host: 127.0.0.1, port: 0}
applications:
  - name: default
    route_prefix: /
    import_path: main:app
    deployments:
      - name: Model
        max_ongoing_requests: 8
        graceful_shutdown_wait_loop_s: 0.1
        ray_actor_options: {num_cpus: 0.25}
        autoscaling_config:
          min_replicas: ${replicas}
          max_replicas: ${o.maxReplicas}
          target_ongoing_requests: ${o.targetOngoing}
          upscale_delay_s: 30
          downscale_delay_s: 600
          metrics_interval_s: 1
          look_back_period_s: 5
        user_config: {model: "noop:${o.modelMs}"}
`;
}

async function loadavg(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "n/a")).trim();
}

async function status(url: string): Promise<ServeStatusJson> {
  const res = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(5000) });
  return await res.json();
}

async function runTask(name: string, taskArgsExtra: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs(name), ...taskArgsExtra],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

await c.run(async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench_apply_" });
  const cfg = `${dir}/service.yaml`;
  const png = `${dir}/tiny.png`;
  await Deno.writeFile(
    png,
    Uint8Array.from(
      atob(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
      ),
      (ch) => ch.charCodeAt(0),
    ),
  );
  await Deno.writeTextFile(cfg, configText({ targetOngoing: 50, maxReplicas: 6, modelMs: 10 }));
  const loadBefore = await loadavg();

  // As `deno task deploy` runs it: the task's deno flags, from the repository root.
  const readyBy = Date.now() + 60_000;
  const deploy = await startDeployChild(cfg, {
    denoFlags: taskArgs("deploy").filter((arg) => arg.startsWith("-")),
    args: ["--num-cpus", String(numCpus), "--dashboard-port", "0"],
    cwd: ROOT,
    output: { logFile: `${dir}/deploy.log` },
    listenTimeoutMs: 60_000,
  });
  await deploy.waitRunning(Math.max(0, readyBy - Date.now()));
  const url = deploy.url;
  const admin = (await deploy.waitForLine(/dashboard: (http:\/\/127\.0\.0\.1:\d+)/, 10_000))[1];
  const idsOf = (s: ServeStatusJson) =>
    s.applications.default.deployments.Model.replicas.map((r) => r.replica_id).sort();

  const prefix = `results/apply_bench_load`;
  const loadtest = new Deno.Command(Deno.execPath(), {
    args: [
      ...taskArgs("loadtest"),
      "--host",
      url,
      "-u",
      String(users),
      "-t",
      "26s",
      "--image",
      png,
      "--csv",
      prefix,
      "--timeout",
      "10",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  await new Promise((r) => setTimeout(r, 5000));

  // 1. Lightweight: autoscaling knobs.
  const idsBefore = idsOf(await status(url));
  await Deno.writeTextFile(cfg, configText({ targetOngoing: 40, maxReplicas: 8, modelMs: 10 }));
  const t0 = performance.now();
  const lightApply = runTask("apply", [cfg, "--address", admin]);
  let visibleMs = NaN;
  for (;;) {
    const a = (await status(url)).applications.default.deployments.Model.autoscaler as {
      max_replicas: number;
      target_ongoing_requests: number;
    };
    if (a.max_replicas === 8 && a.target_ongoing_requests === 40) {
      visibleMs = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > 30_000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const light = await lightApply;
  const idsAfterLight = idsOf(await status(url));
  await new Promise((r) => setTimeout(r, 4000));

  // 2. Rolling: the model.
  await Deno.writeTextFile(cfg, configText({ targetOngoing: 40, maxReplicas: 8, modelMs: 12 }));
  const r0 = performance.now();
  const rollApply = runTask("apply", [cfg, "--address", admin]);
  let minRunning = Infinity;
  let rolledMs = NaN;
  let target = replicas;
  for (;;) {
    const d = (await status(url)).applications.default.deployments.Model;
    minRunning = Math.min(minRunning, d.replica_states.RUNNING);
    target = d.target_replicas;
    if (
      d.status === "HEALTHY" && d.replicas.length === target &&
      d.replicas.every((r) => r.version === 2 && r.state === "RUNNING")
    ) {
      rolledMs = performance.now() - r0;
      break;
    }
    if (performance.now() - r0 > 60_000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const roll = await rollApply;
  const idsAfterRoll = idsOf(await status(url));

  const load = await loadtest;
  const summary = JSON.parse(await Deno.readTextFile(`${prefix}_summary.json`));
  const shutdown = await runTask("shutdown", ["--address", admin]);
  const deployExit = (await deploy.status).code;
  const loadAfter = await loadavg();
  await Deno.remove(dir, { recursive: true });

  const floor = Math.min(target, 4) - 1;
  const figures = {
    loadavg_before: loadBefore,
    loadavg_after: loadAfter,
    users,
    replicas,
    num_cpus: numCpus,
    lightweight: {
      apply_exit: light.code,
      visible_in_status_ms: Math.round(visibleMs),
      target_ms: 1000,
      replica_ids_kept: JSON.stringify(idsBefore) === JSON.stringify(idsAfterLight),
    },
    rolling: {
      apply_exit: roll.code,
      rolled_ms: Math.round(rolledMs),
      min_running: minRunning,
      floor_min_target_4_minus_1: floor,
      all_replicas_replaced: idsAfterRoll.every((id) => !idsAfterLight.includes(id)),
    },
    load: {
      exit: load.code,
      requests: summary.requests,
      failures: summary.failures,
      p99_ms: summary.latency_ms.p99,
    },
    shutdown_exit: shutdown.code,
    deploy_exit_after_shutdown: deployExit,
  };
  const met = {
    lightweight: visibleMs <= 1000 && figures.lightweight.replica_ids_kept,
    rolling: minRunning >= floor && figures.rolling.all_replicas_replaced,
    no_failures: summary.failures === 0,
    clean_shutdown: shutdown.code === 0 && deployExit === 0,
  };
  const rows: [string, string, string][] = [
    [
      "lightweight visible in /api/status",
      `${figures.lightweight.visible_in_status_ms} ms`,
      "<= 1000 ms",
    ],
    ["lightweight keeps replica ids", String(figures.lightweight.replica_ids_kept), "true"],
    ["rolling update done", `${figures.rolling.rolled_ms} ms`, ""],
    ["fewest RUNNING while rolling", String(minRunning), `>= ${floor}`],
    ["every replica replaced", String(figures.rolling.all_replicas_replaced), "true"],
    ["load test requests", String(summary.requests), ""],
    ["load test failures", String(summary.failures), "0"],
    ["load test p99", `${summary.latency_ms.p99} ms`, ""],
    ["shutdown / deploy exit", `${shutdown.code} / ${deployExit}`, "0 / 0"],
  ];
  console.log(`bench-apply: ${users} users, ${replicas} replicas x 0.25 CPU, ${numCpus} CPUs`);
  console.log(`loadavg before: ${loadBefore}`);
  for (const [k, v, t] of rows) console.log(`  ${k.padEnd(36)} ${v.padStart(12)}   ${t}`);
  console.log(`loadavg after:  ${loadAfter}`);
  console.log(`targets met: ${JSON.stringify(met)}`);
  await Deno.mkdir("results", { recursive: true });
  await Deno.writeTextFile(args.values.json!, JSON.stringify({ ...figures, met }, null, 2) + "\n");
  console.log(`wrote ${args.values.json}`);
  if (light.code !== 0 || roll.code !== 0) {
    console.error(`apply output:\n${light.stdout}${light.stderr}${roll.stdout}${roll.stderr}`);
  }
  return Object.values(met).every(Boolean) ? EXIT_CODES.ok : EXIT_CODES.failed;
});
