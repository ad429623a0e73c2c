/**
 * The simulator's seeded random streams; they live in lib/duration, which the emulated model in
 * lib/serve shares with the simulator.
 *
 * @module
 */
export { createRng, type Rng } from "../duration/mod.ts";
