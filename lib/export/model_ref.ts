/**
 * Which model an exported deployment serves: a cluster has no `.cache/models`, so `resnet50`
 * becomes the pretrained ResNet-50's URL and sha256, a local file needs `--model-uri`, and a URL
 * travels as is.
 *
 * @module
 */
import type { ModelSpec } from "../config/mod.ts";
import { PRETRAINED_RESNET50, sha256Hex } from "../model/mod.ts";
import type { ExportModel, ExportOptions } from "./options.ts";

/** ImageNet labels (torchvision order, one per line) as the Ray app downloads them. */
export const IMAGENET_LABELS_REF = {
  url: "https://raw.githubusercontent.com/pytorch/hub/master/imagenet_classes.txt",
  /** The file in ../shared/fixtures/imagenet_classes.txt (the same 1000 lines). */
  sha256: "1f386e0d1cb6e28b9c2dac651c3dea6801e98ad1b41a14ce6bb1a093d72069f5",
} as const;

/** Raised when the model cannot be referenced from a cluster; the message says what to pass. */
export class ExportError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ExportError";
  }
}

/** Resolves `spec` (from `user_config.model`) to what a pod can fetch. */
export async function exportModel(spec: ModelSpec, options: ExportOptions): Promise<ExportModel> {
  if (options.modelUri !== undefined) {
    let sha256 = options.modelSha256;
    if (sha256 === undefined && spec.kind === "path") {
      sha256 = sha256Hex(await Deno.readFile(spec.path));
    }
    if (sha256 === undefined && spec.kind === "url" && spec.url === options.modelUri) {
      sha256 = spec.sha256;
    }
    if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) {
      throw new ExportError(
        `--model-uri ${options.modelUri} needs --model-sha256 <64 hex digits> (the pod checks the download)`,
      );
    }
    return { kind: "url", url: options.modelUri, sha256 };
  }
  switch (spec.kind) {
    case "noop":
      return { kind: "noop", serviceTimeMs: spec.service_time_ms };
    case "resnet50":
      return { kind: "url", url: PRETRAINED_RESNET50.url, sha256: PRETRAINED_RESNET50.sha256 };
    case "url":
      return { kind: "url", url: spec.url, sha256: spec.sha256 };
    case "emulate":
      throw new ExportError(
        `user_config.model is emulated (emulate:${spec.spec}): it holds requests without computing, ` +
          `a lab device that the exported Ray Serve app does not implement; export the real model ` +
          `(model: resnet50, or --model-uri URL --model-sha256 HEX)`,
      );
    case "path":
      throw new ExportError(
        `user_config.model is a local file (${spec.path}), which a cluster cannot read: upload it ` +
          `and pass --model-uri URL (its sha256 is computed from the local file)`,
      );
  }
}
