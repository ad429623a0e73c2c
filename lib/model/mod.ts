/**
 * The model path of the service: model store (seeded ResNet-50 build, cache, downloads),
 * ImageNet labels, sharp preprocessing and the ONNX Runtime classifier (native / wasm / webgpu).
 *
 * Importing this module is cheap: onnxruntime, sharp and the ONNX protobuf schema are loaded
 * lazily, on the first call that needs them, so the noop model path never pays for them. Every
 * function works inside a Web Worker.
 *
 * ```ts
 * const model = await resolveModel({ kind: "resnet50" });
 * const classifier = await createClassifier(model.bytes, { backend: "auto", threads: 1 });
 * const { top } = await classifier.classify(await Deno.readFile("dog.jpg"), { top: 5 });
 * ```
 *
 * `auto` judges whole-deployment layouts when given the deployment's facts (`chooseLayout`):
 *
 * ```ts
 * const { backend, reason } = chooseLayout(measuredTimings, {
 *   maxReplicas: 16, numCpus: 1, clusterCpus: 16, machineCpus: 16,
 *   maxBatchSize: 32, maxOngoingRequests: 32,
 * }); // CPU backends x 16 replicas vs WebGPU's one device, at batch 32
 * ```
 *
 * @module
 */

import { IMAGENET_CLASSES } from "./imagenet_labels.ts";
import type { BuildResNet50Options, BuiltModel } from "./resnet50.ts";

export { ImageError, type ImageErrorCode, ModelError, type ModelErrorCode } from "./errors.ts";
export {
  ACCEPTED_IMAGE_FORMATS,
  checkImageBytes,
  type CheckImageBytesOptions,
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MAX_IMAGE_PIXELS,
  detectImageFormat,
  type ImageFormat,
} from "./image_format.ts";
export {
  DEFAULT_RESIZE_KERNEL,
  type ImageLayout,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalizeRgb,
  type PreprocessedImage,
  preprocessImage,
  type PreprocessOptions,
  resizedSize,
  type ResizeKernel,
  roundHalfEven,
} from "./preprocess.ts";
export {
  type Classification,
  type Classifier,
  type ClassifyOptions,
  createClassifier,
  type CreateClassifierOptions,
  type ModelIo,
  type OptimizedCacheOutcome,
  type Prediction,
  topK,
} from "./classifier.ts";
export {
  defaultCacheDir,
  downloadFile,
  type DownloadOptions,
  PRETRAINED_RESNET50,
  type Progress,
  type ResolvedModel,
  resolveModel,
  type ResolveModelOptions,
  SEEDED_RESNET50_SEED,
  SEEDED_RESNET50_SHA256,
  sha256Hex,
} from "./store.ts";
export {
  type BackendChoice,
  type BackendTiming,
  chooseByMeasurement,
  type ChooseOptions,
  describeTimings,
  pickFastest,
} from "./backend_choice.ts";
export {
  chooseLayout,
  cpuReplicas,
  type DeploymentFacts,
  describeLayout,
  formableBatch,
  type LayoutChoice,
  type LayoutFigure,
} from "./layout_choice.ts";
export { type ConcreteBackend, probeWebGpu, threadsFor, type WebGpuProbe } from "./_ort.ts";
export type { BuildResNet50Options, BuiltModel } from "./resnet50.ts";
export { stderrProgress } from "./progress.ts";
export type { BackendName, ModelSpec } from "../config/types.ts";

/** The 1000 ImageNet-1k class names, index = class id (258 is "Samoyed"). */
export function imagenetLabels(): string[] {
  return [...IMAGENET_CLASSES];
}

/**
 * Builds the seeded ResNet-50 in memory (see `resnet50.ts`); loads the ONNX schema lazily.
 * Most callers want {@link resolveModel}, which caches the build.
 */
export async function buildResNet50(options: BuildResNet50Options = {}): Promise<BuiltModel> {
  const m = await import("./resnet50.ts");
  return m.buildResNet50(options);
}
