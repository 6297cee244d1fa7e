/**
 * False-hit rates of answer reuse on a real dataset: each line in stream order looks up the earlier lines,
 * exactly (normalized key) and, failing that, as a near duplicate (MinHash + LSH + Jaccard ≥ threshold). A hit
 * is false when the recorded LLM answer of the earlier text differs from the recorded answer for this text:
 * the cache would have served an answer the LLM would not have given.
 */
import { readFileSync } from 'node:fs';
import { cacheKey, NearDuplicateIndex, normalizeText } from '../../src/cache/index.js';

export interface ReuseStats {
  /** Byte-identical repeats, and those the LLM answered differently: the floor any reuse inherits. */
  raw_duplicates: number;
  raw_duplicate_disagreements: number;
  /** Lines whose normalized text was seen before. */
  exact_hits: number;
  exact_false_hits: number;
  near: Array<{ threshold: number; near_hits: number; false_hits: number; false_hit_rate: number }>;
  lines: number;
}

/** Measures exact and near-duplicate reuse of `teacher`'s recorded answers in a JSONL dataset. */
export function measureReuse(datasetPath: string, teacher: string, thresholds: readonly number[]): ReuseStats {
  const rows = readFileSync(datasetPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { text: string; llm: Record<string, number> });
  const raw = new Map<string, number>();
  let rawDuplicates = 0;
  let rawDisagreements = 0;
  const exact = new Map<string, number>();
  let exactHits = 0;
  let exactFalse = 0;
  const indexes = thresholds.map((t) => ({ threshold: t, index: new NearDuplicateIndex(t), answers: new Map<string, number>(), hits: 0, falseHits: 0 }));
  for (const row of rows) {
    const answer = row.llm[teacher] ?? -1;
    const rawSeen = raw.get(row.text);
    if (rawSeen === undefined) raw.set(row.text, answer);
    else {
      rawDuplicates += 1;
      if (rawSeen !== answer) rawDisagreements += 1;
    }
    const key = cacheKey('task', teacher, row.text);
    const seen = exact.get(key);
    if (seen !== undefined) {
      exactHits += 1;
      if (seen !== answer) exactFalse += 1;
      continue;
    }
    exact.set(key, answer);
    const normalized = normalizeText(row.text);
    for (const near of indexes) {
      const probe = near.index.probe('task', normalized);
      const match = near.index.query(probe);
      if (match !== undefined) {
        near.hits += 1;
        if (near.answers.get(match.key) !== answer) near.falseHits += 1;
      }
      near.index.add(key, probe);
      near.answers.set(key, answer);
    }
  }
  return {
    lines: rows.length,
    raw_duplicates: rawDuplicates,
    raw_duplicate_disagreements: rawDisagreements,
    exact_hits: exactHits,
    exact_false_hits: exactFalse,
    near: indexes.map((n) => ({
      threshold: n.threshold,
      near_hits: n.hits,
      false_hits: n.falseHits,
      false_hit_rate: n.hits === 0 ? 0 : Math.round((n.falseHits / n.hits) * 10_000) / 10_000,
    })),
  };
}
