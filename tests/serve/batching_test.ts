/**
 * Request batching inside a replica (Ray Serve's `@serve.batch` semantics), on virtual time:
 * batches form up to `max_batch_size` at once or after `batch_wait_timeout_s`, each request gets
 * its own answer or error, and one batch runs at a time.
 */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { batchedClassifier, RequestBatcher } from "../../lib/serve/_batching.ts";

type Clock = ReturnType<typeof FakeTimers.install>;

function withClock(fn: (clock: Clock) => Promise<void>) {
  return async () => {
    const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      await fn(clock);
    } finally {
      clock.uninstall();
    }
  };
}

/** A batch function that records its batches and doubles each item. */
function doubler() {
  const batches: number[][] = [];
  let release: (() => void) | null = null;
  let hold = false;
  const run = async (items: number[]) => {
    batches.push(items);
    if (hold) await new Promise<void>((r) => (release = r));
    return items.map((x) => x * 2);
  };
  return {
    batches,
    run,
    holdNext: () => (hold = true),
    releaseRun: () => {
      hold = false;
      release?.();
    },
  };
}

Deno.test(
  "a full batch runs at once, without waiting for the timeout",
  withClock(async (clock) => {
    const d = doubler();
    const b = new RequestBatcher(d.run, { maxBatchSize: 4, batchWaitTimeoutS: 10 });
    const answers = Promise.all([1, 2, 3, 4].map((x) => b.submit(x)));
    await clock.tickAsync(0);
    assert.deepEqual(d.batches, [[1, 2, 3, 4]]);
    assert.deepEqual(await answers, [2, 4, 6, 8]);
    assert.equal(clock.now, 0); // no virtual time passed
  }),
);

Deno.test(
  "a partial batch runs after batch_wait_timeout_s from its first request, not before",
  withClock(async (clock) => {
    const d = doubler();
    const b = new RequestBatcher(d.run, { maxBatchSize: 8, batchWaitTimeoutS: 0.05 });
    const first = b.submit(1);
    await clock.tickAsync(30);
    const second = b.submit(2);
    await clock.tickAsync(19);
    assert.deepEqual(d.batches, []); // 49 ms: still waiting
    await clock.tickAsync(1);
    assert.deepEqual(d.batches, [[1, 2]]); // 50 ms after the first request
    assert.deepEqual([await first, await second], [2, 4]);
  }),
);

Deno.test(
  "more requests than max_batch_size split into batches of at most that size, in order",
  withClock(async (clock) => {
    const d = doubler();
    const b = new RequestBatcher(d.run, { maxBatchSize: 3, batchWaitTimeoutS: 0.01 });
    const answers = Promise.all([1, 2, 3, 4, 5, 6, 7].map((x) => b.submit(x)));
    await clock.tickAsync(10);
    assert.deepEqual(d.batches, [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(await answers, [2, 4, 6, 8, 10, 12, 14]);
    assert.deepEqual(b.batchSizes, [3, 3, 1]);
  }),
);

Deno.test(
  "one batch runs at a time; requests arriving meanwhile form the next batch",
  withClock(async (clock) => {
    const d = doubler();
    const b = new RequestBatcher(d.run, { maxBatchSize: 4, batchWaitTimeoutS: 0.02 });
    d.holdNext();
    const a = b.submit(1);
    await clock.tickAsync(20); // batch [1] starts and is held
    const later = [b.submit(2), b.submit(3)];
    await clock.tickAsync(100);
    assert.deepEqual(d.batches, [[1]]); // still running: nothing else started
    assert.equal(b.waiting, 2);
    d.releaseRun();
    await clock.tickAsync(0);
    assert.equal(await a, 2);
    await clock.tickAsync(20); // the waiting pair waits its timeout from when the run ended
    assert.deepEqual(d.batches, [[1], [2, 3]]);
    assert.deepEqual(await Promise.all(later), [4, 6]);
  }),
);

Deno.test(
  "a failing batch rejects each of its requests; the next batch is unaffected",
  withClock(async (clock) => {
    let calls = 0;
    const b = new RequestBatcher((xs: number[]) => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("session.run failed"));
      return Promise.resolve(xs.map((x) => -x));
    }, { maxBatchSize: 2, batchWaitTimeoutS: 0 });
    const bad = [b.submit(1), b.submit(2)].map((p) => p.then(() => "ok", (e) => e.message));
    const good = [b.submit(3), b.submit(4)];
    await clock.tickAsync(0);
    assert.deepEqual(await Promise.all(bad), ["session.run failed", "session.run failed"]);
    assert.deepEqual(await Promise.all(good), [-3, -4]);
  }),
);

Deno.test(
  "a batch function that returns the wrong number of results fails that batch clearly",
  withClock(async (clock) => {
    const b = new RequestBatcher((_: number[]) => Promise.resolve([1]), {
      maxBatchSize: 2,
      batchWaitTimeoutS: 0,
    });
    const both = [b.submit(1), b.submit(2)].map((p) => p.catch((e) => e.message));
    await clock.tickAsync(0);
    assert.deepEqual(await Promise.all(both), [
      "a batch of 2 got 1 results",
      "a batch of 2 got 1 results",
    ]);
  }),
);

Deno.test("bad batching options are refused with what was wrong", () => {
  const run = (xs: number[]) => Promise.resolve(xs);
  assert.throws(
    () => new RequestBatcher(run, { maxBatchSize: 0, batchWaitTimeoutS: 0 }),
    /maxBatchSize must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => new RequestBatcher(run, { maxBatchSize: 2, batchWaitTimeoutS: -1 }),
    /batchWaitTimeoutS must be >= 0, got -1/,
  );
});

/** A classifier whose "model" answers label = the input's first value, one run per batch. */
function fakeClassifier(maxBatch = 64) {
  const runs: number[] = [];
  return {
    runs,
    classifier: {
      backend: "native",
      maxBatch,
      preprocess(image: Uint8Array) {
        if (image[0] === 0) {
          return Promise.reject(Object.assign(new Error("undecodable"), { name: "ImageError" }));
        }
        return Promise.resolve({ input: new Float32Array([image[0]]), preprocessMs: 1 });
      },
      classifyBatch(inputs: Float32Array[], options: { tops?: number[] } = {}) {
        runs.push(inputs.length);
        return Promise.resolve(inputs.map((x, i) => ({
          top: Array.from({ length: options.tops?.[i] ?? 5 }, (_, k) => ({
            index: x[0] + k,
            label: `class ${x[0] + k}`,
            probability: 1 / (k + 1),
          })),
          inferenceMs: 7,
        })));
      },
      close: () => Promise.resolve(),
    },
  };
}

Deno.test(
  "batched classify: one run for concurrent requests, each gets its own labels and top-k",
  withClock(async (clock) => {
    const { runs, classifier } = fakeClassifier();
    const c = batchedClassifier(classifier, { maxBatchSize: 4, batchWaitTimeoutS: 0.01 });
    const answers = Promise.all([
      c.classify(new Uint8Array([10]), { top: 1 }),
      c.classify(new Uint8Array([20]), { top: 2 }),
      c.classify(new Uint8Array([30]), { top: 3 }),
    ]);
    await clock.tickAsync(10);
    const [a, b, d] = await answers;
    assert.deepEqual(runs, [3]);
    assert.deepEqual(a.top.map((t) => t.index), [10]);
    assert.deepEqual(b.top.map((t) => t.index), [20, 21]);
    assert.deepEqual(d.top.map((t) => t.index), [30, 31, 32]);
    assert.equal(a.preprocessMs, 1);
    assert.equal(a.inferenceMs, 7);
  }),
);

Deno.test(
  "batched classify: a request whose image fails gets its own error, the others their labels",
  withClock(async (clock) => {
    const { runs, classifier } = fakeClassifier();
    const c = batchedClassifier(classifier, { maxBatchSize: 3, batchWaitTimeoutS: 0.01 });
    const results = Promise.all([
      c.classify(new Uint8Array([5])),
      c.classify(new Uint8Array([0])).catch((e) => e as Error),
      c.classify(new Uint8Array([6])),
    ]);
    await clock.tickAsync(10);
    const [a, bad, b] = await results;
    assert.equal((bad as Error).message, "undecodable");
    assert.equal((a as { top: { index: number }[] }).top[0].index, 5);
    assert.equal((b as { top: { index: number }[] }).top[0].index, 6);
    assert.deepEqual(runs, [2]); // the bad image never joined the batch
  }),
);

Deno.test(
  "batched classify caps the batch at what the model takes (a fixed batch of 1 means none)",
  withClock(async (clock) => {
    const { runs, classifier } = fakeClassifier(1);
    const c = batchedClassifier(classifier, { maxBatchSize: 8, batchWaitTimeoutS: 0.01 });
    const answers = Promise.all([1, 2, 3].map((x) => c.classify(new Uint8Array([x]))));
    await clock.tickAsync(0);
    assert.deepEqual(runs, [1, 1, 1]);
    assert.equal((await answers).length, 3);
  }),
);
