/**
 * Private: what a session's metadata says about an image classifier's input (name, layout, side),
 * with a clear refusal for models that are not image classifiers.
 *
 * @module
 */
import { ModelError } from "./errors.ts";
import type { ImageLayout } from "./preprocess.ts";
import type { OrtSession } from "./_ort.ts";

/** What the classifier learned from the model's own metadata. */
export interface ModelIo {
  /** Name of the image input. */
  inputName: string;
  /** Name of the logits output. */
  outputName: string;
  /** Input layout. */
  layout: ImageLayout;
  /** Square input side (224 unless the model says otherwise). */
  size: number;
  /** Number of output classes. */
  classes: number;
  /** 1 when the model has a background class at index 0 (1001 outputs), else 0. */
  labelOffset: number;
}

/** `[1,3,224,224]`, or `[unknown]`. */
export function describeShape(shape: readonly (number | string)[] | undefined): string {
  return shape ? `[${shape.join(",")}]` : "[unknown]";
}

/** Reads input name, layout and size from the session's metadata; rejects non-image models. */
export function readIo(session: OrtSession): Omit<ModelIo, "classes" | "labelOffset"> {
  const inputs = session.inputNames;
  const meta = (session.inputMetadata ?? [])[0] as
    | { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }
    | undefined;
  const outputName = session.outputNames[0];
  if (inputs.length !== 1) {
    throw new ModelError(
      "not_image_classifier",
      `model has ${inputs.length} inputs (${inputs.join(", ")}); an image classifier has one ` +
        `float32 input shaped [N,3,H,W] or [N,H,W,3]`,
    );
  }
  const name = inputs[0];
  if (!meta || !meta.isTensor || !meta.shape) {
    return { inputName: name, outputName, layout: "NCHW", size: 224 };
  }
  const shape = meta.shape;
  const bad = (why: string) =>
    new ModelError(
      "not_image_classifier",
      `model input "${name}" is ${meta.type} ${describeShape(shape)}: ${why}; an image ` +
        `classifier takes float32 [N,3,H,W] (NCHW) or [N,H,W,3] (NHWC)`,
    );
  if (meta.type !== "float32") throw bad("not float32");
  if (shape.length !== 4) throw bad(`rank ${shape.length}, not 4`);
  let layout: ImageLayout;
  let hw: (number | string)[];
  if (shape[1] === 3) {
    layout = "NCHW";
    hw = [shape[2], shape[3]];
  } else if (shape[3] === 3) {
    layout = "NHWC";
    hw = [shape[1], shape[2]];
  } else {
    throw bad("no dimension of 3 colour channels");
  }
  const fixed = hw.filter((d): d is number => typeof d === "number" && d > 0);
  if (fixed.length === 2 && fixed[0] !== fixed[1]) throw bad("input is not square");
  const size = fixed[0] ?? 224;
  if (size < 8) throw bad(`side ${size} is too small for an image`);
  if (typeof shape[0] === "number" && shape[0] > 1) throw bad(`fixed batch of ${shape[0]}`);
  return { inputName: name, outputName, layout, size };
}
