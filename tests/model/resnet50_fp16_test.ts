import assert from "node:assert/strict";
import * as ortNode from "onnxruntime-node";
import { buildResNet50 } from "../../lib/model/resnet50.ts";

/** Four different deterministic pseudo-images in [0, 1), batched. */
function images(batch: number): Float32Array {
  const x = new Float32Array(batch * 3 * 224 * 224);
  let s = 7;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s >>> 8) / 16777216;
  }
  return x;
}

Deno.test("the fp16 ResNet-50 takes and returns float32, is half the size, and agrees with fp32 on top-1", async () => {
  const fp32 = buildResNet50();
  const fp16 = buildResNet50({ precision: "float16" });
  // Same seeded weights rounded to half: the file is about half as large.
  assert.ok(fp16.bytes.length < fp32.bytes.length * 0.51, `${fp16.bytes.length} bytes`);
  assert.equal(fp16.parameters, fp32.parameters);
  assert.equal(fp16.nodes, fp32.nodes + 2); // a Cast in front, a Cast behind
  const batch = 4;
  const x = images(batch);
  const run = async (bytes: Uint8Array) => {
    const session = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
    try {
      const out = await session.run({
        input: new ortNode.Tensor("float32", x, [batch, 3, 224, 224]),
      });
      assert.equal(out.output.type, "float32");
      assert.deepEqual(out.output.dims, [batch, 1000]);
      return out.output.data as Float32Array;
    } finally {
      await session.release();
    }
  };
  const a = await run(fp32.bytes);
  const b = await run(fp16.bytes);
  const top1 = (l: Float32Array, i: number) => {
    let best = 0;
    for (let c = 1; c < 1000; c++) if (l[i * 1000 + c] > l[i * 1000 + best]) best = c;
    return best;
  };
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  for (let i = 0; i < batch; i++) assert.equal(top1(b, i), top1(a, i), `image ${i}`);
  // Half precision: close, not equal (the H200 run measured 0.038 at most).
  assert.ok(maxDiff > 0 && maxDiff < 0.2, `max |fp32 - fp16| = ${maxDiff}`);
});
