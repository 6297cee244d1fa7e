/**
 * Streams for the cache benchmark: items of a real dataset repeated with Zipf-distributed popularity, as the
 * request streams of Zhu et al. 2023 (§6) and the reposts of real feeds. Item i of a seeded random ranking is
 * drawn with probability ∝ 1 / (i + 1)^α, so α = 0.6 repeats little and α = 1.2 concentrates on a few items.
 */
import { readFileSync } from 'node:fs';

/** One line of a benchmark dataset (see datasetFile: SPILLWAY_DATASETS). */
export interface DatasetRow {
  id: string;
  text: string;
  /** Gold label id. */
  label: number;
}

/** Reads the rows of a JSONL dataset (id, text, gold label). */
export function readDataset(path: string): DatasetRow[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const row = JSON.parse(line) as { id: unknown; text: unknown; label: unknown };
      return { id: String(row.id), text: String(row.text), label: Number(row.label) };
    });
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Row indices of a stream of `length` draws from `universe` rows with Zipf skew `alpha`, reproducible from
 * `seed`. The popularity ranking is a seeded shuffle, so popular items are not the dataset's first lines.
 */
export function zipfStream(universe: number, length: number, alpha: number, seed: number): number[] {
  const random = seededRandom(seed);
  const ranking = Array.from({ length: universe }, (_, i) => i);
  for (let i = universe - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [ranking[i], ranking[j]] = [ranking[j] as number, ranking[i] as number];
  }
  const cumulative = new Float64Array(universe);
  let total = 0;
  for (let rank = 0; rank < universe; rank += 1) {
    total += (rank + 1) ** -alpha;
    cumulative[rank] = total;
  }
  const stream: number[] = [];
  for (let n = 0; n < length; n += 1) {
    const target = random() * total;
    let lo = 0;
    let hi = universe - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    stream.push(ranking[lo] as number);
  }
  return stream;
}
