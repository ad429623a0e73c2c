/**
 * `deno task download-model [--cache-dir DIR] [--url URL] [--force]`: downloads the ONNX Model
 * Zoo's pretrained ResNet-50 (resnet50-v1-12, sha256 from the zoo's Git LFS pointer) into the model
 * cache, where `user_config.model: resnet50` then finds it. `--url` points at a mirror of the
 * same file (the checksum still has to match).
 *
 * @module
 */

import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import {
  defaultCacheDir,
  downloadFile,
  ModelError,
  PRETRAINED_RESNET50,
  sha256Hex,
  stderrProgress,
} from "../lib/model/mod.ts";

const USAGE = `usage: deno task download-model [--cache-dir DIR] [--url URL] [--force]
  Downloads the pretrained ResNet-50 from the ONNX Model Zoo
  (${PRETRAINED_RESNET50.file}, ${PRETRAINED_RESNET50.size} bytes, sha256 ${PRETRAINED_RESNET50.sha256})
  into the model cache (default ${defaultCacheDir()}, or $AUTOSCALE_LAB_CACHE).
  --url URL        download the same file from a mirror
  --stall-timeout-s N   abort when no data arrives for N seconds (default 30)
  --force          download again even if a valid file is cached`;

const c: Cli = cli("download-model", USAGE);

async function main(): Promise<void> {
  const { values } = c.parse({
    "cache-dir": { type: "string" },
    url: { type: "string", default: PRETRAINED_RESNET50.url },
    "stall-timeout-s": { type: "string", default: "30" },
    force: { type: "boolean", default: false },
  });
  const stall = c.number("stall-timeout-s", values["stall-timeout-s"], { above: 0 })!;
  const cacheDir = values["cache-dir"] ?? defaultCacheDir();
  const dest = `${cacheDir}/${PRETRAINED_RESNET50.file}`;
  if (!values.force) {
    try {
      const existing = await Deno.readFile(dest);
      if (sha256Hex(existing) === PRETRAINED_RESNET50.sha256) {
        console.log(`already downloaded: ${dest} (sha256 ${PRETRAINED_RESNET50.sha256})`);
        return;
      }
      console.error(`${dest} does not match the expected sha256: downloading again`);
    } catch { /* not cached yet */ }
  }
  console.error(`downloading ${values.url}\n  -> ${dest}`);
  await downloadFile(values.url!, dest, PRETRAINED_RESNET50.sha256, {
    expectedSize: PRETRAINED_RESNET50.size,
    onProgress: stderrProgress("resnet50-v1-12.onnx"),
    stallTimeoutMs: stall * 1000,
  });
  console.log(`saved ${dest} (sha256 ${PRETRAINED_RESNET50.sha256} verified)`);
  console.log(`user_config.model: resnet50 now serves the pretrained weights.`);
}

try {
  await main();
} catch (e) {
  if (e instanceof ModelError) c.fail(e.message, EXIT_CODES.failed);
  throw e;
}
