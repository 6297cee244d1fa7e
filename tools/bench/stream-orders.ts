/**
 * The orders a quality benchmark streams its items in: as given, a sudden shift (some labels held back to
 * the second half, so the second half is a stream the first never showed), and a gradual drift (their share
 * rising from nothing at the start). The held-back labels are the rarest third of the labels by gold count
 * (⌈labels / 3⌉, at least one; ties broken by the seed): on hatespeech, `hate`; on isear, three emotions.
 */
import { Rng } from '../../src/cascade/index.js';
import type { LabelledItem } from './labelled-stream.js';

export type StreamOrder = 'given' | 'shift' | 'drift';
export const STREAM_ORDERS: readonly StreamOrder[] = ['given', 'shift', 'drift'];

/** The labels held back by `shift` and `drift`, by gold label id. */
export function heldBackLabels(items: readonly LabelledItem[], seed: number): number[] {
  const counts = new Map<number, number>();
  for (const item of items) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  const rng = new Rng(seed ^ 0x5eed);
  const labels = [...counts.keys()].map((label) => ({ label, count: counts.get(label) as number, tie: rng.next() }));
  labels.sort((a, b) => a.count - b.count || a.tie - b.tie);
  return labels.slice(0, Math.max(1, Math.ceil(labels.length / 3))).map((l) => l.label);
}

/** `items` in the given order (a copy), or shifted, or drifting; deterministic for a seed. */
export function orderStream(items: readonly LabelledItem[], order: StreamOrder, seed: number): LabelledItem[] {
  if (order === 'given') return [...items];
  const held = new Set(heldBackLabels(items, seed));
  const rng = new Rng(seed ^ 0x0d1f7);
  if (order === 'shift') {
    const kept = shuffle(
      items.filter((i) => !held.has(i.label)),
      rng,
    );
    const back = items.filter((i) => held.has(i.label));
    // The first half only of kept labels; the second half the rest of them with every held-back item.
    const firstHalf = Math.min(kept.length, Math.floor(items.length / 2));
    return [...kept.slice(0, firstHalf), ...shuffle([...kept.slice(firstHalf), ...back], rng)];
  }
  // Drift: held-back items take positions of density rising linearly with time (key √u), the others uniform.
  const keyed = items.map((item) => ({ item, key: held.has(item.label) ? Math.sqrt(rng.next()) : rng.next() }));
  keyed.sort((a, b) => a.key - b.key);
  return keyed.map((k) => k.item);
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
