/**
 * The LR stage as an ensemble of k members (Kolawole et al., agreement-based cascading): member 0 is the
 * stage's own regressor on the featurizer's buckets; every other member sees its own view of the same
 * features, the buckets re-hashed with its own seed, so hash collisions (and so errors) differ between
 * members. Their mean is the stage's answer; the share of members that vote for it is a deferral signal:
 * where members trained on the same labels disagree, the item is hard.
 */
import type { SparseVector } from './featurizer.js';
import { type LogisticRegressor } from './logistic-regressor.js';

/** One re-hashed view: its regressor and a scratch vector for its features. */
interface Member {
  model: LogisticRegressor;
  seed: number;
  view: SparseVector;
  probs: Float32Array;
}

/** Seed of member m's view (m ≥ 1): fixed, so saved members keep meaning the same buckets. */
function viewSeed(m: number): number {
  return Math.imul(m, 0x9e3779b1) >>> 0;
}

export class LrEnsemble {
  readonly classes: number;
  private readonly mask: number;
  private readonly members: Member[];

  /** Members 1..k−1 (`models`, one per extra member, fresh or restored); member 0 is the stage's regressor. */
  constructor(dim: number, classes: number, models: readonly LogisticRegressor[]) {
    this.classes = classes;
    this.mask = dim - 1;
    this.members = models.map((model, i) => ({
      model,
      seed: viewSeed(i + 1),
      view: { indices: new Int32Array(0), values: new Float32Array(0) },
      probs: new Float32Array(classes),
    }));
  }

  /** The extra members' regressors, in order (for saving). */
  get models(): LogisticRegressor[] {
    return this.members.map((m) => m.model);
  }

  /** Number of members besides the stage's own regressor. */
  get size(): number {
    return this.members.length;
  }

  /**
   * Averages the extra members' probabilities into `sum` (which holds member 0's on entry, and the
   * ensemble mean on return) and writes each member's vote (argmax) into `votes[1..]`.
   */
  predictInto(x: SparseVector, sum: Float32Array, votes: Int32Array): void {
    const K = this.classes;
    for (let m = 0; m < this.members.length; m++) {
      const member = this.members[m] as Member;
      const p = member.model.predict(this.viewOf(member, x), member.probs);
      let best = 0;
      for (let k = 0; k < K; k++) {
        sum[k] = (sum[k] as number) + (p[k] as number);
        if ((p[k] as number) > (p[best] as number)) best = k;
      }
      votes[m + 1] = best;
    }
    const n = this.members.length + 1;
    for (let k = 0; k < K; k++) sum[k] = (sum[k] as number) / n;
  }

  /** One step of every extra member on (x, label), `weight` the label's importance. */
  update(x: SparseVector, label: number, weight: number, rehearsal: boolean): void {
    for (const member of this.members) member.model.update(this.viewOf(member, x), label, weight, rehearsal);
  }

  /** x's buckets re-hashed into the member's view (the bias, bucket 0, stays put). */
  private viewOf(member: Member, x: SparseVector): SparseVector {
    const n = x.indices.length;
    if (member.view.indices.length < n) member.view = { indices: new Int32Array(n * 2), values: new Float32Array(n * 2) };
    const { indices, values } = member.view;
    for (let i = 0; i < n; i++) {
      const b = x.indices[i] as number;
      let h = Math.imul(b ^ member.seed, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      indices[i] = b === 0 ? 0 : h & this.mask || 1;
      values[i] = x.values[i] as number;
    }
    return { indices: indices.subarray(0, n), values: values.subarray(0, n) };
  }
}

/** Share of `votes` equal to `label`, 0..1 (1 for no votes). */
export function voteShare(votes: ArrayLike<number>, count: number, label: number): number {
  if (count === 0) return 1;
  let same = 0;
  for (let i = 0; i < count; i++) if (votes[i] === label) same++;
  return same / count;
}
