/**
 * An architecture-faithful ResNet-50 with seeded weights, written as ONNX bytes.
 *
 * Topology: torchvision `resnet50` (v1.5: the stride of a downsampling bottleneck sits on its
 * 3x3 convolution), inference form with BatchNormalization folded into each convolution's bias,
 * so the graph is what an exported-and-optimised torchvision model runs: stem Conv7x7/2 + Relu +
 * MaxPool3x3/2, stages of [3, 4, 6, 3] bottlenecks (widths 64/128/256/512, expansion 4, 1x1
 * projection shortcut on each stage's first block), Add + Relu, GlobalAveragePool, Flatten,
 * Gemm -> 1000 logits. Input `input` float32 `[N,3,224,224]` (N dynamic), output `output`
 * float32 `[N,1000]`. Parameters: 25,530,472 (torchvision counts 25,557,032 with BN's separate
 * scale and shift); compute: the same ~4.1 GFLOPs per image.
 *
 * The weights are random (He-uniform from a mulberry32 stream), so **the labels it predicts are
 * meaningless**: it exists to give the service ResNet-50's real compute cost when no pretrained
 * weights are available. Same seed => byte-identical file (only integer arithmetic, `Math.sqrt`
 * and float32 rounding are involved, all exactly specified by IEEE 754).
 *
 * @module
 */

import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
const onnx: any = (onnxProto as any).onnx;

/** Default seed of the seeded build (part of the cache file name). */
export const RESNET50_DEFAULT_SEED = 42;

/** Progress of a long operation: `done` of `total` units in `phase`. */
export interface Progress {
  /** What is happening, e.g. `"build"`, `"encode"`, `"download"`. */
  phase: string;
  /** Units done so far. */
  done: number;
  /** Units in all (0 when unknown). */
  total: number;
}

/** Options of {@link buildResNet50}. */
export interface BuildResNet50Options {
  /** PRNG seed (default {@link RESNET50_DEFAULT_SEED}). */
  seed?: number;
  /** Called as weights are generated (`phase: "build"`, units = parameters) and once encoded. */
  onProgress?: (p: Progress) => void;
  /**
   * Weight and activation precision (default `"float32"`). `"float16"` stores every weight as
   * IEEE half (the same seeded values, rounded) and computes in half between a Cast of the
   * float32 input and a Cast of the logits back to float32, so callers see the same float32
   * input and output; for GPUs with `shader-f16`. The float32 file is unchanged by this option.
   */
  precision?: "float32" | "float16";
}

/** What {@link buildResNet50} produced. */
export interface BuiltModel {
  /** The serialised ONNX ModelProto. */
  bytes: Uint8Array;
  /** Number of float parameters (weights and biases). */
  parameters: number;
  /** Number of graph nodes. */
  nodes: number;
}

/** Exact parameter count of the graph built by {@link buildResNet50}. */
export const RESNET50_PARAMETERS = 25_530_472;

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG; returns uint32 values. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const FLOAT16 = 10; // TensorProto.DataType.FLOAT16
const ATTR_INT = 2;
const ATTR_INTS = 7;

function intsAttr(name: string, ints: number[]): unknown {
  return onnx.AttributeProto.create({ name, type: ATTR_INTS, ints });
}

function intAttr(name: string, i: number): unknown {
  return onnx.AttributeProto.create({ name, type: ATTR_INT, i });
}

/**
 * Builds the seeded ResNet-50 (see the module doc) and returns its ONNX bytes.
 * Takes about 2-3 s and ~400 MB of memory at peak on a 2-core machine.
 */
export function buildResNet50(options: BuildResNet50Options = {}): BuiltModel {
  const seed = options.seed ?? RESNET50_DEFAULT_SEED;
  const onProgress = options.onProgress;
  const half = options.precision === "float16";
  const next = mulberry32(seed);
  const initializers: unknown[] = [];
  const nodes: unknown[] = [];
  let parameters = 0;
  let lastReported = 0;

  const report = (force = false) => {
    if (!onProgress) return;
    if (force || parameters - lastReported >= 2_000_000) {
      lastReported = parameters;
      onProgress({ phase: "build", done: parameters, total: RESNET50_PARAMETERS });
    }
  };

  /** He-uniform tensor: U(-a, a), a = scale * sqrt(6 / fanIn). */
  const weight = (name: string, dims: number[], fanIn: number, scale = 1): string => {
    const n = dims.reduce((x, y) => x * y, 1);
    const f32 = new Float32Array(n);
    const a = scale * Math.sqrt(6 / fanIn);
    const k = (2 * a) / 4294967296;
    for (let i = 0; i < n; i++) f32[i] = next() * k - a;
    push(name, dims, f32);
    return name;
  };
  /** Small bias: U(-0.05, 0.05) (stands in for folded BatchNorm shifts). */
  const bias = (name: string, n: number): string => {
    const f32 = new Float32Array(n);
    const k = 0.1 / 4294967296;
    for (let i = 0; i < n; i++) f32[i] = next() * k - 0.05;
    push(name, [n], f32);
    return name;
  };
  const push = (name: string, dims: number[], f32: Float32Array) => {
    const raw = half ? new Float16Array(f32) : f32;
    initializers.push(onnx.TensorProto.create({
      name,
      dims,
      dataType: half ? FLOAT16 : FLOAT,
      rawData: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
    }));
    parameters += f32.length;
    report();
  };

  const conv = (
    name: string,
    x: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    scale = 1,
  ): string => {
    const w = weight(`${name}.weight`, [cout, cin, k, k], cin * k * k, scale);
    const b = bias(`${name}.bias`, cout);
    const y = `${name}.out`;
    const pad = (k - 1) >> 1;
    nodes.push(onnx.NodeProto.create({
      name,
      opType: "Conv",
      input: [x, w, b],
      output: [y],
      attribute: [
        intsAttr("dilations", [1, 1]),
        intAttr("group", 1),
        intsAttr("kernel_shape", [k, k]),
        intsAttr("pads", [pad, pad, pad, pad]),
        intsAttr("strides", [stride, stride]),
      ],
    }));
    return y;
  };
  const relu = (name: string, x: string): string => {
    const y = `${name}.out`;
    nodes.push(onnx.NodeProto.create({ name, opType: "Relu", input: [x], output: [y] }));
    return y;
  };

  const cast = (name: string, x: string, y: string, to: number) => {
    nodes.push(onnx.NodeProto.create({
      name,
      opType: "Cast",
      input: [x],
      output: [y],
      attribute: [intAttr("to", to)],
    }));
    return y;
  };

  // Stem.
  const input = half ? cast("input.cast", "input", "input.f16", FLOAT16) : "input";
  let x = relu("relu", conv("conv1", input, 3, 64, 7, 2));
  nodes.push(onnx.NodeProto.create({
    name: "maxpool",
    opType: "MaxPool",
    input: [x],
    output: ["maxpool.out"],
    attribute: [
      intsAttr("kernel_shape", [3, 3]),
      intsAttr("pads", [1, 1, 1, 1]),
      intsAttr("strides", [2, 2]),
    ],
  }));
  x = "maxpool.out";

  // Bottleneck stages (torchvision v1.5: stride on conv2, the 3x3).
  let cin = 64;
  const stages: [number, number, number][] = [[3, 64, 1], [4, 128, 2], [6, 256, 2], [3, 512, 2]];
  stages.forEach(([blocks, width, firstStride], s) => {
    for (let b = 0; b < blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      const stride = b === 0 ? firstStride : 1;
      const cout = width * 4;
      let y = relu(`${p}.relu1`, conv(`${p}.conv1`, x, cin, width, 1, 1));
      y = relu(`${p}.relu2`, conv(`${p}.conv2`, y, width, width, 3, stride));
      // Last conv scaled down so random activations stay bounded through 16 residual adds
      // (the role torchvision's zero_init_residual plays at init).
      y = conv(`${p}.conv3`, y, width, cout, 1, 1, 0.2);
      const shortcut = b === 0 ? conv(`${p}.downsample`, x, cin, cout, 1, stride) : x;
      const sum = `${p}.add.out`;
      nodes.push(
        onnx.NodeProto.create({
          name: `${p}.add`,
          opType: "Add",
          input: [y, shortcut],
          output: [sum],
        }),
      );
      x = relu(`${p}.relu3`, sum);
      cin = cout;
    }
  });

  // Head.
  nodes.push(
    onnx.NodeProto.create({
      name: "avgpool",
      opType: "GlobalAveragePool",
      input: [x],
      output: ["avgpool.out"],
    }),
  );
  nodes.push(onnx.NodeProto.create({
    name: "flatten",
    opType: "Flatten",
    input: ["avgpool.out"],
    output: ["flatten.out"],
    attribute: [intAttr("axis", 1)],
  }));
  const fcW = weight("fc.weight", [1000, 2048], 2048);
  const fcB = bias("fc.bias", 1000);
  nodes.push(onnx.NodeProto.create({
    name: "fc",
    opType: "Gemm",
    input: ["flatten.out", fcW, fcB],
    output: [half ? "fc.out" : "output"],
    attribute: [
      onnx.AttributeProto.create({ name: "alpha", type: 1, f: 1 }),
      onnx.AttributeProto.create({ name: "beta", type: 1, f: 1 }),
      intAttr("transB", 1),
    ],
  }));
  if (half) cast("output.cast", "fc.out", "output", FLOAT);
  report(true);

  const tensorType = (dims: (number | string)[]) => ({
    tensorType: {
      elemType: FLOAT,
      shape: {
        dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })),
      },
    },
  });
  const graph = onnx.GraphProto.create({
    name: "resnet50_seeded",
    node: nodes,
    initializer: initializers,
    input: [onnx.ValueInfoProto.create({ name: "input", type: tensorType(["N", 3, 224, 224]) })],
    output: [onnx.ValueInfoProto.create({ name: "output", type: tensorType(["N", 1000]) })],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "autoscale-lab",
    producerVersion: "1",
    docString:
      "ResNet-50 (torchvision v1.5 topology, BN folded) with SEEDED RANDOM weights: labels are meaningless.",
    metadataProps: [
      { key: "autoscale_lab.pretrained", value: "false" },
      { key: "autoscale_lab.seed", value: String(seed) },
      ...(half ? [{ key: "autoscale_lab.precision", value: "float16" }] : []),
    ],
    graph,
  });
  const bytes: Uint8Array = onnx.ModelProto.encode(model).finish();
  onProgress?.({ phase: "encode", done: 1, total: 1 });
  return { bytes, parameters, nodes: nodes.length };
}
