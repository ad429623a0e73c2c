/**
 * The emulated model (`model: emulate:SPEC`): a replica that holds each request for a duration
 * drawn from SPEC, a service-time spec in any `simulate --service-time` form (lib/duration), and
 * computes nothing. Everything around it is real: the HTTP server, the router, the replica
 * workers, the autoscaler and the metrics. Like a model computing on its CPUs, a replica works on
 * one request at a time; the others it holds wait their turn, so ongoing requests, queueing and
 * latency behave as they would with real compute, at any replica count a logical-CPU cluster
 * (`--num-cpus`) allows on a small machine.
 *
 * @module
 */
import {
  createRng,
  type DurationModel,
  durationModelFromText,
  durationSpecFile,
  parseInlineDurationSpec,
} from "../duration/mod.ts";
import type { EmulatedModelSource, LabelScore, ModelInfo, ReplicaModel } from "./types.ts";

/** The label an emulated replica answers. */
export const EMULATED_LABEL = "emulated";

/**
 * Reads the spec once in the main thread (a file is read here, so replicas need no file access)
 * and describes the model for status and logs: the name always says it is emulated.
 *
 * @throws {Error} when SPEC is malformed or its file is missing or unusable (lib/duration's message).
 */
export async function prepareEmulatedModel(
  spec: string,
): Promise<
  { info: Omit<ModelInfo, "backend">; replicaModel: ReplicaModel; warning: string | null }
> {
  let source: EmulatedModelSource = { spec };
  if (parseInlineDurationSpec(spec, { what: "emulate" }) === null) {
    const { path, select } = durationSpecFile(spec);
    let fileText: string;
    try {
      fileText = await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(
        `emulate: cannot read the service-time file ${path}: ${(error as Error).message}`,
      );
    }
    source = { spec, fileText, source: path, ...(select === undefined ? {} : { select }) };
  }
  const model = emulatedDurationModel(source);
  return {
    info: {
      name: `emulate:${spec} (EMULATED, no compute: ${model.description} per request)`,
      pretrained: false,
      labels_meaningful: false,
      emulated: true,
    },
    replicaModel: { kind: "emulate", source },
    warning: null,
  };
}

/** The duration model of an emulated replica (no file I/O: a file's text travels in `source`). */
export function emulatedDurationModel(source: EmulatedModelSource): DurationModel {
  if (source.fileText !== undefined) {
    return durationModelFromText(source.fileText, {
      source: source.source ?? source.spec,
      select: source.select,
    });
  }
  const model = parseInlineDurationSpec(source.spec, { what: "emulate" });
  if (!model) throw new Error(`emulate: ${source.spec} names a file whose text was not read`);
  return model;
}

/** What replica_handler.ts needs of a classifier. */
export interface EmulatedClassifier {
  /** Always `emulate`. */
  backend: string;
  /** Holds for one drawn service time after the earlier calls finish; answers one fixed label. */
  classify(): Promise<{ top: LabelScore[]; preprocessMs: number; inferenceMs: number }>;
  /** Nothing to release; resolves at once. */
  close(): Promise<void>;
}

/**
 * An emulated replica's classifier: each call waits for the calls before it (one request at a
 * time), then holds for a drawn duration. `inferenceMs` is the hold; the wait is not part of it.
 * `seed` picks the random stream (default: a random one, so replicas draw independently).
 */
export function createEmulatedClassifier(
  source: EmulatedModelSource,
  options: { seed?: number } = {},
): EmulatedClassifier {
  const model = emulatedDurationModel(source);
  const rng = createRng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  let previous: Promise<unknown> = Promise.resolve();
  return {
    backend: "emulate",
    classify() {
      const run = previous.then(async () => {
        const holdMs = model.sampleMs(rng);
        const t0 = performance.now();
        if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
        return {
          top: [{ index: 0, label: EMULATED_LABEL, probability: 1 }],
          preprocessMs: 0,
          inferenceMs: performance.now() - t0,
        };
      });
      previous = run.catch(() => undefined);
      return run;
    },
    close: () => Promise.resolve(),
  };
}
