/**
 * Seeded pseudo-random numbers for the simulator and the emulated model: sfc32 seeded through
 * splitmix32, so the same seed always gives the same stream on every platform (no `Math.random`).
 *
 * @module
 */

/** A deterministic random stream. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Exponential draw with the given mean. */
  exponential(mean: number): number;
  /** Standard normal draw (Marsaglia's polar method). */
  normal(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Sfc32 implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare = NaN;

  constructor(a: number, b: number, c: number, d: number) {
    this.#a = a | 0;
    this.#b = b | 0;
    this.#c = c | 0;
    this.#d = d | 0;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** An arrow property, so `rng.next` can be passed around as a plain function. */
  next = (): number => {
    const a = this.#a, b = this.#b, c = this.#c;
    const d = (this.#d + 1) | 0;
    const t = (((a + b) | 0) + d) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    this.#d = d;
    return (t >>> 0) / 4294967296;
  };

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  normal(): number {
    // Marsaglia's polar method: no trigonometry, one log and one sqrt per pair.
    const spare = this.#spare;
    if (spare === spare) {
      this.#spare = NaN;
      return spare;
    }
    let u: number, v: number, q: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    this.#spare = v * f;
    return u * f;
  }
}

/**
 * Creates a random stream from a seed and a stream number, so independent parts of the model
 * (arrivals, service times, routing...) draw from independent streams: changing one config knob
 * does not reshuffle the others' draws (common random numbers across compared configs).
 */
export function createRng(seed: number, stream = 0): Rng {
  const mix = splitmix32((Math.floor(seed) ^ Math.imul(stream + 1, 0x27d4eb2d)) >>> 0);
  return new Sfc32(mix(), mix(), mix(), mix());
}
