/**
 * Types shared by the serving modules: replica states, the request a replica handles and its
 * reply, and the `/api/status` JSON shape (see /work/notes/CONTRACTS.md).
 *
 * @module
 */
import type { BackendName } from "../config/mod.ts";

/** Replica lifecycle states (Ray's STARTING split into its PENDING_ALLOCATION sub-phase). */
export type ReplicaState = "PENDING_ALLOCATION" | "STARTING" | "RUNNING" | "STOPPING";

/** Every replica state, in display order. */
export const REPLICA_STATES: readonly ReplicaState[] = [
  "PENDING_ALLOCATION",
  "STARTING",
  "RUNNING",
  "STOPPING",
];

/** Where the image of a request comes from. */
export type ImageSource =
  | { kind: "uri"; uri: string }
  | { kind: "bytes"; bytes: Uint8Array };

/** One classification request as a replica sees it. */
export interface ClassifyRequest {
  source: ImageSource;
  /** How many labels to return (>= 1). */
  top: number;
}

/** One label with its probability. */
export interface LabelScore {
  index: number;
  label: string;
  probability: number;
}

/** A successful classification. */
export interface ClassifyResult {
  top: LabelScore[];
  fetchMs: number;
  preprocessMs: number;
  inferenceMs: number;
}

/** A request-level failure with the HTTP status it maps to. */
export interface RequestFailure {
  status: number;
  /** Short machine-readable reason, e.g. `image_fetch_failed`. */
  error: string;
  /** Human-readable explanation: what was wrong and what would be right. */
  detail: string;
}

/** What a replica answers for one request. */
export type ReplicaReply =
  | { ok: true; result: ClassifyResult }
  | { ok: false; failure: RequestFailure };

/** The model a replica serves: the no-op model, or ONNX bytes (shared, not copied per replica). */
export type ReplicaModel =
  | { kind: "noop"; serviceTimeMs: number }
  /** The emulated model (lib/serve/emulated_model.ts): a spec a replica parses without file I/O. */
  | { kind: "emulate"; source: EmulatedModelSource }
  /** `sha256`: the model's hash, the key of lib/model's optimized-model cache (native backend). */
  | { kind: "onnx"; bytes: Uint8Array; sha256?: string };

/**
 * What an emulated replica draws its service times from: an inline spec (`lognormal:45,80`), or
 * a file's text read once by the main thread (`fileText`, `source` naming the file, `select` a
 * benchmark JSON's `backend/threads`).
 */
export interface EmulatedModelSource {
  spec: string;
  fileText?: string;
  source?: string;
  select?: string;
}

/** Everything a replica needs to start. */
export interface ReplicaOptions {
  model: ReplicaModel;
  backend: BackendName;
  /** Inference threads: max(1, floor(num_cpus)). */
  threads: number;
  maxImageBytes: number;
  maxImagePixels: number;
  imageFetchTimeoutMs: number;
  allowedImageHosts: string[];
}

/** Minimal description of the served model, as `/api/status` shows it. */
export interface ModelInfo {
  name: string;
  pretrained: boolean;
  labels_meaningful: boolean;
  /** True for the emulated model (`emulate:SPEC`): replicas hold requests and compute nothing. */
  emulated?: boolean;
  backend: string;
}

/** Severity of a log line: `WARN` for problems the user should act on, else `INFO`. */
export type LogLevel = "INFO" | "WARN";

/** Deployment statuses (research §5.2). */
export type DeploymentStatus =
  | "UPDATING"
  | "HEALTHY"
  | "UNHEALTHY"
  | "DEPLOY_FAILED"
  | "UPSCALING"
  | "DOWNSCALING";

/** Application statuses (research §5.3). */
export type ApplicationStatus = "DEPLOYING" | "DEPLOY_FAILED" | "RUNNING" | "UNHEALTHY";

/** One replica in `/api/status`. */
export interface ReplicaStatusJson {
  replica_id: string;
  state: ReplicaState;
  ongoing_requests: number;
  num_cpus: number;
  /** Unix ms when the replica was asked for. */
  requested_at_ms: number;
  /** Unix ms when it got its CPUs and began starting, or null. */
  started_at_ms: number | null;
  /** Unix ms when it became RUNNING, or null. */
  running_since_ms: number | null;
  /** Unix ms when it began stopping, or null. */
  stopping_since_ms: number | null;
}

/** One deployment in `/api/status`. */
export interface DeploymentStatusJson {
  status: DeploymentStatus;
  status_trigger: string;
  message: string;
  target_replicas: number;
  replica_states: Record<ReplicaState, number>;
  ongoing_requests: number;
  queued_requests: number;
  replicas: ReplicaStatusJson[];
  autoscaler: unknown | null;
}

/** The whole `/api/status` document. */
export interface ServeStatusJson {
  applications: Record<string, {
    status: ApplicationStatus;
    message: string;
    route_prefix: string;
    last_deployed_time_s: number;
    deployments: Record<string, DeploymentStatusJson>;
  }>;
  model: ModelInfo;
  cluster: { num_cpus: number; cpus_used: number };
}
