/**
 * Reads a labelled stream (JSONL lines `{id, text, label, llm: {model: labelId}}`, as in the benchmark datasets and test/fixtures/streams)
 * and draws the benchmark's sample from it.
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/cascade/index.js';
import { InvalidItemError } from '../../src/errors.js';

export interface LabelledItem {
  id: string;
  text: string;
  /** Gold label id. */
  label: number;
  /** Recorded answers by model (-1: unparseable). */
  llm: Record<string, number>;
}

/** Every line of the file, validated; a bad line throws naming its number. */
export function readLabelledStream(path: string): LabelledItem[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const items: LabelledItem[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err: unknown) {
      throw new InvalidItemError('not-json', `${path}:${i + 1}: not JSON`, { cause: err });
    }
    const r = row as Partial<LabelledItem>;
    if (typeof r.text !== 'string' || typeof r.label !== 'number' || typeof r.llm !== 'object' || r.llm === null) {
      throw new InvalidItemError('wrong-schema', `${path}:${i + 1}: expected {id, text, label, llm}`);
    }
    items.push({ id: String(r.id ?? i + 1), text: r.text, label: r.label, llm: r.llm });
  });
  return items;
}

/**
 * The benchmark's stream: all items in file order when `share` is 1; otherwise a seeded random `share` of
 * them in shuffled order, as a seeded train/test split draws them (the paper streams a random 50%).
 */
export function sampleStream(items: readonly LabelledItem[], share: number, seed: number): LabelledItem[] {
  if (share >= 1) return [...items];
  const order = items.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order.slice(0, Math.floor(items.length * share)).map((i) => items[i] as LabelledItem);
}
