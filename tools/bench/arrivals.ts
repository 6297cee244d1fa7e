/**
 * Seeded arrival times for the live benchmark: a Poisson process at `rate` items/s whose rate triples during
 * bursts (2 s out of every 10 s by default), so the LLM scheduler meets the load spikes a real stream has.
 */
import { Rng } from '../../src/cascade/index.js';

export interface ArrivalOptions {
  /** Mean rate outside bursts, items per second. */
  rate: number;
  /** Length of the run, seconds. */
  durationS: number;
  seed: number;
  /** Rate multiplier during a burst. @defaultValue 3 */
  burstFactor?: number;
  /** A burst starts every this many seconds… @defaultValue 10 */
  burstEveryS?: number;
  /** …and lasts this long. @defaultValue 2 */
  burstLengthS?: number;
}

/** Arrival offsets from the start, ms, ascending. */
export function arrivalTimes(options: ArrivalOptions): Float64Array {
  const rng = new Rng(options.seed);
  const factor = options.burstFactor ?? 3;
  const every = options.burstEveryS ?? 10;
  const length = options.burstLengthS ?? 2;
  const out: number[] = [];
  let t = 0;
  for (;;) {
    const inBurst = t % every >= every - length;
    const rate = options.rate * (inBurst ? factor : 1);
    // Exponential gap; 1 − u keeps the log finite.
    t += -Math.log(1 - rng.next()) / rate;
    if (t >= options.durationS) break;
    out.push(t * 1000);
  }
  return Float64Array.from(out);
}
