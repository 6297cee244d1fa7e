/**
 * A count-min sketch of recent lookups (Cormode & Muthukrishnan 2005), aged by halving every counter after
 * `halfLifeAccesses` additions (the "reset" of TinyLFU, Einziger et al. 2017). It estimates how often a query
 * was asked before it entered the cache, in bounded memory, so LEC's frequency covers the query's history,
 * not only its time in the cache: the "estimated frequency" of Zhu et al. 2023.
 */

import { fnv1a32 } from './minhash.js';

const ROWS = 4;

export class FrequencySketch {
  private readonly counters: Uint32Array;
  private readonly mask: number;
  private additions = 0;

  /**
   * @param width Counters per row, rounded up to a power of two; a few times the expected distinct queries.
   * @param halfLifeAccesses Additions after which every count is halved.
   */
  constructor(
    width: number,
    private readonly halfLifeAccesses: number,
  ) {
    const size = 2 ** Math.ceil(Math.log2(Math.max(width, 16)));
    this.counters = new Uint32Array(size * ROWS);
    this.mask = size - 1;
  }

  /** Counts one lookup of `key` (a hex cache key). */
  add(key: string): void {
    for (let row = 0; row < ROWS; row += 1) {
      const at = this.index(key, row);
      this.counters[at] = (this.counters[at] as number) + 1;
    }
    this.additions += 1;
    if (this.additions >= this.halfLifeAccesses) this.age();
  }

  /** Estimated recent lookups of `key` (never below the truth, up to the last aging). */
  estimate(key: string): number {
    let min = Number.POSITIVE_INFINITY;
    for (let row = 0; row < ROWS; row += 1) min = Math.min(min, this.counters[this.index(key, row)] as number);
    return min;
  }

  private age(): void {
    for (let i = 0; i < this.counters.length; i += 1) this.counters[i] = (this.counters[i] as number) >>> 1;
    this.additions = 0;
  }

  /** Double hashing (Kirsch & Mitzenmacher 2006): row i uses h1 + i × h2, from one FNV-1a pass. */
  private index(key: string, row: number): number {
    const h1 = fnv1a32(key);
    const h2 = ((h1 >>> 16) | (h1 << 16) | 1) >>> 0;
    return row * (this.mask + 1) + ((h1 + row * h2) & this.mask);
  }
}
