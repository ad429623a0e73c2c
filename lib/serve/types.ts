/**
 * Types shared by the serving modules: replica states, the request a replica handles and its
 * reply, and the `/api/status` JSON shape (see /work/notes/CONTRACTS.md).
 *
 * @module
 */
import type { BackendName } from "../config/mod.ts";
import type { DeploymentFacts } from "../model/mod.ts";
import type { ReplicaState } from "../fleet/mod.ts";
/** Replica lifecycle states and their display order: the shared replica set's (lib/fleet). */
export { REPLICA_STATES, type ReplicaState } from "../fleet/mod.ts";

/** Where the image of a request comes from. */
export type ImageSource =
  | { kind: "uri"; uri: string }
  | { kind: "bytes"; bytes: Uint8Array };

/** One classification request as a replica sees it. */
export interface ClassifyRequest {
  /** Where the image comes from. */
  source: ImageSource;
  /** How many labels to return (>= 1). */
  top: number;
}

/** One label with its probability. */
export interface LabelScore {
  /** ImageNet class id (0-999). */
  index: number;
  /** Class name of `index`. */
  label: string;
  /** Softmax probability, 0-1. */
  probability: number;
}

/** A successful classification. */
export interface ClassifyResult {
  /** Best labels first, at most the request's `top`. */
  top: LabelScore[];
  /** Time getting the image bytes (URI fetch or size check), ms. */
  fetchMs: number;
  /** Time decoding and resizing the image, ms. */
  preprocessMs: number;
  /** Time running the model, ms. */
  inferenceMs: number;
}

/** A request-level failure with the HTTP status it maps to. */
export interface RequestFailure {
  /** HTTP status the failure maps to (4xx for bad input, 5xx for server-side failures). */
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
  /** Inline spec (`lognormal:45,80`), or the spec naming a file whose text is `fileText`. */
  spec: string;
  /** Text of the file the spec names, read by the main thread. */
  fileText?: string;
  /** Name of that file, for messages. */
  source?: string;
  /** Which `backend/threads` entry of a benchmark JSON to use. */
  select?: string;
}

/** Everything a replica needs to start. */
export interface ReplicaOptions {
  /** The model to load. */
  model: ReplicaModel;
  /** Inference backend (`user_config.backend`). */
  backend: BackendName;
  /** Inference threads: max(1, floor(num_cpus)). */
  threads: number;
  /** Largest image body or download accepted, bytes (`user_config.max_image_bytes`). */
  maxImageBytes: number;
  /** Largest decoded image accepted, pixels (`user_config.max_image_pixels`). */
  maxImagePixels: number;
  /** Time allowed for fetching an image URI, ms (`user_config.image_fetch_timeout_s` x 1000). */
  imageFetchTimeoutMs: number;
  /** Hosts that may be fetched even if they resolve to private ranges (`user_config.allowed_image_hosts`). */
  allowedImageHosts: string[];
  /**
   * Request batching (`max_batch_size`, `batch_wait_timeout_s`); absent or `maxBatchSize: 1`
   * means none. Applies to ONNX models; the no-op model answers each request alone.
   */
  batching?: { maxBatchSize: number; batchWaitTimeoutS: number };
  /** Native intra-op spin-waiting for this replica (see `_spinning.ts`); unset = ORT's default. */
  intraOpSpinning?: boolean;
  /**
   * The deployment's facts `backend: auto` judges replica layouts on (replicas, CPUs, batch):
   * it picks the backend serving the most images/s for the whole deployment. Unset: the fastest
   * single replica.
   */
  deployment?: DeploymentFacts;
}

/** Minimal description of the served model, as `/api/status` shows it. */
export interface ModelInfo {
  /** Model name, e.g. `resnet50`. */
  name: string;
  /** True for pretrained weights; false for the seeded build and the no-op model. */
  pretrained: boolean;
  /** True when the predicted labels mean something; false for seeded weights and the no-op model. */
  labels_meaningful: boolean;
  /** True for the emulated model (`emulate:SPEC`): replicas hold requests and compute nothing. */
  emulated?: boolean;
  /** Backend a replica reports using; before one does, the configured backend (ONNX) or the model kind. */
  backend: string;
  /**
   * What `backend: auto` measured and chose on the first running replica: the backend, where the
   * figures came from (`measured`, `cache`, `only`), a one-line reason, and each backend's
   * images/s at the deployment's batch. Absent for an explicit backend or the no-op model.
   */
  backend_choice?: {
    backend: string;
    source: string;
    reason: string;
    batch: number;
    measured_at: string;
    timings: { backend: string; images_per_s: number | null; p50_ms: number | null }[];
    /**
     * The replica layouts compared, best first: each backend's images/s for the whole deployment
     * (`scaling: "replicas"`: replicas x one replica's figure; `"one_device"`: WebGPU replicas
     * share the one GPU, so one replica's figure), with the facts they were judged on.
     */
    layouts?: {
      backend: string;
      scaling: "replicas" | "one_device";
      replicas: number;
      batch: number;
      per_replica_images_per_s: number | null;
      images_per_s: number | null;
      note?: string;
    }[];
    deployment?: {
      max_replicas: number;
      num_cpus: number;
      cluster_cpus: number;
      machine_cpus: number;
      max_batch_size: number;
      max_ongoing_requests: number;
      /** Replicas the CPUs allow: a CPU backend's multiplier. */
      cpu_replicas: number;
    };
  };
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
export type ApplicationStatus =
  | "DEPLOYING"
  | "DEPLOY_FAILED"
  | "RUNNING"
  | "UNHEALTHY"
  | "DELETING";

/** One replica in `/api/status`. */
export interface ReplicaStatusJson {
  /** Id of the replica. */
  replica_id: string;
  /** Lifecycle state. */
  state: ReplicaState;
  /** Requests assigned to it and not finished. */
  ongoing_requests: number;
  /** Logical CPUs it holds (`ray_actor_options.num_cpus`). */
  num_cpus: number;
  /** Unix ms when the replica was asked for. */
  requested_at_ms: number;
  /** Unix ms when it got its CPUs and began starting, or null. */
  started_at_ms: number | null;
  /** Unix ms when it became RUNNING, or null. */
  running_since_ms: number | null;
  /** Unix ms when it began stopping, or null. */
  stopping_since_ms: number | null;
  /** The config version it runs (1 at deploy; each rolling update adds one). */
  version?: number;
}

/** One deployment in `/api/status`. */
export interface DeploymentStatusJson {
  /** Current deployment status. */
  status: DeploymentStatus;
  /** What caused the status, e.g. `CONFIG_UPDATE_STARTED` or `AUTOSCALING`. */
  status_trigger: string;
  /** Readable explanation of the status. */
  message: string;
  /** Replicas the deployment is aiming for. */
  target_replicas: number;
  /** Replica count per lifecycle state. */
  replica_states: Record<ReplicaState, number>;
  /** Requests executing on its replicas. */
  ongoing_requests: number;
  /** Requests waiting in the router queue. */
  queued_requests: number;
  /** Every replica in the set, STOPPING ones included. */
  replicas: ReplicaStatusJson[];
  /** The attached autoscaler's status (lib/autoscaler's `AutoscalerStatus`), or null when none. */
  autoscaler: unknown | null;
  /** The config version new replicas run (see {@linkcode ReplicaStatusJson.version}). */
  version?: number;
  /** The model its replicas serve. */
  model?: string;
}

/** One config change applied to a running service (`deno task apply`, `deploy --watch`). */
export interface ConfigEventJson {
  /** Unix ms. */
  time_ms: number;
  /** Name of the application. */
  application: string;
  /** Name of the deployment. */
  deployment: string;
  /** How it changed (see lib/serve's `DeploymentChangeKind`). */
  kind: "unchanged" | "lightweight" | "rolling" | "added" | "removed";
  /** The changed fields (`path: old -> new`), or what happened. */
  summary: string;
}

/** The whole `/api/status` document. */
export interface ServeStatusJson {
  /** Each application by name: its status, route prefix, last deploy time (Unix s) and deployments. */
  applications: Record<string, {
    status: ApplicationStatus;
    message: string;
    route_prefix: string;
    last_deployed_time_s: number;
    deployments: Record<string, DeploymentStatusJson>;
  }>;
  /** The model the replicas serve. */
  model: ModelInfo;
  /** Logical CPUs of the cluster and those held by replicas. */
  cluster: { num_cpus: number; cpus_used: number };
  /** Recent config changes, oldest first (marked on the dashboard's charts). */
  config_events?: ConfigEventJson[];
}

/**
 * A model ready to hand to replicas: ONNX bytes in one SharedArrayBuffer, the no-op model, or the
 * emulated model.
 */
export interface PreparedModel {
  /** Name, pretrained and labels flags for status. */
  info: Omit<ModelInfo, "backend">;
  /** What every replica receives (the same shared bytes, never a per-replica copy). */
  replicaModel: ReplicaModel;
  /** A loud warning to print (e.g. seeded weights with meaningless labels), or null. */
  warning: string | null;
}
