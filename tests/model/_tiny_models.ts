/**
 * Test helper: tiny ONNX models built with onnx-proto, fast to load on every backend.
 *
 * @module
 */

import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
const onnx: any = (onnxProto as any).onnx;

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: {
          dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  });
}

function model(nodes: unknown[], inputs: unknown[], outputs: unknown[]): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: "tiny",
    node: nodes,
    input: inputs,
    output: outputs,
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "autoscale-lab tests",
    graph,
  })).finish();
}

/**
 * An "image classifier" whose 3 class scores are the mean of each colour channel:
 * input `pixels` float32 [N,size,size,3] (NHWC) -> ReduceMean over H,W -> output `scores` [N,3].
 */
export function channelMeanNhwc(size: number): Uint8Array {
  return model(
    [onnx.NodeProto.create({
      opType: "ReduceMean",
      input: ["pixels"],
      output: ["scores"],
      attribute: [
        onnx.AttributeProto.create({ name: "axes", type: 7, ints: [1, 2] }),
        onnx.AttributeProto.create({ name: "keepdims", type: 2, i: 0 }),
      ],
    })],
    [valueInfo("pixels", ["N", size, size, 3])],
    [valueInfo("scores", ["N", 3])],
  );
}

/** A model whose input is a plain vector (not an image): `x` [N,10] -> Relu -> `y` [N,10]. */
export function vectorModel(): Uint8Array {
  return model(
    [onnx.NodeProto.create({ opType: "Relu", input: ["x"], output: ["y"] })],
    [valueInfo("x", ["N", 10])],
    [valueInfo("y", ["N", 10])],
  );
}
