/**
 * Export options, the exported model reference and what every target returns.
 *
 * @module
 */
import type { CarryRow } from "./carry.ts";

/** The engines a config exports to. */
export type ExportTarget = "serve" | "rayservice" | "knative" | "keda" | "keda-http";

/** Every target, in the order `--to` lists them. */
export const EXPORT_TARGETS: readonly ExportTarget[] = [
  "serve",
  "rayservice",
  "knative",
  "keda",
  "keda-http",
];

/** Flags of an export. */
export interface ExportOptions {
  /** Container image of the pods (default per target: Ray's image, or this project's server). */
  image?: string;
  /** The model's URL in the cluster (default: the pretrained ResNet-50 for `resnet50`). */
  modelUri?: string;
  /** sha256 of the model at `modelUri` (default: computed from a local `user_config.model` file). */
  modelSha256?: string;
  /** CPUs of one RayService worker pod (default 4). */
  workerCpus?: number;
  /** Memory of one RayService worker pod (default 2Gi per CPU). */
  workerMemory?: string;
  /** `rayVersion` of the RayService (default {@linkcode DEFAULT_RAY_VERSION}). */
  rayVersion?: string;
  /** A remote URI (zip) of `export/ray/` for `runtime_env.working_dir`; default: baked into the image. */
  appUri?: string;
  /** Prometheus address of the KEDA trigger. */
  prometheusUrl?: string;
  /** Namespace in the KEDA query and the manifests (default `default`). */
  namespace?: string;
}

/** Ray release whose Serve config schema has `upscaling_factor` and `downscale_to_zero_delay_s`. */
export const DEFAULT_RAY_VERSION = "2.52.0";
/** Ray's image for that release. */
export const DEFAULT_RAY_IMAGE = `rayproject/ray:${DEFAULT_RAY_VERSION}-py311-cpu`;
/** The image the Containerfile builds (the single-replica server). */
export const DEFAULT_REPLICA_IMAGE = "ghcr.io/autoscale-lab/serve-replica:latest";
/** Port the single-replica server listens on in a pod (Knative sets `PORT` to this too). */
export const REPLICA_PORT = 8080;
/** Default Prometheus address of the KEDA trigger (kube-prometheus-stack's service). */
export const DEFAULT_PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090";

/** The model as exported: a URL with its checksum, or the no-op model. */
export type ExportModel =
  | { kind: "url"; url: string; sha256: string }
  | { kind: "noop"; serviceTimeMs: number };

/** One exported file's content. */
export interface ExportFile {
  /** File name, e.g. `image-classifier.rayservice.yaml`. */
  name: string;
  /** The documents it holds (one YAML document each). */
  documents: Record<string, unknown>[];
}

/** What an export returns. */
export interface ExportResult {
  /** The engine exported to. */
  target: ExportTarget;
  /** The files written, in order. */
  files: ExportFile[];
  /** The per-knob table. */
  carry: CarryRow[];
  /** Notes printed under the table (assumptions the user must satisfy). */
  notes: string[];
}
