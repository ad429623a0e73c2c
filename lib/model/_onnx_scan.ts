/**
 * Private: a cheap structural check that bytes are an ONNX ModelProto, by walking the top-level
 * protobuf fields only (large fields are skipped by length, nothing is decoded). Gives a clear
 * "not an ONNX model" error for any backend before onnxruntime is even loaded.
 *
 * @module
 */

/** Top-level ModelProto field numbers (onnx.proto3). */
const MODEL_FIELDS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 20, 25, 26]);

/** Returns `null` when the bytes look like an ONNX model, else why they do not. */
export function whyNotOnnx(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return "the file is empty";
  let pos = 0;
  let sawGraph = false;
  let sawIrVersion = false;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new Error("truncated varint");
      const b = bytes[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error("varint too long");
  };
  try {
    while (pos < bytes.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (!MODEL_FIELDS.has(field)) return `unexpected top-level field ${field} at byte ${pos}`;
      if (wire === 0) {
        varint();
        if (field === 1) sawIrVersion = true;
      } else if (wire === 2) {
        const len = varint();
        if (pos + len > bytes.length) return `field ${field} runs past the end of the file`;
        pos += len;
        if (field === 7) sawGraph = true;
      } else {
        return `unexpected wire type ${wire} for field ${field}`;
      }
    }
  } catch (e) {
    return (e as Error).message;
  }
  if (!sawGraph) return "no graph in the file";
  if (!sawIrVersion) return "no ir_version in the file";
  return null;
}
