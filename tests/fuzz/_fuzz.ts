/**
 * Seeded fuzzing helpers: a small deterministic PRNG and text/byte mutators. Every fuzz test
 * uses a fixed seed, so a failure names the seed and case index and reproduces exactly.
 *
 * @module
 */

/** A seeded pseudo-random source (mulberry32). */
export class Rng {
  #s: number;

  /** Starts the sequence at `seed`. */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Scalars of other YAML/JSON types and awkward strings, to put where a value was. */
export const WEIRD_VALUES: readonly string[] = [
  "",
  "~",
  "null",
  "true",
  "no",
  "0",
  "-1",
  "-0",
  "1e309",
  "-1e309",
  ".nan",
  ".inf",
  "-.inf",
  "0x1F",
  "0o17",
  "1_000",
  "9007199254740993",
  "99999999999999999999999999",
  "3.5",
  "[]",
  "{}",
  "[1, [2, [3]]]",
  "{a: 1}",
  '"str"',
  "'\u0000'",
  '"\\u0000"',
  "é🙂\u202e",
  "&anchor x",
  "*anchor",
  "!!binary aGVsbG8=",
  "!!timestamp 2001-12-14",
  "!!set {a, b}",
  "|\n  block",
  "2001-12-14t21:59:43.10-05:00",
  "<<: {x: 1}",
  "__proto__",
  "constructor",
  "x".repeat(5000),
];

/** Keys worth inserting: prototype names, look-alikes of real fields, odd characters. */
export const WEIRD_KEYS: readonly string[] = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "<<",
  "? complex",
  "min_replica",
  "max_replicas",
  "autoscaling_config",
  "user_config",
  "k\u0000ey",
  "🙂",
  "",
  '"quoted key"',
  "[1, 2]",
  "{a: b}",
];

/** One random mutation of YAML-ish text, line-oriented (delete, duplicate, swap, replace values...). */
export function mutateLines(rng: Rng, text: string): string {
  const lines = text.split("\n");
  const i = rng.int(lines.length);
  switch (rng.int(10)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[i]);
      break;
    case 2: {
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case 3: {
      // Change a value to another type.
      const colon = lines[i].indexOf(":");
      if (colon >= 0) lines[i] = lines[i].slice(0, colon + 1) + " " + rng.pick(WEIRD_VALUES);
      else lines[i] = lines[i] + " " + rng.pick(WEIRD_VALUES);
      break;
    }
    case 4: {
      // Insert a random key at this line's indentation.
      const indent = /^\s*(- )?/.exec(lines[i])![0].replace("-", " ");
      lines.splice(i, 0, `${indent}${rng.pick(WEIRD_KEYS)}: ${rng.pick(WEIRD_VALUES)}`);
      break;
    }
    case 5: {
      // Re-indent.
      const d = rng.int(5) - 2;
      lines[i] = d >= 0 ? " ".repeat(d) + lines[i] : lines[i].replace(/^ {1,2}/, "");
      break;
    }
    case 6: {
      // Random printable or control characters in a line.
      const at = rng.int(lines[i].length + 1);
      const chars = "\t\u0000\r\"'{}[],:#&*!|>%@`-?\\\u00a0\u2028\ufeff";
      let ins = "";
      for (let k = rng.int(4) + 1; k > 0; k--) ins += chars[rng.int(chars.length)];
      lines[i] = lines[i].slice(0, at) + ins + lines[i].slice(at);
      break;
    }
    case 7:
      // Truncate.
      return lines.join("\n").slice(0, rng.int(text.length + 1));
    case 8: {
      // Replace a number by another number.
      lines[i] = lines[i].replace(
        /-?\d+(\.\d+)?/,
        rng.pick(["0", "-1", "-5", "1e9", "0.0001", "2.5", "1e400", "007"]),
      );
      break;
    }
    default: {
      // Random bytes decoded as text (may hold NUL, lone surrogates after decoding).
      const junk = new TextDecoder().decode(rng.bytes(rng.int(12) + 1));
      lines.splice(i, 0, junk);
    }
  }
  return lines.join("\n");
}

/** Applies 1..`max` line mutations. */
export function mutateText(rng: Rng, text: string, max = 4): string {
  let t = text;
  for (let k = rng.int(max) + 1; k > 0; k--) t = mutateLines(rng, t);
  return t;
}

/** One random mutation of a byte string (flip, truncate, splice random bytes, repeat a slice). */
export function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(bytes);
  switch (rng.int(6)) {
    case 0: {
      for (let k = rng.int(8) + 1; k > 0; k--) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return b;
    }
    case 1:
      return b.slice(0, rng.int(b.length));
    case 2: {
      for (let k = rng.int(16) + 1; k > 0; k--) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 3: {
      // Keep the header, randomise the rest.
      const keep = Math.min(b.length, 8 + rng.int(64));
      const out = new Uint8Array(b.length);
      out.set(b.subarray(0, keep));
      out.set(rng.bytes(b.length - keep), keep);
      return out;
    }
    case 4: {
      // Overwrite 4 bytes at a random place with extreme values (sizes, lengths).
      const at = rng.int(Math.max(1, b.length - 4));
      b.set(rng.pick([[0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0], [0x7f, 0xff, 0xff, 0xff]]), at);
      return b;
    }
    default: {
      // Duplicate a slice in the middle.
      const at = rng.int(b.length);
      const len = rng.int(Math.min(256, b.length - at) + 1);
      const out = new Uint8Array(b.length + len);
      out.set(b.subarray(0, at + len));
      out.set(b.subarray(at), at + len);
      return out;
    }
  }
}

/** Stops after `budgetMs` of wall time even when `count` cases remain (keeps each file bounded). */
export function timeBudget(budgetMs: number): () => boolean {
  const end = performance.now() + budgetMs;
  return () => performance.now() < end;
}
