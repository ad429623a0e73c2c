/**
 * The tuner's input error: bad flags, files or bounds. The command prints its message and exits 2.
 *
 * @module
 */

/** Raised for input the tuner cannot use; the message says what was wrong and where. */
export class TuneInputError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TuneInputError";
  }
}
