import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { imagenetLabels, preprocessImage, sha256Hex } from "../../lib/model/mod.ts";
import { IMAGENET_LABELS_REF } from "../../lib/export/mod.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const FIXTURES = decodeURIComponent(new URL("../../../shared/fixtures/", import.meta.url).pathname);

/** The first python3 that imports PIL and numpy (Debian's python3-pil / python3-numpy). */
function findPython(): string | null {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    try {
      const out = new Deno.Command(candidate, {
        args: ["-c", "import PIL, numpy"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) return candidate;
    } catch { /* not installed */ }
  }
  return null;
}

const python = findPython();
const fixturesPresent = (() => {
  try {
    Deno.statSync(`${FIXTURES}dog.jpg`);
    return true;
  } catch {
    return false;
  }
})();
if (!python) {
  console.error(
    "skipping the Ray app's Python tests: no python3 with PIL and numpy (apt-get install python3-pil python3-numpy)",
  );
} else if (!fixturesPresent) {
  console.error(`skipping the Ray app's Python tests: ${FIXTURES} is absent`);
}

Deno.test({
  name:
    "the Ray Serve app imports with a stub ray.serve, answers Samoyed, and preprocesses the dog as the project does",
  ignore: !python || !fixturesPresent,
  async fn() {
    const dog = await Deno.readFile(`${FIXTURES}dog.jpg`);
    const { data } = await preprocessImage(dog);
    const tensorPath = await Deno.makeTempFile({ suffix: ".f32" });
    const pythonTensorPath = await Deno.makeTempFile({ suffix: ".f32" });
    try {
      await Deno.writeFile(
        tensorPath,
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
      const out = await new Deno.Command(python!, {
        args: ["-m", "unittest", "discover", "-s", "export/ray/tests", "-v"],
        cwd: ROOT,
        env: {
          FIXTURES_DIR: FIXTURES,
          PROJECT_TENSOR: tensorPath,
          PYTHON_TENSOR_OUT: pythonTensorPath,
          PYTHONDONTWRITEBYTECODE: "1",
        },
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /Ran 4 tests/);
      assert.doesNotMatch(text, /skipped/, text);
      console.log(text.match(/preprocess vs project:.*/)?.[0]);

      // Both tensors through the fixture model: the same answer with nearly the same confidence.
      const session = await ort.InferenceSession.create(`${FIXTURES}mobilenetv2-12-int8.onnx`);
      const top1 = async (t: Float32Array) => {
        const out = await session.run({
          [session.inputNames[0]]: new ort.Tensor("float32", t, [1, 3, 224, 224]),
        });
        const logits = out[session.outputNames[0]].data as Float32Array;
        const max = Math.max(...logits);
        const exps = Array.from(logits, (v) => Math.exp(v - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        const best = exps.indexOf(Math.max(...exps));
        return { label: imagenetLabels()[best], p: exps[best] / sum };
      };
      const pythonBytes = await Deno.readFile(pythonTensorPath);
      const pythonTensor = new Float32Array(pythonBytes.buffer, 0, 3 * 224 * 224);
      const [project, ray] = [await top1(data), await top1(pythonTensor)];
      console.log(
        `project: ${project.label} p=${project.p.toFixed(3)}; Ray app: ${ray.label} p=${
          ray.p.toFixed(3)
        }`,
      );
      assert.equal(project.label, "Samoyed");
      assert.equal(ray.label, "Samoyed");
      assert.ok(Math.abs(project.p - ray.p) < 0.05, `probabilities ${project.p} vs ${ray.p}`);
      await session.release();
    } finally {
      await Deno.remove(tensorPath);
      await Deno.remove(pythonTensorPath);
    }
  },
});

Deno.test({
  name:
    "the labels the Ray app downloads are checked against the fixture's sha256 and match the project's order",
  ignore: !fixturesPresent,
  async fn() {
    const bytes = await Deno.readFile(`${FIXTURES}imagenet_classes.txt`);
    assert.equal(sha256Hex(bytes), IMAGENET_LABELS_REF.sha256);
    assert.deepEqual(new TextDecoder().decode(bytes).split("\n"), imagenetLabels());
  },
});
