/**
 * The model store: resolves a {@link ModelSpec} to ONNX bytes.
 *
 * - `resnet50`: the ONNX Model Zoo's pretrained ResNet-50 if `deno task download-model` put it in
 *   the cache, else the seeded, architecture-faithful build (built once into the cache; its labels
 *   are meaningless, and {@link ResolvedModel.labelsMeaningful} says so).
 * - `{path}`: a local ONNX file.
 * - `{url, sha256}`: downloaded once into the cache (streamed to a temporary file, checksum
 *   verified, then renamed: a failed or interrupted download never leaves a usable-looking file).
 *
 * Cache folder: `$AUTOSCALE_LAB_CACHE`, else `<repo>/.cache/models/` (ignored by git).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ModelSpec } from "../config/types.ts";
import { ModelError } from "./errors.ts";
import type { Progress } from "./resnet50.ts";

export type { Progress } from "./resnet50.ts";

/** A model spec resolved to bytes. */
export interface ResolvedModel {
  /** Display name, e.g. `resnet50 (seeded, meaningless labels)`. */
  name: string;
  /** The ONNX file. */
  bytes: Uint8Array;
  /** Whether the weights are trained (false for the seeded build). */
  pretrained: boolean;
  /** Whether predicted labels mean anything (false for the seeded build). */
  labelsMeaningful: boolean;
  /** Hex SHA-256 of `bytes`. */
  sha256: string;
  /** Where the bytes came from (file path or URL). */
  source: string;
}

/** Options of {@link resolveModel}. */
export interface ResolveModelOptions {
  /** Cache folder (default {@link defaultCacheDir}). */
  cacheDir?: string;
  /** Progress of a build or download. */
  onProgress?: (p: Progress) => void;
  /** One-line notes (what is being built or downloaded, warnings). */
  log?: (line: string) => void;
  /** Folder relative `{path}` specs are resolved against (default: the working directory). */
  baseDir?: string;
  /** Download stall timeout: no byte for this long aborts (default 30 s). */
  downloadStallTimeoutMs?: number;
}

/** The ONNX Model Zoo's pretrained ResNet-50 (v1, opset 12, fp32; top-1 74.97%). */
export const PRETRAINED_RESNET50 = {
  /** File name inside the cache folder. */
  file: "resnet50-v1-12.onnx",
  /** Pinned to the zoo's last commit (the repository is archived); served through Git LFS. */
  url: "https://github.com/onnx/models/raw/b1eeaa1ac722dcc1cd1a8284bde34393dab61c3d/" +
    "validated/vision/classification/resnet/model/resnet50-v1-12.onnx",
  /** From the zoo's Git LFS pointer file. */
  sha256: "3f03fdef724b22947eed826f1eef1dc5c34151bb4c37d634f1db89dfa2dd1526",
  /** Bytes, from the same pointer file. */
  size: 102_576_593,
} as const;

/** Seed of the seeded build used for `resnet50`. */
export const SEEDED_RESNET50_SEED = 42;

/**
 * SHA-256 of the seeded build with {@link SEEDED_RESNET50_SEED}: the build is byte-deterministic,
 * so a cached file with another hash is stale or damaged and gets rebuilt.
 */
export const SEEDED_RESNET50_SHA256 =
  "ca094bb044b4824236281d2cb8e1b987423f97e7270ff7b2fca2c354636f6f14";

function envCacheDir(): string | undefined {
  try {
    return Deno.env.get("AUTOSCALE_LAB_CACHE") || undefined;
  } catch {
    return undefined; // no --allow-env: use the default
  }
}

/** `$AUTOSCALE_LAB_CACHE`, else `<repo>/.cache/models`. */
export function defaultCacheDir(): string {
  const fromEnv = envCacheDir();
  if (fromEnv) return fromEnv;
  const here = new URL("../../.cache/models", import.meta.url);
  if (here.protocol === "file:") {
    return decodeURIComponent(here.pathname).replace(/\/$/, "");
  }
  return `${Deno.cwd()}/.cache/models`;
}

/** Hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function readIfExists(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function tempPath(dest: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(2)).join("");
  return `${dest}.part-${Deno.pid}-${rand}`;
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch { /* already gone */ }
}

/** Writes `bytes` to `dest` atomically (temporary file in the same folder, then rename). */
export async function writeFileAtomic(dest: string, bytes: Uint8Array): Promise<void> {
  const dir = dest.replace(/\/[^/]*$/, "") || ".";
  await Deno.mkdir(dir, { recursive: true });
  const tmp = tempPath(dest);
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, dest);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  /** Progress (`phase: "download"`, bytes). */
  onProgress?: (p: Progress) => void;
  /** Expected size, used when the server sends no Content-Length. */
  expectedSize?: number;
  /** No byte for this long aborts the download (default 30 s). */
  stallTimeoutMs?: number;
}

/** An error's message with its cause's (fetch's "fetch failed" hides the DNS/connect error there). */
function errorText(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err?.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err?.message ?? String(e)}${cause}`;
}

function offlineHint(url: string, dest: string, sha256: string): string {
  return `To proceed without network: download ${url} on a machine that has access, check its ` +
    `sha256 is ${sha256}, and copy it to ${dest}; or serve a local file with ` +
    `user_config.model: {path: /path/to/model.onnx}. Without a download, model "resnet50" runs ` +
    `the seeded build (real ResNet-50 compute, meaningless labels).`;
}

/**
 * Downloads `url` to `dest` once: streamed into a temporary file while hashing, checked against
 * `sha256`, then renamed into place. On any failure the temporary file is removed and a
 * {@link ModelError} (`download_failed` or `checksum_mismatch`) says what happened and how to
 * proceed offline. Resolves with the file's bytes.
 */
export async function downloadFile(
  url: string,
  dest: string,
  sha256: string,
  options: DownloadOptions = {},
): Promise<Uint8Array> {
  const want = sha256.toLowerCase();
  const stallMs = options.stallTimeoutMs ?? 30_000;
  const dir = dest.replace(/\/[^/]*$/, "") || ".";
  await Deno.mkdir(dir, { recursive: true });
  const ctrl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => ctrl.abort(new Error(`no data for ${stallMs / 1000} s`)),
      stallMs,
    );
  };
  arm();
  let res: Response;
  try {
    res = await fetch(url, { signal: ctrl.signal, redirect: "follow" });
  } catch (e) {
    clearTimeout(timer);
    const why = ctrl.signal.aborted ? String(ctrl.signal.reason?.message) : errorText(e);
    throw new ModelError(
      "download_failed",
      `could not download ${url}: ${why}. ${offlineHint(url, dest, want)}`,
      { cause: e },
    );
  }
  if (!res.ok || !res.body) {
    clearTimeout(timer);
    await res.body?.cancel();
    throw new ModelError(
      "download_failed",
      `could not download ${url}: HTTP ${res.status} ${res.statusText}. ${
        offlineHint(url, dest, want)
      }`,
    );
  }
  const total = Number(res.headers.get("content-length")) || options.expectedSize || 0;
  const tmp = tempPath(dest);
  const hash = createHash("sha256");
  const chunks: Uint8Array[] = [];
  let done = 0;
  let file: Deno.FsFile | null = null;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
    let lastReport = 0;
    for await (const chunk of res.body) {
      arm();
      hash.update(chunk);
      chunks.push(chunk);
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
      done += chunk.length;
      if (options.onProgress && (done - lastReport >= 1 << 20 || done === total)) {
        lastReport = done;
        options.onProgress({ phase: "download", done, total });
      }
    }
    file.close();
    file = null;
    const got = hash.digest("hex");
    if (got !== want) {
      throw new ModelError(
        "checksum_mismatch",
        `download of ${url} has sha256 ${got} (${done} bytes), expected ${want}; the file was ` +
          `discarded. Check the URL and the sha256 in the model spec.`,
      );
    }
    await Deno.rename(tmp, dest);
  } catch (e) {
    file?.close();
    await removeQuietly(tmp);
    if (e instanceof ModelError) throw e;
    const why = ctrl.signal.aborted ? String(ctrl.signal.reason?.message) : errorText(e);
    throw new ModelError(
      "download_failed",
      `download of ${url} failed after ${done} bytes: ${why}; nothing was kept. ${
        offlineHint(url, dest, want)
      }`,
      { cause: e },
    );
  } finally {
    clearTimeout(timer);
  }
  options.onProgress?.({ phase: "download", done, total: total || done });
  const bytes = new Uint8Array(done);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.length;
  }
  return bytes;
}

/** Builds (or reads from the cache) the seeded ResNet-50. */
async function seededResNet50(
  cacheDir: string,
  options: ResolveModelOptions,
): Promise<ResolvedModel> {
  const path = `${cacheDir}/resnet50-seeded-${SEEDED_RESNET50_SEED}.onnx`;
  const name = "resnet50 (seeded weights: labels are MEANINGLESS)";
  const cached = await readIfExists(path);
  if (cached) {
    const sha256 = sha256Hex(cached);
    if (sha256 === SEEDED_RESNET50_SHA256) {
      return {
        name,
        bytes: cached,
        pretrained: false,
        labelsMeaningful: false,
        sha256,
        source: path,
      };
    }
    options.log?.(
      `cached ${path} has sha256 ${sha256}, expected ${SEEDED_RESNET50_SHA256}: rebuilding`,
    );
  }
  options.log?.(
    `building seeded ResNet-50 into ${path} (random weights: predicted labels are MEANINGLESS; ` +
      `run \`deno task download-model\` for pretrained weights)`,
  );
  const { buildResNet50 } = await import("./resnet50.ts");
  const built = buildResNet50({ seed: SEEDED_RESNET50_SEED, onProgress: options.onProgress });
  const sha256 = sha256Hex(built.bytes);
  if (sha256 !== SEEDED_RESNET50_SHA256) {
    options.log?.(
      `warning: seeded build hashed ${sha256}, expected ${SEEDED_RESNET50_SHA256} ` +
        `(the builder changed; update SEEDED_RESNET50_SHA256)`,
    );
  }
  await writeFileAtomic(path, built.bytes);
  return {
    name,
    bytes: built.bytes,
    pretrained: false,
    labelsMeaningful: false,
    sha256,
    source: path,
  };
}

function absolutePath(path: string, baseDir?: string): string {
  if (path.startsWith("/")) return path;
  const base = baseDir ?? Deno.cwd();
  return `${base.replace(/\/$/, "")}/${path}`;
}

/**
 * Resolves a model spec to ONNX bytes (see the module doc). Not for `noop` or `emulate` specs
 * (serving runs those without ONNX). Throws {@link ModelError} with what went wrong and how to proceed.
 */
export async function resolveModel(
  spec: ModelSpec,
  options: ResolveModelOptions = {},
): Promise<ResolvedModel> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  switch (spec.kind) {
    case "resnet50": {
      const path = `${cacheDir}/${PRETRAINED_RESNET50.file}`;
      const bytes = await readIfExists(path);
      if (bytes) {
        const sha256 = sha256Hex(bytes);
        if (sha256 !== PRETRAINED_RESNET50.sha256) {
          throw new ModelError(
            "checksum_mismatch",
            `${path} has sha256 ${sha256}, expected ${PRETRAINED_RESNET50.sha256}: the file is ` +
              `damaged or not the zoo's; delete it and run \`deno task download-model\` again`,
          );
        }
        return {
          name: "resnet50 (pretrained, ONNX Model Zoo resnet50-v1-12)",
          bytes,
          pretrained: true,
          labelsMeaningful: true,
          sha256,
          source: path,
        };
      }
      return await seededResNet50(cacheDir, options);
    }
    case "path": {
      const path = absolutePath(spec.path, options.baseDir);
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(path);
      } catch (e) {
        throw new ModelError(
          "not_found",
          `cannot read model file ${path}: ${(e as Error).message}; check user_config.model.path ` +
            `(relative paths are relative to the config file's folder)`,
          { cause: e },
        );
      }
      const name = path.replace(/^.*\//, "");
      return {
        name,
        bytes,
        pretrained: true,
        labelsMeaningful: true,
        sha256: sha256Hex(bytes),
        source: path,
      };
    }
    case "url": {
      if (!/^[0-9a-f]{64}$/i.test(spec.sha256)) {
        throw new ModelError(
          "checksum_mismatch",
          `model url ${spec.url}: sha256 "${spec.sha256}" is not 64 hex digits`,
        );
      }
      const want = spec.sha256.toLowerCase();
      const base = (() => {
        try {
          return new URL(spec.url).pathname.replace(/^.*\//, "") || "model.onnx";
        } catch {
          throw new ModelError("download_failed", `model url "${spec.url}" is not a valid URL`);
        }
      })();
      const path = `${cacheDir}/downloads/${want.slice(0, 16)}-${base.replace(/[^\w.-]/g, "_")}`;
      let bytes = await readIfExists(path);
      if (bytes && sha256Hex(bytes) !== want) {
        options.log?.(`cached ${path} does not match sha256 ${want}: downloading again`);
        await removeQuietly(path);
        bytes = null;
      }
      if (!bytes) {
        options.log?.(`downloading ${spec.url} -> ${path}`);
        bytes = await downloadFile(spec.url, path, want, {
          onProgress: options.onProgress,
          stallTimeoutMs: options.downloadStallTimeoutMs,
        });
      }
      return {
        name: base,
        bytes,
        pretrained: true,
        labelsMeaningful: true,
        sha256: want,
        source: spec.url,
      };
    }
    case "noop":
    case "emulate":
      throw new ModelError(
        "not_found",
        `resolveModel() does not handle the ${spec.kind} model; serving runs it without ONNX`,
      );
  }
}
