/**
 * What a task's objective (task file `objective`) changes in learning and answering:
 *  - `accuracy`: nothing (every weight 1);
 *  - `macro_f1`: each LLM label weighs inversely to its class's share of the labels so far, so rare classes
 *    count as much as common ones in the stages' and the policies' updates;
 *  - `recall:<label>>=<floor>`: that label's LLM labels weigh √((1 − π) / π) (π its share so far, capped
 *    at `maxWeight`; the full ratio cost 15 accuracy points on hatespeech for +9 recall), a missed positive counts that much in the deferral policies' updates (the budget goes to
 *    likely positives), and a small stage's answer turns positive when its probability for the label
 *    reaches the cut-off that keeps the stage's recall of the LLM's positives at the floor (measured on the
 *    recent LLM-labelled positives, before the stage learned from them).
 */
import type { Objective } from '../llm/index.js';

/** Recent LLM-labelled positives the recall cut-off is taken over. */
const CUTOFF_WINDOW = 256;

export interface CostSensitivityOptions {
  /** Largest weight of one label. @defaultValue 8 */
  maxWeight?: number;
}

export class CostSensitivity {
  readonly objective: Objective;
  private readonly counts: Float64Array;
  private total = 0;
  private readonly maxWeight: number;
  private readonly positives: Float64Array[];
  private readonly fill: number[];
  private readonly next: number[];
  /** Per stage, the recall objective's probability cut-off for its label (1: not known yet, never overrides). */
  readonly cutoffs: number[];

  constructor(objective: Objective | undefined, classes: number, stages: number, options: CostSensitivityOptions = {}) {
    this.objective = objective ?? { kind: 'accuracy' };
    this.positives = Array.from({ length: stages }, () => new Float64Array(CUTOFF_WINDOW));
    this.fill = new Array<number>(stages).fill(0);
    this.next = new Array<number>(stages).fill(0);
    this.cutoffs = new Array<number>(stages).fill(1);
    // One pseudo-count per class: no weight is infinite before a class has been seen.
    this.counts = new Float64Array(classes).fill(1);
    this.total = classes;
    this.maxWeight = options.maxWeight ?? 8;
  }

  /** True when the objective changes anything. */
  get active(): boolean {
    return this.objective.kind !== 'accuracy';
  }

  /** Counts one LLM label (call before `weight` for the same label). */
  observe(label: number): void {
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    this.total++;
  }

  /** The weight of an LLM label in the stages' and policies' updates. */
  weight(label: number): number {
    const o = this.objective;
    if (o.kind === 'accuracy') return 1;
    const K = this.counts.length;
    const share = (this.counts[label] ?? 1) / this.total;
    if (o.kind === 'macro_f1') return clamp(1 / K / share, 1 / this.maxWeight, this.maxWeight);
    if (label !== o.label) return 1;
    return clamp(Math.sqrt((1 - share) / share), 1, this.maxWeight);
  }

  /**
   * Records stage `i`'s probability for the recall label on an item the LLM labelled with it (before the
   * stage learned from it), and re-derives the stage's cut-off: the (1 − floor) quantile of those.
   */
  recordPositive(i: number, probability: number): void {
    const o = this.objective;
    const ring = this.positives[i];
    if (o.kind !== 'recall' || ring === undefined) return;
    const at = this.next[i] as number;
    ring[at] = probability;
    this.next[i] = (at + 1) % CUTOFF_WINDOW;
    const n = Math.min(CUTOFF_WINDOW, (this.fill[i] as number) + 1);
    this.fill[i] = n;
    if (n < 10) return;
    const sorted = ring.slice(0, n).sort();
    this.cutoffs[i] = sorted[Math.floor((1 - o.floor) * n)] as number;
  }

  /** Stage `i`'s published answer: its argmax, or the recall label when its probability reaches the cut-off. */
  answer(i: number, probs: Float32Array, argmaxLabel: number): number {
    const o = this.objective;
    if (o.kind !== 'recall' || argmaxLabel === o.label) return argmaxLabel;
    return (probs[o.label] as number) >= (this.cutoffs[i] ?? 1) ? o.label : argmaxLabel;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
