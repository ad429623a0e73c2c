/**
 * Python-compatible rendering of numbers and strings, so CSV cells match what Locust's
 * `csv.writer` writes byte for byte (research/loadgen.md §1.1).
 *
 * @module
 */

/**
 * Python's `repr(float)`: the shortest round-trip digits, `.0` kept on integral values,
 * exponent form when the decimal exponent is < -4 or >= 16 (`1e-05`, `1e+16`).
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  const decpt = exp + 1; // position of the decimal point relative to the digit string
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
  const expSign = exp < 0 ? "-" : "+";
  const expAbs = String(Math.abs(exp)).padStart(2, "0");
  return `${sign}${digits[0]}${frac}e${expSign}${expAbs}`;
}

/** Python's `str(int)`. */
export function pyInt(x: number): string {
  return Math.trunc(x).toString();
}

/**
 * Python's `round(x)` for floats: half to even, decided on the exact binary value
 * (`0.5 -> 0`, `2.5 -> 2`, `99.5 -> 100`).
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f; // exact for doubles
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Python's `int(round(x, -k))` for k >= 1 and x >= 0: half to even on the exact value of
 * `x / 10^k`, computed without the division's rounding error.
 */
export function roundToPowerOfTen(x: number, k: number): number {
  const unit = 10 ** k;
  let q = Math.floor(x / unit);
  let rem = x - q * unit;
  if (rem < 0) {
    q -= 1;
    rem += unit;
  } else if (rem >= unit) {
    q += 1;
    rem -= unit;
  }
  const half = unit / 2;
  if (rem > half) q += 1;
  else if (rem === half && q % 2 !== 0) q += 1;
  return q * unit;
}

/** `f"{x:.6f}"` (Locust's history rates; it writes `:2f`, which is width 2, precision 6). */
export function pyFixed6(x: number): string {
  return x.toFixed(6);
}

/** Python's `repr(str)`: single quotes unless the text has `'` and no `"`; escapes as CPython. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp >= 0x80 && cp < 0xa0) out += "\\x" + cp.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + quote;
}

/** One CSV field as Python's `csv.writer` (QUOTE_MINIMAL) writes it. */
export function csvField(value: string): string {
  if (/[",\r\n]/.test(value)) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

/** One CSV row with CRLF, as Python's `csv.writer` writes it on every platform. */
export function csvRowCrlf(values: readonly string[]): string {
  return values.map(csvField).join(",") + "\r\n";
}

/** One CSV row with LF (our own extra files). */
export function csvRowLf(values: readonly string[]): string {
  return values.map(csvField).join(",") + "\n";
}

/** `datetime.fromtimestamp(int(t), utc).strftime("%Y-%m-%dT%H:%M:%SZ")`. */
export function utcTimestamp(unixS: number): string {
  return new Date(Math.trunc(unixS) * 1000).toISOString().slice(0, 19) + "Z";
}
