/**
 * docs/backends.md's worked example of `auto`'s layout choice is computed here with
 * `chooseLayout` from the H200 figures the same doc records; every row the doc shows must be the
 * row computed here, so the doc cannot drift from the code.
 */
import assert from "node:assert/strict";
import {
  type BackendTiming,
  chooseLayout,
  type DeploymentFacts,
  describeLayout,
  pickFastest,
} from "../../lib/model/mod.ts";

const root = new URL("../../", import.meta.url).pathname;
const doc = await Deno.readTextFile(`${root}docs/backends.md`);
/** Table cells without padding, so `deno fmt`'s column alignment does not matter. */
const cells = (line: string) => line.trim().replace(/\s*\|\s*/g, "|");
const docRows = new Set(doc.split("\n").map(cells));

/** A WebGPU or native timing of `imagesPerS` at `batch`, as `auto` records one. */
const timing = (
  backend: "native" | "webgpu",
  batch: number,
  imagesPerS: number,
): BackendTiming => ({
  backend,
  batch,
  p50Ms: Math.round((batch * 1e5) / imagesPerS) / 100,
  imagesPerS,
  runs: 3,
});

// The doc's H200 figures (table "Figures: NVIDIA H200"): 16 one-thread native sessions served
// 220 images/s together, 220 / 16 = 13.75 each (timed at batch 1 only); WebGPU as `webgpu` runs
// today (NHWC) and the fp16 + NHWC + graph-capture variant (not wired into serving yet).
const NATIVE = timing("native", 1, 220 / 16);
const NHWC = [timing("webgpu", 1, 15.3), timing("webgpu", 8, 28.6), timing("webgpu", 32, 39.3)];
const TUNED = [timing("webgpu", 8, 290), timing("webgpu", 32, 595)];

const H200: DeploymentFacts = {
  maxReplicas: 16,
  numCpus: 1,
  clusterCpus: 16,
  machineCpus: 16,
  maxBatchSize: 1,
  maxOngoingRequests: 32,
};

const EXAMPLES: { deployment: string; facts: Partial<DeploymentFacts>; gpu: BackendTiming[] }[] = [
  { deployment: "`max_batch_size: 1` (no batching)", facts: {}, gpu: NHWC },
  { deployment: "`max_batch_size: 32`", facts: { maxBatchSize: 32 }, gpu: NHWC },
  {
    deployment: "`max_batch_size: 32`, `max_ongoing_requests: 8`",
    facts: { maxBatchSize: 32, maxOngoingRequests: 8 },
    gpu: NHWC,
  },
  {
    deployment: "`max_batch_size: 32`, `max_replicas: 2`",
    facts: { maxBatchSize: 32, maxReplicas: 2 },
    gpu: NHWC,
  },
  { deployment: "`max_batch_size: 8`", facts: { maxBatchSize: 8 }, gpu: TUNED },
  { deployment: "`max_batch_size: 32`", facts: { maxBatchSize: 32 }, gpu: TUNED },
];

function rows(): string[] {
  return EXAMPLES.map(({ deployment, facts, gpu }) => {
    const f = { ...H200, ...facts };
    const timings = [NATIVE, ...gpu];
    const c = chooseLayout(timings, f);
    const path = gpu === NHWC ? "NHWC (today)" : "fp16 + NHWC + capture";
    const compared = c.layouts.map((l) => describeLayout(l, { batch: c.batch })).join(" > ");
    // What the per-replica rule picked: the fastest replica at the batch formed.
    const perReplica = pickFastest(timings.filter((t) => t.batch <= c.batch))!.backend;
    return `| ${deployment} | ${c.batch} | ${path} | ${compared} | **${c.backend}** | ${perReplica} |`;
  });
}

Deno.test("docs/backends.md records the H200 figures the worked example starts from", () => {
  for (
    const figure of [
      "67.9 ms each, **220/s** together",
      "65.3 ms, 15.3/s",
      "280.1 ms, 28.6/s",
      "813.6 ms, 39.3/s",
      "**27.5 ms, 290/s**",
      "**53.8 ms, 595/s**",
    ]
  ) {
    assert.ok(doc.includes(figure), `docs/backends.md lacks the H200 figure "${figure}"`);
  }
});

Deno.test("docs/backends.md's worked example of auto's layout choice is what chooseLayout computes", () => {
  const missing = rows().filter((row) => !docRows.has(cells(row)));
  assert.deepEqual(
    missing,
    [],
    `docs/backends.md lacks these computed rows:\n${missing.join("\n")}`,
  );
});
