/**
 * `scripts/deploy.ts` in a child process, for the scripts that measure a real service (fidelity,
 * `tune --verify`, the hostile-client and shutdown benchmarks, bench-apply): start it, learn its
 * URL from its `listening on` line, wait until `/api/status` says every application is RUNNING,
 * and stop it with a signal (SIGKILL after a timeout if asked).
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The deploy script, found from this file (not from the current directory). */
const DEPLOY_SCRIPT = fileURLToPath(new URL("../../scripts/deploy.ts", import.meta.url));

/** How much of the child's output {@linkcode DeployChild.waitForLine} can still look back on. */
const REMEMBERED_LINES = 500;

/** How often {@linkcode DeployChild.waitRunning} asks `/api/status`. */
const STATUS_POLL_MS = 200;

/** When start-up gives up, how long the child has after SIGTERM before SIGKILL. */
const GIVE_UP_KILL_AFTER_MS = 10_000;

/**
 * Where the child's output goes:
 * - `{ logFile }`: its stdout and stderr, in the order they arrive, to that file (emptied first);
 *   error messages name the file.
 * - `"inherit"`: its stderr (deploy's log) to this process's stderr; its stdout, which deploy
 *   does not use, is dropped.
 */
export type DeployChildOutput = { logFile: string } | "inherit";

/** Options of {@linkcode startDeployChild}. */
export interface DeployChildOptions {
  /** Where the child's output goes. */
  output: DeployChildOutput;
  /** Flags of `scripts/deploy.ts` after the config path, e.g. `["--port", "0"]`. */
  args?: readonly string[];
  /**
   * Flags of `deno run` before the script (default `["--allow-all"]`), e.g. with
   * `"--v8-flags=--expose-gc"` added.
   */
  denoFlags?: readonly string[];
  /** The child's working directory (default this process's); relative paths resolve there. */
  cwd?: string;
  /** How long to wait for the `listening on` line (default 60 s). */
  listenTimeoutMs?: number;
}

/** How {@linkcode DeployChild.stop} stops the child. */
export interface DeployChildStopOptions {
  /** The signal sent first (default SIGTERM). */
  signal?: Deno.Signal;
  /** Send SIGKILL if it has not exited this long after the signal (default: never). */
  killAfterMs?: number;
}

/** A running `scripts/deploy.ts` whose HTTP server listens. */
export interface DeployChild {
  /** The service's base URL from its `listening on` line, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The child's process id. */
  readonly pid: number;
  /** Settles when the child has exited and its output is written out (the log file closed). */
  readonly status: Promise<Deno.CommandStatus>;
  /**
   * Resolves once `/api/status` lists applications and every one is RUNNING; rejects if the
   * child exits first or `timeoutMs` passes, after stopping the child (SIGTERM, SIGKILL after
   * 10 s), so that a caller giving up leaves no server behind.
   */
  waitRunning(timeoutMs: number): Promise<void>;
  /**
   * The first line of the child's output matching `pattern` (among the last 500 lines seen, or
   * the next ones); rejects if the child exits first or `timeoutMs` passes, after stopping the
   * child as {@linkcode DeployChild.waitRunning} does.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Signals the child (unless it has exited) and resolves to its exit status. */
  stop(options?: DeployChildStopOptions): Promise<Deno.CommandStatus>;
}

/** What each message ends with: where to read the child's output. */
function whereOutput(output: DeployChildOutput): string {
  return output === "inherit" ? " (its output is above)" : ` (log: ${output.logFile})`;
}

function exitText(status: Deno.CommandStatus): string {
  return `code ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
}

async function writeAll(sink: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  for (let written = 0; written < bytes.length;) {
    written += await sink.write(bytes.subarray(written));
  }
}

/** Resolves after `ms`, or earlier when `early` settles; leaves no timer behind. */
function pause(ms: number, early: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    early.then(() => {}, () => {}),
  ]).finally(() => clearTimeout(timer));
}

/** Whether `/api/status` at `url` lists applications, all RUNNING (false while it cannot say). */
async function everyApplicationRunning(url: string, timeoutMs: number): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(`${url}/api/status`, { signal: abort.signal });
    if (!res.ok) {
      await res.body?.cancel();
      return false;
    }
    const body = await res.json() as { applications?: Record<string, { status?: string }> };
    const apps = Object.values(body.applications ?? {});
    return apps.length > 0 && apps.every((a) => a.status === "RUNNING");
  } catch {
    return false; // not listening yet, busy, or an answer that is not the status
  } finally {
    clearTimeout(timer);
  }
}

interface LineWaiter {
  pattern: RegExp;
  resolve(match: RegExpExecArray): void;
}

/**
 * Starts `scripts/deploy.ts configPath ...args` with this Deno and resolves once it prints its
 * `listening on http://...` line. Rejects, with the child stopped (SIGTERM, SIGKILL after 10 s),
 * if it exits first (the message gives its exit code) or no such line comes within
 * `listenTimeoutMs`.
 *
 * ```ts ignore
 * import { startDeployChild } from "../lib/cli/mod.ts";
 * const child = await startDeployChild("configs/dev_fast.yaml", {
 *   args: ["--port", "0", "--num-cpus", "2", "--no-dashboard"],
 *   output: { logFile: "/tmp/deploy.log" },
 * });
 * await child.waitRunning(60_000);
 * await fetch(`${child.url}/api/status`).then((r) => r.json());
 * const { code } = await child.stop({ signal: "SIGTERM", killAfterMs: 30_000 });
 * ```
 */
export async function startDeployChild(
  configPath: string,
  options: DeployChildOptions,
): Promise<DeployChild> {
  const { output } = options;
  const where = whereOutput(output);
  const logFile = output === "inherit" ? null : await Deno.open(output.logFile, {
    write: true,
    create: true,
    truncate: true,
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...(options.denoFlags ?? ["--allow-all"]),
        DEPLOY_SCRIPT,
        configPath,
        ...(options.args ?? []),
      ],
      cwd: options.cwd,
      stdout: logFile ? "piped" : "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    logFile?.close();
    throw error;
  }

  // Output: every chunk to its sink, in arrival order; complete lines to the waiters.
  const sink = logFile ?? Deno.stderr;
  let writing = Promise.resolve();
  const recentLines: string[] = [];
  const waiters = new Set<LineWaiter>();
  const onLine = (line: string) => {
    recentLines.push(line);
    if (recentLines.length > REMEMBERED_LINES) recentLines.shift();
    for (const waiter of waiters) {
      const match = waiter.pattern.exec(line);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  };
  const pump = async (stream: ReadableStream<Uint8Array>, toSink: boolean) => {
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const bytes of stream) {
        if (toSink) writing = writing.then(() => writeAll(sink, bytes)).catch(() => {});
        const lines = (partial + decoder.decode(bytes, { stream: true })).split("\n");
        partial = lines.pop()!;
        lines.forEach(onLine);
      }
    } catch {
      // the stream broke off: the child is gone
    }
    if (partial) onLine(partial);
  };
  const pumps = [pump(child.stderr, true)];
  if (logFile) pumps.push(pump(child.stdout, true));
  let exit: Deno.CommandStatus | null = null;
  const status = (async () => {
    const s = await child.status;
    await Promise.all(pumps);
    await writing;
    logFile?.close();
    exit = s;
    return s;
  })();

  const awaitLine = async (
    pattern: RegExp,
    timeoutMs: number,
    words: { before: string; missing: string },
  ): Promise<RegExpExecArray> => {
    for (const line of recentLines) {
      const match = pattern.exec(line);
      if (match) return match;
    }
    const found = Promise.withResolvers<RegExpExecArray>();
    const waiter: LineWaiter = { pattern, resolve: found.resolve };
    waiters.add(waiter);
    const timer = setTimeout(() => {
      found.reject(new Error(`${words.missing} within ${timeoutMs / 1000} s${where}`));
    }, timeoutMs);
    status.then((s) => {
      found.reject(new Error(`deploy exited with ${exitText(s)} ${words.before}${where}`));
    });
    try {
      return await found.promise;
    } finally {
      clearTimeout(timer);
      waiters.delete(waiter);
    }
  };

  const stop = async (stopOptions: DeployChildStopOptions = {}) => {
    if (exit !== null) return exit;
    try {
      child.kill(stopOptions.signal ?? "SIGTERM");
    } catch {
      // it exited meanwhile
    }
    const { killAfterMs } = stopOptions;
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // it exited meanwhile
      }
    }, killAfterMs);
    try {
      return await status;
    } finally {
      clearTimeout(timer);
    }
  };

  /** Stops the child, then fails with `error`: what start-up does when it gives up. */
  const giveUp = async (error: unknown): Promise<never> => {
    await stop({ signal: "SIGTERM", killAfterMs: GIVE_UP_KILL_AFTER_MS });
    throw error;
  };

  const url = (await awaitLine(/listening on (http:\/\/\S+)/, options.listenTimeoutMs ?? 60_000, {
    before: "before listening",
    missing: "no 'listening on' line from deploy",
  }).catch(giveUp))[1];

  const pollUntilRunning = async (timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const running = await everyApplicationRunning(url, Math.max(1, until - Date.now()));
      if (running) return;
      if (exit !== null) {
        throw new Error(
          `deploy exited with ${exitText(exit)} before every application was RUNNING${where}`,
        );
      }
      if (Date.now() >= until) {
        throw new Error(
          `the applications at ${url} were not all RUNNING within ${timeoutMs / 1000} s${where}`,
        );
      }
      await pause(Math.min(STATUS_POLL_MS, until - Date.now()), status);
    }
  };
  const waitRunning = (timeoutMs: number) => pollUntilRunning(timeoutMs).catch(giveUp);

  return {
    url,
    pid: child.pid,
    status,
    waitRunning,
    waitForLine: (pattern, timeoutMs) =>
      awaitLine(pattern, timeoutMs, {
        before: `before printing a line matching ${pattern}`,
        missing: `no line matching ${pattern} from deploy`,
      }).catch(giveUp),
    stop,
  };
}
