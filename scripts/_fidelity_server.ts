/**
 * The real service for `deno task fidelity`: `scripts/deploy.ts` in a child process, its output in
 * `<dir>/server.log`, ready once `/api/status` says RUNNING; replica startup times (started ->
 * running, from `/api/status`) are collected while it runs and returned by `stop()`.
 *
 * @module
 */

import { controlLoopStartMs as controlLoopStart } from "../lib/autoscaler/mod.ts";
import { startDeployChild } from "../lib/cli/mod.ts";

/** A running service. */
export interface RealService {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Stops the server (SIGTERM, SIGKILL after 30 s); returns the measured startup times, ms. */
  stop(): Promise<number[]>;
  /** Waits (at most `timeoutMs`) until exactly `replicas` replicas exist, all RUNNING. */
  settle(replicas: number, timeoutMs: number): Promise<void>;
  /**
   * When the autoscaler's control loop started, epoch ms, from its decisions CSV; `null` for a
   * deployment without one.
   */
  controlLoopStartMs(): Promise<number | null>;
}

interface ReplicaStatus {
  replica_id: string;
  state: string;
  started_at_ms: number | null;
  running_since_ms: number | null;
}

/** Every replica `/api/status` lists, over all applications and deployments. */
async function readReplicas(base: string): Promise<ReplicaStatus[]> {
  const res = await fetch(`${base}/api/status`);
  const body = await res.json();
  const replicas: ReplicaStatus[] = [];
  for (
    const app of Object.values(body.applications ?? {}) as {
      deployments: Record<string, { replicas?: ReplicaStatus[] }>;
    }[]
  ) {
    for (const d of Object.values(app.deployments ?? {})) replicas.push(...(d.replicas ?? []));
  }
  return replicas;
}

/** Deploys `configPath` on `numCpus` logical CPUs (`model` overrides its model) and waits for it. */
export async function startRealService(
  options: { configPath: string; numCpus: number; model: string | null; dir: string },
): Promise<RealService> {
  const { dir } = options;
  const decisionsCsv = `${dir}/real_autoscaler.csv`;
  // The service appends to its decisions CSV: start from an empty one, so its first row is ours.
  await Deno.remove(decisionsCsv).catch(() => {});
  const args = [
    "--port",
    "0",
    "--num-cpus",
    String(options.numCpus),
    "--no-dashboard",
    "--decisions-csv",
    decisionsCsv,
  ];
  if (options.model !== null) args.push("--model", options.model);
  const server = await startDeployChild(options.configPath, {
    args,
    output: { logFile: `${dir}/server.log` },
  });
  const base = server.url;
  const startupMs = new Map<string, number>();
  let polling = false;
  let poll: Promise<void> = Promise.resolve();

  const stop = async (): Promise<number[]> => {
    polling = false;
    await poll;
    await server.stop({ signal: "SIGTERM", killAfterMs: 30_000 });
    return [...startupMs.values()].filter((x) => x >= 0).sort((a, b) => a - b);
  };

  console.error(`fidelity: server at ${base} (log: ${dir}/server.log)`);
  await server.waitRunning(60_000);
  polling = true;
  poll = (async () => {
    while (polling) {
      try {
        for (const r of await readReplicas(base)) {
          if (r.started_at_ms && r.running_since_ms && !startupMs.has(r.replica_id)) {
            startupMs.set(r.replica_id, r.running_since_ms - r.started_at_ms);
          }
        }
      } catch {
        // the server is busy; try again
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const settle = async (replicas: number, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      try {
        const rs = await readReplicas(base);
        if (rs.length === replicas && rs.every((r) => r.state === "RUNNING")) return;
      } catch {
        // busy; try again
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    console.error(`fidelity: the service did not settle to ${replicas} replica(s) in time`);
  };
  const controlLoopStartMs = async (): Promise<number | null> =>
    controlLoopStart(await Deno.readTextFile(decisionsCsv).catch(() => ""));
  return { url: base, stop, settle, controlLoopStartMs };
}
