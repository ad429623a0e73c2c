/**
 * A small RFC 4180 CSV reader that remembers the line each record starts on, so every error can
 * name the file and the line. Accepts CRLF (Locust) and LF (our extras) line ends.
 *
 * @module
 */

/** A result file could not be read: names the file, the line (1-based) and what was expected. */
export class ResultFileError extends Error {
  /** The file (or source label) that was being read. */
  readonly file: string;
  /** 1-based line number, or `null` when the problem is the whole file. */
  readonly line: number | null;
  /** Builds the error; the message reads `file:line: problem`. */
  constructor(file: string, line: number | null, problem: string) {
    super(`${file}${line === null ? "" : `:${line}`}: ${problem}`);
    this.name = "ResultFileError";
    this.file = file;
    this.line = line;
  }
}

/** One CSV record with the line it starts on. */
export interface CsvRecord {
  /** 1-based line of the record's first character. */
  line: number;
  /** The fields, unquoted. */
  cells: string[];
}

/** Parses CSV text into records (header included as the first record). Blank lines are skipped. */
export function parseCsvRecords(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let field = "";
  let inQuotes = false;
  let fieldWasQuoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // a BOM is not part of the first header name
  const endRecord = () => {
    cells.push(field);
    if (!(cells.length === 1 && cells[0] === "" && !fieldWasQuoted)) {
      records.push({ line: recordLine, cells });
    }
    cells = [];
    field = "";
    fieldWasQuoted = false;
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field !== "") {
        throw new ResultFileError(source, line, `unexpected quote inside an unquoted field`);
      }
      inQuotes = true;
      fieldWasQuoted = true;
    } else if (ch === ",") {
      cells.push(field);
      field = "";
      fieldWasQuoted = false;
    } else if (ch === "\r" || ch === "\n") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (fieldWasQuoted) {
        throw new ResultFileError(source, line, `text after a closing quote`);
      }
      field += ch;
    }
  }
  if (inQuotes) {
    throw new ResultFileError(source, recordLine, `quoted field is never closed`);
  }
  if (field !== "" || cells.length > 0 || fieldWasQuoted) endRecord();
  return records;
}

/** Column access by header name for one file, with errors that name file, line and column. */
export class CsvTable {
  /** The file or label the table came from. */
  readonly source: string;
  /** Header names as written. */
  readonly header: string[];
  /** Data records (without the header). */
  readonly records: CsvRecord[];
  readonly #index: Map<string, number>;

  /** Parses `text`; throws when the file is empty or a row has the wrong number of fields. */
  constructor(text: string, source: string, options: { what: string }) {
    this.source = source;
    const all = parseCsvRecords(text, source);
    if (all.length === 0) {
      throw new ResultFileError(source, null, `file is empty; expected a ${options.what} header`);
    }
    this.header = all[0].cells.map((h) => h.trim());
    this.records = all.slice(1);
    this.#index = new Map(this.header.map((h, i) => [h, i]));
    for (const rec of this.records) {
      if (rec.cells.length !== this.header.length) {
        throw new ResultFileError(
          source,
          rec.line,
          `expected ${this.header.length} fields as in the header, found ${rec.cells.length}`,
        );
      }
    }
  }

  /** True when the header has this column. */
  has(column: string): boolean {
    return this.#index.has(column);
  }

  /** Throws naming the missing columns when any of `columns` is absent. */
  require(columns: readonly string[], what: string): void {
    const missing = columns.filter((c) => !this.#index.has(c));
    if (missing.length > 0) {
      throw new ResultFileError(
        this.source,
        1,
        `not a ${what} file: missing column${missing.length > 1 ? "s" : ""} ${
          missing.map((m) => `"${m}"`).join(", ")
        } (header is: ${this.header.join(",")})`,
      );
    }
  }

  /** Raw text of a cell. */
  text(rec: CsvRecord, column: string): string {
    const i = this.#index.get(column);
    return i === undefined ? "" : rec.cells[i].trim();
  }

  /** A required finite number. */
  number(rec: CsvRecord, column: string): number {
    const raw = this.text(rec, column);
    const value = raw === "" ? NaN : Number(raw);
    if (!Number.isFinite(value)) {
      throw new ResultFileError(
        this.source,
        rec.line,
        `column "${column}" must be a number, found ${JSON.stringify(raw)}`,
      );
    }
    return value;
  }

  /** A number, or `null` for an empty cell or Locust's `N/A` (or a missing column). */
  optionalNumber(rec: CsvRecord, column: string): number | null {
    if (!this.#index.has(column)) return null;
    const raw = this.text(rec, column);
    if (raw === "" || raw === "N/A") return null;
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      throw new ResultFileError(
        this.source,
        rec.line,
        `column "${column}" must be a number, empty or N/A, found ${JSON.stringify(raw)}`,
      );
    }
    return value;
  }
}
