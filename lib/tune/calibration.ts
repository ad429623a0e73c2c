/**
 * The service time measured by notebook 01, `results/calibration.json`:
 * `{"service_time": "lognormal:MEAN,P99", ...}` (a `parseDurationSpec` form; other fields are
 * ignored). The tuner uses it when `--service-time` is not given.
 *
 * @module
 */
import { TuneInputError } from "./errors.ts";

/** Where notebook 01 writes the calibration. */
export const CALIBRATION_PATH = "results/calibration.json";

/**
 * The service-time spec in the calibration file, or null when the file does not exist. A file
 * that exists but cannot be used is a {@linkcode TuneInputError} naming the file.
 */
export async function readCalibration(path = CALIBRATION_PATH): Promise<string | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new TuneInputError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new TuneInputError(`${path}: not JSON (${(error as Error).message})`);
  }
  const spec = (data as { service_time?: unknown } | null)?.service_time;
  if (typeof spec !== "string" || spec.trim() === "") {
    throw new TuneInputError(
      `${path}: expected {"service_time": "lognormal:MEAN,P99", ...} (a --service-time form)`,
    );
  }
  return spec;
}
