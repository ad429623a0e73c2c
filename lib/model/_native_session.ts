/**
 * Private: native sessions through the optimized-model cache (`_optimized_cache.ts`): load the
 * cached optimized graph when there is one, else optimize and save it for the next replica.
 *
 * @module
 */
import { NATIVE_OPTIMIZATION_LEVEL, type OrtRuntime, type OrtSession } from "./_ort.ts";
import {
  fileExists,
  logOnce,
  optimizedFileName,
  removeQuietly,
  removeStaleTemporaries,
  temporaryPathFor,
} from "./_optimized_cache.ts";

/** See {@link Classifier.optimizedCache}. */
export type OptimizedCacheOutcome = "hit" | "written" | "off";

/** Where and under which model hash the native backend caches optimized graphs. */
export interface NativeCache {
  dir: string;
  modelSha256: string;
  log: (line: string) => void;
}

/**
 * Creates a native session through the optimized-model cache: from the cached optimized graph
 * (optimizations disabled) when there is one, else optimizing as usual while ORT saves the result
 * to a temporary file that is renamed into place once create succeeded. A cached file that fails
 * to load is deleted (logged once) and the model is optimized again; a cache folder that cannot be
 * written means a plain create.
 */
export async function createNativeCached(
  runtime: OrtRuntime,
  bytes: Uint8Array,
  cache: NativeCache,
): Promise<{ session: OrtSession; outcome: OptimizedCacheOutcome }> {
  const name = optimizedFileName({
    modelSha256: cache.modelSha256,
    ortVersion: runtime.version,
    level: NATIVE_OPTIMIZATION_LEVEL,
  });
  const finalPath = `${cache.dir.replace(/\/+$/, "")}/${name}`;
  if (await fileExists(finalPath)) {
    try {
      const session = await runtime.createSession(finalPath, {
        graphOptimizationLevel: "disabled",
      });
      return { session, outcome: "hit" };
    } catch (e) {
      logOnce(
        cache.log,
        `bad:${finalPath}`,
        `optimized-model cache: ${finalPath} could not be loaded (${
          (e as Error).message ?? e
        }); deleted it and optimizing the model again`,
      );
      await removeQuietly(finalPath);
    }
  }
  let tmp: string | null = null;
  try {
    await Deno.mkdir(cache.dir, { recursive: true });
    await removeStaleTemporaries(cache.dir);
    tmp = temporaryPathFor(finalPath);
  } catch (e) {
    logOnce(
      cache.log,
      `dir:${cache.dir}`,
      `optimized-model cache: cannot use ${cache.dir} (${(e as Error).message}); ` +
        `sessions are optimized from scratch (needs --allow-read and --allow-write there)`,
    );
  }
  if (tmp !== null) {
    let session: OrtSession | null = null;
    try {
      session = await runtime.createSession(bytes, { optimizedModelFilePath: tmp });
    } catch {
      // Retried below without saving: a model error is then reported as ORT words it.
    }
    if (session) {
      try {
        await Deno.rename(tmp, finalPath);
      } catch {
        // Another replica renamed its (identical) file first, or the folder went away.
      }
      await removeQuietly(tmp);
      return { session, outcome: "written" };
    }
    await removeQuietly(tmp);
  }
  return { session: await runtime.createSession(bytes), outcome: "off" };
}
