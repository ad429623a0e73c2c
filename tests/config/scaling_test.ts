/** effectiveScalingFactors(): Ray's fallback rules for the scaling factors. */
import assert from "node:assert/strict";
import { AUTOSCALING_DEFAULTS, effectiveScalingFactors } from "../../lib/config/mod.ts";

Deno.test("effectiveScalingFactors() is 1.0 both ways with Ray's defaults", () => {
  assert.deepEqual(effectiveScalingFactors(AUTOSCALING_DEFAULTS), { upscale: 1, downscale: 1 });
});

Deno.test("effectiveScalingFactors() prefers the new factor, then the directional alias, then smoothing_factor", () => {
  const base = { ...AUTOSCALING_DEFAULTS };
  assert.deepEqual(
    effectiveScalingFactors({ ...base, upscaling_factor: 1.5, upscale_smoothing_factor: 3 }),
    { upscale: 1.5, downscale: 1 },
  );
  assert.deepEqual(
    effectiveScalingFactors({ ...base, upscale_smoothing_factor: 3, smoothing_factor: 2 }),
    { upscale: 3, downscale: 2 },
  );
  assert.deepEqual(
    effectiveScalingFactors({ ...base, downscale_smoothing_factor: 0.5, smoothing_factor: 2 }),
    { upscale: 2, downscale: 0.5 },
  );
  assert.deepEqual(effectiveScalingFactors({ ...base, downscaling_factor: 0.8 }), {
    upscale: 1,
    downscale: 0.8,
  });
});
