/**
 * The effective config as YAML: every default filled in, in Ray Serve's config-file structure, with
 * comments where a value means more than it shows (`-1` queue limit, `null` delays). Scaling
 * factors are written as their effective values under the current names (the deprecated smoothing
 * fields folded in), so the output is itself a valid config that loads back, without warnings, to
 * a config that behaves the same.
 *
 * @module
 */
import { Document, isScalar } from "yaml";
import { effectiveScalingFactors } from "./scaling.ts";
import type { AutoscalingConfig, ModelSpec, ServeConfig } from "./types.ts";

/** Options for {@link formatEffectiveConfig}. */
export interface FormatOptions {
  /** Header comment naming where the config came from (e.g. the path the user gave). */
  sourceLabel?: string;
  /** Add explanatory comments (default true). */
  comments?: boolean;
}

/** A model spec in the YAML form `user_config.model` accepts. */
export function modelSpecToYaml(spec: ModelSpec): string | Record<string, unknown> {
  switch (spec.kind) {
    case "resnet50":
      return "resnet50";
    case "noop":
      return `noop:${spec.service_time_ms}`;
    case "emulate":
      return `emulate:${spec.spec}`;
    case "path":
      return /\.onnx$/i.test(spec.path) ? spec.path : { path: spec.path };
    case "url":
      return { url: spec.url, sha256: spec.sha256 };
  }
}

/** The config as the plain object written out (no `source_path`, models in their YAML form). */
export function effectiveConfigObject(config: ServeConfig): Record<string, unknown> {
  return {
    http_options: { ...config.http_options },
    applications: config.applications.map((app) => ({
      name: app.name,
      route_prefix: app.route_prefix,
      import_path: app.import_path,
      deployments: app.deployments.map((dep) => ({
        ...dep,
        autoscaling_config: dep.autoscaling_config
          ? currentAutoscalingFields(dep.autoscaling_config)
          : null,
        ray_actor_options: { ...dep.ray_actor_options },
        user_config: {
          ...dep.user_config,
          model: modelSpecToYaml(dep.user_config.model),
          allowed_image_hosts: [...dep.user_config.allowed_image_hosts],
        },
      })),
    })),
  };
}

/**
 * Autoscaling fields under their current names: the effective scaling factors replace the
 * deprecated smoothing fields (Ray's fallback rules already applied).
 */
function currentAutoscalingFields(as: AutoscalingConfig): Record<string, unknown> {
  const {
    smoothing_factor: _smoothing,
    upscale_smoothing_factor: _up,
    downscale_smoothing_factor: _down,
    ...rest
  } = as;
  const factors = effectiveScalingFactors(as);
  return { ...rest, upscaling_factor: factors.upscale, downscaling_factor: factors.downscale };
}

/**
 * Formats a loaded config as YAML with every default filled in, e.g. so that a user sees that
 * `basic.yaml` runs with `downscale_delay_s: 600`.
 */
export function formatEffectiveConfig(config: ServeConfig, options: FormatOptions = {}): string {
  const doc = new Document(effectiveConfigObject(config));
  const label = options.sourceLabel ?? config.source_path;
  if (label) doc.commentBefore = ` effective config of ${label} (every default filled in)`;
  if (options.comments ?? true) {
    const note = (path: (string | number)[], text: string) => {
      const node = doc.getIn(path, true);
      if (isScalar(node)) node.comment = ` ${text}`;
    };
    note(["http_options", "request_timeout_s"], "no end-to-end timeout");
    config.applications.forEach((app, a) => {
      app.deployments.forEach((dep, d) => {
        const at = (...rest: (string | number)[]) => ["applications", a, "deployments", d, ...rest];
        if (dep.num_replicas === null) {
          note(at("num_replicas"), "autoscaled: see autoscaling_config");
        } else note(at("autoscaling_config"), "fixed size: num_replicas replicas");
        if (dep.max_queued_requests === -1) note(at("max_queued_requests"), "no limit");
        const as = dep.autoscaling_config;
        if (as) annotateAutoscaling(as, (key, text) => note(at("autoscaling_config", key), text));
      });
    });
  }
  return doc.toString({ lineWidth: 0 });
}

function annotateAutoscaling(
  as: AutoscalingConfig,
  note: (key: string, text: string) => void,
): void {
  const source = (kind: "up" | "down") => {
    const own = kind === "up" ? as.upscaling_factor : as.downscaling_factor;
    const old = kind === "up" ? as.upscale_smoothing_factor : as.downscale_smoothing_factor;
    if (own !== null) return null;
    if (old !== null) return `from the deprecated ${kind}scale_smoothing_factor`;
    if (as.smoothing_factor !== 1) return "from the deprecated smoothing_factor";
    return "Ray's default (unset acts as 1.0)";
  };
  if (as.initial_replicas === null) {
    note("initial_replicas", `starts at min_replicas (${as.min_replicas})`);
  }
  const up = source("up");
  if (up) note("upscaling_factor", up);
  const down = source("down");
  if (down) note("downscaling_factor", down);
  if (as.downscale_to_zero_delay_s === null) {
    note("downscale_to_zero_delay_s", `1 -> 0 uses downscale_delay_s (${as.downscale_delay_s})`);
  }
  if (as.policy === null) note("policy", "Ray's default policy");
}
