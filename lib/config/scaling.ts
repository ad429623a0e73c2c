/**
 * Ray's rules for the effective scaling factors.
 *
 * @module
 */
import type { AutoscalingConfig } from "./types.ts";

/** The gains actually applied to upscale and downscale steps. */
export interface ScalingFactors {
  /** Gain on upscale steps. */
  upscale: number;
  /** Gain on downscale steps. */
  downscale: number;
}

/**
 * Effective scaling factors as Ray derives them (research/ray-serve.md §1.1):
 * `up = upscaling_factor if set else (upscale_smoothing_factor or smoothing_factor)`, and likewise
 * for down. Validation guarantees every set factor is > 0, so "set" and "truthy" agree.
 */
export function effectiveScalingFactors(
  cfg: Pick<
    AutoscalingConfig,
    | "upscaling_factor"
    | "downscaling_factor"
    | "upscale_smoothing_factor"
    | "downscale_smoothing_factor"
    | "smoothing_factor"
  >,
): ScalingFactors {
  const fallback = cfg.smoothing_factor || 1;
  return {
    upscale: cfg.upscaling_factor || cfg.upscale_smoothing_factor || fallback,
    downscale: cfg.downscaling_factor || cfg.downscale_smoothing_factor || fallback,
  };
}
