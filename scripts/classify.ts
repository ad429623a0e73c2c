/**
 * `deno task classify <image path | http(s) URI> [--model resnet50|path.onnx] [--backend auto]
 * [--top 5] [--threads N] [--json]`: classifies one image and prints the top-k classes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseModelSpec } from "../lib/config/mod.ts";
import type { BackendName } from "../lib/config/mod.ts";
import {
  checkImageBytes,
  createClassifier,
  DEFAULT_MAX_IMAGE_BYTES,
  ImageError,
  ModelError,
  resolveModel,
  stderrProgress,
} from "../lib/model/mod.ts";

const USAGE = `usage: deno task classify <image path | http(s) URI> [options]
  --model <m>      resnet50 (default), or a path to an .onnx ImageNet classifier
  --backend <b>    auto (default) | native | wasm | webgpu
  --top <k>        how many classes to print (default 5)
  --threads <n>    threads for the session (default: all CPUs)
  --max-bytes <n>  largest image accepted (default ${DEFAULT_MAX_IMAGE_BYTES})
  --json           print the result as JSON`;

const BACKENDS: BackendName[] = ["auto", "native", "wasm", "webgpu"];

function fail(message: string, code = 2): never {
  console.error(`classify: ${message}`);
  Deno.exit(code);
}

/** Reads a local file or downloads an http(s) URI, with a byte limit and a 10 s timeout. */
async function readImage(source: string, maxBytes: number): Promise<Uint8Array> {
  if (!/^https?:\/\//i.test(source)) {
    try {
      const stat = await Deno.stat(source);
      if (stat.size > maxBytes) {
        throw new ImageError(
          "too_large",
          `image ${source} is ${stat.size} bytes, over the limit of ${maxBytes} (--max-bytes)`,
        );
      }
      return await Deno.readFile(source);
    } catch (e) {
      if (e instanceof ImageError) throw e;
      fail(`cannot read image ${source}: ${(e as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const err = e as Error & { cause?: Error };
    fail(`cannot fetch ${source}: ${err.message}${err.cause ? `: ${err.cause.message}` : ""}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    fail(`cannot fetch ${source}: HTTP ${res.status} ${res.statusText}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new ImageError(
        "too_large",
        `image at ${source} is over the limit of ${maxBytes} bytes (--max-bytes)`,
      );
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.length;
  }
  return bytes;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        model: { type: "string", default: "resnet50" },
        backend: { type: "string", default: "auto" },
        top: { type: "string", default: "5" },
        threads: { type: "string" },
        "max-bytes": { type: "string", default: String(DEFAULT_MAX_IMAGE_BYTES) },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1) fail(`expected one image path or URI\n${USAGE}`);
  const backend = values.backend as BackendName;
  if (!BACKENDS.includes(backend)) {
    fail(`--backend must be one of ${BACKENDS.join(", ")}, got "${values.backend}"`);
  }
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1 || top > 1000) {
    fail(`--top must be an integer 1..1000, got "${values.top}"`);
  }
  const threads = values.threads === undefined
    ? navigator.hardwareConcurrency
    : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) {
    fail(`--threads must be an integer >= 1, got "${values.threads}"`);
  }
  const maxBytes = Number(values["max-bytes"]);
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    fail(`--max-bytes must be a positive integer, got "${values["max-bytes"]}"`);
  }
  let spec;
  try {
    spec = parseModelSpec(values.model!);
  } catch (e) {
    fail((e as Error).message);
  }
  if (spec.kind === "noop" || spec.kind === "emulate") {
    fail(`--model ${spec.kind} has no classifier; use resnet50 or an .onnx path`);
  }

  const log = (line: string) => console.error(line);
  const source = positionals[0];
  const image = await readImage(source, maxBytes);
  checkImageBytes(image, { maxBytes, source }); // fail fast, before loading the model
  const model = await resolveModel(spec, { onProgress: stderrProgress("model"), log });
  if (!model.labelsMeaningful) {
    console.error(
      "WARNING: this ResNet-50 has SEEDED RANDOM weights: the labels below are MEANINGLESS " +
        "(it has real ResNet-50 compute cost). Run `deno task download-model` for pretrained weights.",
    );
  }
  const classifier = await createClassifier(model.bytes, { backend, threads, log });
  try {
    const result = await classifier.classify(image, { top, maxBytes, source });
    if (values.json) {
      console.log(JSON.stringify(
        {
          image: source,
          model: model.name,
          model_sha256: model.sha256,
          pretrained: model.pretrained,
          labels_meaningful: model.labelsMeaningful,
          backend: classifier.backend,
          threads: classifier.threads,
          ...result,
        },
        null,
        2,
      ));
      return;
    }
    console.log(`image:   ${source}`);
    console.log(
      `model:   ${model.name}${model.labelsMeaningful ? "" : "  <-- labels MEANINGLESS"}`,
    );
    console.log(`backend: ${classifier.backend} (${classifier.threads} threads)`);
    console.log("");
    console.log(" rank  class  probability  label");
    result.top.forEach((p, i) => {
      console.log(
        `${String(i + 1).padStart(5)}  ${String(p.index).padStart(5)}  ${
          p.probability.toFixed(4).padStart(11)
        }  ${p.label}`,
      );
    });
    console.log("");
    console.log(
      `preprocess ${result.preprocessMs.toFixed(1)} ms, inference ${
        result.inferenceMs.toFixed(1)
      } ms`,
    );
  } finally {
    await classifier.close();
  }
}

try {
  await main();
} catch (e) {
  if (e instanceof ImageError) fail(`${e.message} [ImageError ${e.code}]`, 2);
  if (e instanceof ModelError) fail(`${e.message} [ModelError ${e.code}]`, 3);
  throw e;
}
