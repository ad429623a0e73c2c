/**
 * Private: the optimized-model cache of the native backend. Creating an onnxruntime-node session
 * for ResNet-50 spends most of its ~1.3 s optimizing the graph (level "all": fusions, NCHWc
 * layout); ORT can save the optimized graph (`optimizedModelFilePath`), and a session created
 * from that file with optimizations disabled starts in ~0.8 s and runs as fast.
 *
 * The saved graph may hold hardware-specific optimizations, so the file name is a hash of the
 * model's sha256, ORT's version, the optimization level and this machine (CPU model and flags,
 * architecture). Files are written to a unique temporary name during create and renamed into
 * place only after create succeeded: several replicas may start at once, and a reader never sees
 * a partial file.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** What the cache key is made of. */
export interface OptimizedCacheKeyParts {
  /** The model's sha256 (hex). */
  modelSha256: string;
  /** ONNX Runtime's version. */
  ortVersion: string;
  /** The graph optimization level the saved graph was produced with. */
  level: string;
}

let machine: string | null = null;

/**
 * A cheap, stable description of this machine's CPU for the cache key: the first processor's
 * `model name` and `flags` from /proc/cpuinfo, plus the architecture. When /proc/cpuinfo cannot be
 * read (no permission, not Linux) it falls back to OS, release and logical CPU count.
 */
export function machineFingerprint(): string {
  if (machine !== null) return machine;
  const parts = [`arch=${Deno.build.arch}`, `os=${Deno.build.os}`];
  let cpu = "";
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    const first = text.split(/\n\s*\n/)[0] ?? "";
    const field = (name: string) =>
      first.split("\n").find((l) => l.startsWith(name))?.split(":").slice(1).join(":").trim() ??
        "";
    cpu = [field("model name"), field("flags") || field("Features"), field("vendor_id")]
      .filter((s) => s.length > 0).join("|");
  } catch {
    // Unreadable: use what Deno tells us below.
  }
  if (cpu) {
    parts.push(`cpu=${cpu}`);
  } else {
    let release = "unknown";
    try {
      release = Deno.osRelease();
    } catch {
      // --allow-sys missing
    }
    parts.push(`release=${release}`, `cpus=${navigator.hardwareConcurrency ?? 0}`);
  }
  machine = parts.join(";");
  return machine;
}

/** The cache file name (without folder) for these key parts on this machine. */
export function optimizedFileName(parts: OptimizedCacheKeyParts): string {
  const key = createHash("sha256")
    .update(JSON.stringify({
      model: parts.modelSha256.toLowerCase(),
      ort: parts.ortVersion,
      level: parts.level,
      machine: machineFingerprint(),
    }))
    .digest("hex");
  return `${key.slice(0, 32)}.onnx`;
}

/** A unique temporary path next to `finalPath` (same folder, so the rename is atomic). */
export function temporaryPathFor(finalPath: string): string {
  const pid = (() => {
    try {
      return Deno.pid;
    } catch {
      return 0;
    }
  })();
  return `${finalPath}.tmp-${pid}-${crypto.randomUUID()}`;
}

/** True when a regular file exists at `path` (false on any error). */
export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Removes `path`, ignoring every error (already gone, no permission). */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // ignore
  }
}

const warned = new Set<string>();

/** Calls `log(line)` once per process for each distinct `key`. */
export function logOnce(log: (line: string) => void, key: string, line: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  log(line);
}

/** Temporary files older than this are leftovers of a process killed during create. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;

/** Removes `*.onnx.tmp-*` files in `dir` older than an hour (best effort, never throws). */
export async function removeStaleTemporaries(dir: string, nowMs = Date.now()): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.includes(".onnx.tmp-")) continue;
      const path = `${dir}/${entry.name}`;
      try {
        const mtime = (await Deno.stat(path)).mtime?.getTime() ?? nowMs;
        if (nowMs - mtime > STALE_TEMPORARY_MS) await removeQuietly(path);
      } catch {
        // raced with its owner: ignore
      }
    }
  } catch {
    // unreadable folder: ignore
  }
}
