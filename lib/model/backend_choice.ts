/**
 * How `backend: auto` chooses: by measurement, not by what exists. At start-up each candidate
 * backend opens a session on the model, runs a few inferences at the batch the deployment can
 * form (min(`max_batch_size`, `max_ongoing_requests`)) with the replica's thread count. Given the
 * deployment's facts, the backend whose layout serves the most images/s for the whole deployment
 * wins (`layout_choice.ts`: CPU backends scale with the replicas the CPUs allow, WebGPU replicas
 * share one GPU); without them, the fastest single replica. The figures, the compared layouts and
 * the choice are logged, kept on the classifier (and so shown in `/api/status`), and the
 * measurement is cached in a small JSON file keyed by the model's sha256, the ONNX Runtime
 * versions, this machine (CPU and WebGPU adapter), the thread count and the batch, so later
 * replicas on the same machine skip the measurement (like the optimized-model cache); the layout
 * decision is taken again from the cached figures for the deployment at hand.
 *
 * A WebGPU adapter that is a software fallback (Mesa llvmpipe) is never a candidate: it is
 * filtered out before measuring, and {@link pickFastest} ignores it even if it were timed.
 *
 * Why measure: on an NVIDIA H200, onnxruntime-web's WebGPU EP ran the seeded ResNet-50 at
 * 6-36 images/s untuned while 16 native 1-thread replicas served 220 images/s
 * (docs/backends.md); "an adapter exists" is not "the GPU is faster".
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ConcreteBackend } from "./_ort.ts";
import { median } from "../duration/mod.ts";
import { formatRate, roundTo } from "./_rate.ts";
import {
  type BackendTiming,
  chooseLayout,
  cpuReplicas,
  type DeploymentFacts,
  formableBatch,
  type LayoutFigure,
} from "./layout_choice.ts";

export type { BackendTiming };

/** What `auto` chose and why. */
export interface BackendChoice {
  /** The backend chosen for the replicas. */
  backend: ConcreteBackend;
  /** `measured` now, read from the `cache`, or the `only` candidate (nothing to compare). */
  source: "measured" | "cache" | "only";
  /** One line for logs and status. */
  reason: string;
  /** Every candidate's timing the choice compared (failed ones included). */
  timings: BackendTiming[];
  /** The batch the choice was made for. */
  batch: number;
  /** When the figures were measured (ISO 8601). */
  measuredAt: string;
  /**
   * The deployment layouts compared (when the deployment's facts were given): what each backend
   * serves for the whole deployment, best first. See {@link chooseLayout}.
   */
  layout?: {
    facts: DeploymentFacts;
    /** Replicas the CPUs allow (a CPU backend's multiplier). */
    cpuReplicas: number;
    layouts: LayoutFigure[];
  };
}

/**
 * The fastest backend by images/s among those that ran and are not a software adapter; ties go
 * to the earlier one in `timings` (the caller lists native before wasm). `null` when none ran.
 */
export function pickFastest(timings: readonly BackendTiming[]): BackendTiming | null {
  let best: BackendTiming | null = null;
  for (const t of timings) {
    if (t.fallback || t.imagesPerS === null || !(t.imagesPerS > 0)) continue;
    if (!best || t.imagesPerS > best.imagesPerS!) best = t;
  }
  return best;
}

/** Human summary: `webgpu 590 img/s > native 97 img/s > wasm 2.6 img/s (batch 32)`. */
export function describeTimings(timings: readonly BackendTiming[], batch: number): string {
  const shown = [...timings].sort((a, b) => (b.imagesPerS ?? -1) - (a.imagesPerS ?? -1)).map(
    (t) =>
      t.imagesPerS === null
        ? `${t.backend} failed (${t.error ?? "no figure"})`
        : `${t.backend} ${formatRate(t.imagesPerS)} img/s (p50 ${t.p50Ms!.toFixed(1)} ms)`,
  );
  return `${shown.join(" > ")} at batch ${batch}`;
}

/** What a choice depends on; any change measures again. */
export interface ChoiceKeyParts {
  modelSha256: string;
  /** e.g. `node=1.30.0 web=1.30.0`. */
  ortVersions: string;
  /** CPU description (`machineFingerprint()`). */
  machine: string;
  /** WebGPU adapter description, or `none`. */
  adapter: string;
  threads: number;
  batch: number;
}

/** File name of a cached choice. */
export function choiceFileName(parts: ChoiceKeyParts): string {
  const h = createHash("sha256").update(JSON.stringify([
    parts.modelSha256,
    parts.ortVersions,
    parts.machine,
    parts.adapter,
    parts.threads,
    parts.batch,
  ])).digest("hex").slice(0, 32);
  return `backend_choice_${h}.json`;
}

/** Options of {@link chooseByMeasurement}. */
export interface ChooseOptions<S> {
  /** Opens a session on a backend (rejects when it cannot). */
  open(backend: ConcreteBackend): Promise<S>;
  /** Runs the session `runs` times at `batch` after one warm-up; returns each run's ms. */
  time(session: S, batch: number): Promise<number[]>;
  /** Releases a session that lost. */
  release(session: S): Promise<void>;
  /**
   * Batch to time at: the batch the deployment can form (default: {@link formableBatch} of
   * `deployment`, else 1).
   */
  batch?: number;
  /**
   * The deployment the backend serves. With it the choice is the backend whose LAYOUT serves the
   * most images/s for the whole deployment ({@link chooseLayout}: CPU backends x the replicas the
   * CPUs allow, WebGPU bounded by its one device); without it, the fastest single replica.
   */
  deployment?: DeploymentFacts;
  /** Where to read and write the cached choice; without it nothing is cached. */
  cacheFile?: string;
  /** One-line notes. */
  log?: (line: string) => void;
  /** Clock for `measuredAt` (tests). */
  now?: () => Date;
}

/**
 * Chooses among `candidates` (in preference order; fallback adapters already removed) and returns
 * the choice with the winner's open session. With a cached choice for the same key, opens that
 * backend alone (the next candidate if it fails). Otherwise opens and times each candidate,
 * releases the losers, and writes the cache.
 *
 * @throws the first open error when no candidate opens; a RangeError for out-of-range
 * `deployment` facts (before opening anything).
 */
export async function chooseByMeasurement<S>(
  candidates: readonly ConcreteBackend[],
  options: ChooseOptions<S>,
): Promise<{ choice: BackendChoice; session: S }> {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const deployment = options.deployment;
  const batch = options.batch ?? (deployment ? formableBatch(deployment) : 1);
  if (candidates.length === 0) throw new Error("no backend to choose from");
  if (deployment) cpuReplicas(deployment); // refuses bad facts before any session opens

  const cached = options.cacheFile ? await readChoice(options.cacheFile) : null;
  // The cache keeps the measurement; the decision is taken again for this deployment's facts.
  const again = cached && cached.batch === batch ? decide(cached.timings, batch, deployment) : null;
  const preferred = again?.backend && candidates.includes(again.backend)
    ? again.backend
    : cached && candidates.includes(cached.backend)
    ? cached.backend
    : null;
  if (cached && again && preferred) {
    const order = [preferred, ...candidates.filter((b) => b !== preferred)];
    let firstError: unknown = null;
    for (const backend of order) {
      try {
        const session = await options.open(backend);
        const { layout: _old, ...measured } = cached;
        const choice: BackendChoice = {
          ...measured,
          backend,
          source: "cache",
          reason: backend === preferred
            ? again.reason
            : `${again.reason}; ${preferred} failed to open now, using ${backend}`,
          ...(again.layout ? { layout: again.layout } : {}),
        };
        log(`auto: ${choice.backend} (cached measurement: ${again.summary})`);
        return { choice, session };
      } catch (e) {
        firstError ??= e;
      }
    }
    throw firstError;
  }

  const opened = new Map<ConcreteBackend, S>();
  const timings: BackendTiming[] = [];
  let firstError: unknown = null;
  for (const backend of candidates) {
    let session: S;
    try {
      session = await options.open(backend);
    } catch (e) {
      firstError ??= e;
      timings.push({ backend, batch, p50Ms: null, imagesPerS: null, runs: 0, error: message(e) });
      continue;
    }
    opened.set(backend, session);
    if (candidates.length === 1) break;
    try {
      const times = await options.time(session, batch);
      const p50 = median(times);
      if (p50 === null) throw new Error("no timed runs");
      timings.push({
        backend,
        batch,
        p50Ms: roundTo(p50, 2),
        imagesPerS: roundTo((batch * 1000) / p50, 2),
        runs: times.length,
      });
    } catch (e) {
      timings.push({ backend, batch, p50Ms: null, imagesPerS: null, runs: 0, error: message(e) });
    }
  }
  if (opened.size === 0) throw firstError;

  let winner: ConcreteBackend;
  let choice: BackendChoice;
  if (candidates.length === 1) {
    winner = [...opened.keys()][0];
    choice = {
      backend: winner,
      source: "only",
      reason: `${winner} is the only candidate`,
      timings,
      batch,
      measuredAt: now().toISOString(),
    };
  } else {
    const decided = decide(timings, batch, deployment);
    // None timed but some opened: keep preference order.
    const best = decided.backend && opened.has(decided.backend) ? decided.backend : null;
    winner = best ?? [...opened.keys()][0];
    choice = {
      backend: winner,
      source: "measured",
      reason: best ? decided.reason : `no backend could be timed; first that opened: ${winner}`,
      timings,
      batch,
      measuredAt: now().toISOString(),
      ...(decided.layout ? { layout: decided.layout } : {}),
    };
    log(`auto: ${winner} (${choice.reason})`);
    if (best && options.cacheFile) await writeChoice(options.cacheFile, choice, log);
  }
  for (const [backend, session] of opened) {
    if (backend !== winner) await options.release(session).catch(() => {});
  }
  return { choice, session: opened.get(winner)! };
}

/**
 * The winner among `timings`: for a deployment, the best layout ({@link chooseLayout}); else the
 * fastest replica ({@link pickFastest}). `summary` is what the log line quotes.
 */
function decide(
  timings: readonly BackendTiming[],
  batch: number,
  deployment: DeploymentFacts | undefined,
): {
  backend: ConcreteBackend | null;
  reason: string;
  summary: string;
  layout?: BackendChoice["layout"];
} {
  if (deployment) {
    const c = chooseLayout(timings, deployment);
    return {
      backend: c.backend,
      reason: c.reason,
      summary: c.reason,
      layout: { facts: deployment, cpuReplicas: c.cpuReplicas, layouts: c.layouts },
    };
  }
  const summary = describeTimings(timings, batch);
  return {
    backend: pickFastest(timings)?.backend ?? null,
    reason: `fastest measured: ${summary}`,
    summary,
  };
}

function message(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0].slice(0, 200);
}

const BACKENDS = new Set(["native", "wasm", "webgpu"]);

async function readChoice(file: string): Promise<BackendChoice | null> {
  try {
    const c = JSON.parse(await Deno.readTextFile(file)) as BackendChoice;
    if (!BACKENDS.has(c?.backend) || !Array.isArray(c.timings) || typeof c.batch !== "number") {
      return null;
    }
    return c;
  } catch {
    return null; // absent, unreadable or not ours: measure again
  }
}

async function writeChoice(
  file: string,
  choice: BackendChoice,
  log: (line: string) => void,
): Promise<void> {
  const tmp = `${file}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")) || ".", { recursive: true });
    await Deno.writeTextFile(tmp, JSON.stringify(choice, null, 2) + "\n");
    await Deno.rename(tmp, file);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    log(
      `auto: could not cache the choice in ${file} (${message(e)}); it is measured again next time`,
    );
  }
}
