/**
 * The real service for `deno task fidelity`: `scripts/deploy.ts` in a child process, its output in
 * `<dir>/server.log`, ready once `/api/status` says RUNNING; replica startup times (started ->
 * running, from `/api/status`) are collected while it runs and returned by `stop()`.
 *
 * @module
 */

import { controlLoopStartMs as controlLoopStart } from "../lib/autoscaler/mod.ts";

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

async function readStatus(base: string): Promise<{ running: boolean; replicas: ReplicaStatus[] }> {
  const res = await fetch(`${base}/api/status`);
  const body = await res.json();
  let running = false;
  const replicas: ReplicaStatus[] = [];
  for (
    const app of Object.values(body.applications ?? {}) as {
      status: string;
      deployments: Record<string, { replicas?: ReplicaStatus[] }>;
    }[]
  ) {
    running ||= app.status === "RUNNING";
    for (const d of Object.values(app.deployments ?? {})) replicas.push(...(d.replicas ?? []));
  }
  return { running, replicas };
}

/** Deploys `configPath` on `numCpus` logical CPUs (`model` overrides its model) and waits for it. */
export async function startRealService(
  options: { configPath: string; numCpus: number; model: string | null; dir: string },
): Promise<RealService> {
  const { dir } = options;
  const decisionsCsv = `${dir}/real_autoscaler.csv`;
  // The service appends to its decisions CSV: start from an empty one, so its first row is ours.
  await Deno.remove(decisionsCsv).catch(() => {});
  const serverLog = await Deno.open(`${dir}/server.log`, {
    write: true,
    create: true,
    truncate: true,
  });
  const args = [
    "run",
    "--allow-all",
    "scripts/deploy.ts",
    options.configPath,
    "--port",
    "0",
    "--num-cpus",
    String(options.numCpus),
    "--no-dashboard",
    "--decisions-csv",
    decisionsCsv,
  ];
  if (options.model !== null) args.push("--model", options.model);
  const server = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .spawn();
  const encoder = new TextEncoder();
  let url: string | null = null;
  const urlFound = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>, scan: boolean) => {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      await serverLog.write(encoder.encode(chunk));
      if (!scan) continue;
      buffer += chunk;
      const m = /listening on (http:\/\/[^\s]+)/.exec(buffer);
      if (m && url === null) {
        url = m[1];
        urlFound.resolve(url);
      }
      if (buffer.length > 10_000) buffer = buffer.slice(-1000);
    }
  };
  const pumps = [pump(server.stdout, false), pump(server.stderr, true)];
  let exited = false;
  server.status.then((s) => {
    exited = true;
    if (url === null) {
      urlFound.reject(new Error(`the server exited with code ${s.code} before listening`));
    }
  });
  const startupMs = new Map<string, number>();
  let polling = false;
  let poll: Promise<void> = Promise.resolve();

  const stop = async (): Promise<number[]> => {
    polling = false;
    await poll;
    if (!exited) {
      try {
        server.kill("SIGTERM");
        const timer = setTimeout(() => {
          try {
            server.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 30_000);
        await server.status;
        clearTimeout(timer);
      } catch {
        // already gone
      }
    }
    await Promise.allSettled(pumps);
    serverLog.close();
    return [...startupMs.values()].filter((x) => x >= 0).sort((a, b) => a - b);
  };

  try {
    const timeout = setTimeout(
      () => urlFound.reject(new Error("no 'listening on' line within 60 s")),
      60_000,
    );
    const base = await urlFound.promise.finally(() => clearTimeout(timeout));
    console.error(`fidelity: server at ${base} (log: ${dir}/server.log)`);
    const readyBy = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await readStatus(base)).running) break;
      } catch {
        // not up yet
      }
      if (Date.now() > readyBy) {
        throw new Error("the application did not reach RUNNING within 60 s");
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    polling = true;
    poll = (async () => {
      while (polling) {
        try {
          for (const r of (await readStatus(base)).replicas) {
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
          const rs = (await readStatus(base)).replicas;
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
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message} (see ${dir}/server.log)`);
  }
}
