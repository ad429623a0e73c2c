/**
 * Test helper: a Web Worker that creates a classifier from posted model bytes (as a replica
 * does) and classifies the fixture dog photo.
 *
 * @module
 */

import { createClassifier } from "../../lib/model/mod.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
scope.onmessage = async (e: MessageEvent) => {
  const { model, backend, threads, fixtures } = e.data;
  try {
    const classifier = await createClassifier(model, { backend, threads });
    const dog = await Deno.readFile(new URL("dog.jpg", fixtures));
    const { top } = await classifier.classify(dog, { top: 5 });
    await classifier.close();
    scope.postMessage({
      ok: true,
      backend: classifier.backend,
      top: top.map((p) => ({ index: p.index, probability: p.probability })),
    });
  } catch (err) {
    scope.postMessage({ ok: false, error: String(err) });
  }
};
