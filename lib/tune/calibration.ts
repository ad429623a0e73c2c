/**
 * The service time measured by notebook 01. The tuner reads the first of
 * `results/notebooks/calibration.json` (what notebook 01 writes: `serviceTimeSpec`, e.g.
 * `"lognormal:45.2,80.1"`) and `results/calibration.json` (`service_time` or `serviceTimeSpec`)
 * that exists, when `--service-time` is not given. Other fields are ignored.
 *
 * @module
 */
import { TuneInputError } from "./errors.ts";

/** Where notebook 01 writes the calibration, then the older top-level place. */
export const CALIBRATION_PATHS = [
  "results/notebooks/calibration.json",
  "results/calibration.json",
] as const;

/** A calibration's service time and the file it came from. */
export interface CalibrationSource {
  /** The service-time spec (`serviceTimeSpec`, or the older `service_time`). */
  spec: string;
  /** The calibration file it was read from. */
  path: string;
}

/**
 * The service-time spec of the first calibration file that exists, or null when none does. A
 * file that exists but cannot be used is a {@linkcode TuneInputError} naming the file.
 */
export async function readCalibration(
  paths: readonly string[] = CALIBRATION_PATHS,
): Promise<CalibrationSource | null> {
  for (const path of paths) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw new TuneInputError(`cannot read ${path}: ${(error as Error).message}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new TuneInputError(`${path}: not JSON (${(error as Error).message})`);
    }
    const d = data as { serviceTimeSpec?: unknown; service_time?: unknown } | null;
    const spec = d?.serviceTimeSpec ?? d?.service_time;
    if (typeof spec !== "string" || spec.trim() === "") {
      throw new TuneInputError(
        `${path}: expected {"serviceTimeSpec": "lognormal:MEAN,P99", ...} (notebook 01's ` +
          `calibration; a --service-time form)`,
      );
    }
    return { spec, path };
  }
  return null;
}
