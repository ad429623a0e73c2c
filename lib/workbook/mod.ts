/**
 * The notebook series' shared state: one calibration (notebook 01 writes it, 02-07 read it) with
 * the measured service-time distribution and the series' one SLO.
 *
 * @module
 */
export {
  buildCalibration,
  calibratedServiceTime,
  type Calibration,
  CALIBRATION_FILE,
  type CalibrationInput,
  readCalibration,
  sloFromServiceP99,
  writeCalibration,
} from "./calibration.ts";
