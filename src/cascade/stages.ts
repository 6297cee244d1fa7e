/**
 * The small stages behind one interface, so the cascade loop does not care which models it runs or in
 * what order. Each stage reads what earlier stages left in the item's context (features, probabilities).
 */
import type { Features } from './featurizer.js';
import type { KnnMemory } from './knn-memory.js';
import type { LabelMemory } from './label-memory.js';
import { voteShare, type LrEnsemble } from './lr-ensemble.js';
import type { LogisticRegressor } from './logistic-regressor.js';
import type { EncodedItem, MidModel } from './mid-model.js';

/** Per-item scratch shared by the stages: features once, each stage's probabilities as it runs. */
export interface ItemContext {
  features: Features;
  /** Probabilities of the stages run so far, in order. */
  probs: Float32Array[];
  /** The mid model's encoded input, kept for its training step. */
  midInput?: EncodedItem;
  /** The votes (argmax) of the LR stage's members, set by its run. */
  lrVotes?: Int32Array;
  /** A second look (evaluation, warmth judging): the stages leave every running statistic as it was. */
  peek?: boolean;
  /** The mid stage's voters besides the LR members: its network's argmax and its neighbours' (-1: abstained). */
  midVotes?: [number, number];
}

export interface SmallStage {
  readonly name: 'lr' | 'mid';
  /** Cost units of one inference. */
  readonly costUnits: number;
  /** Training steps taken: the stage's model version. */
  readonly version: number;
  /** LLM labels the stage has trained on (equal to `version` for the LR; the mid model trains in batches). */
  readonly labels: number;
  /** Class probabilities for the item; may stash what `learn` needs in the context. */
  run(ctx: ItemContext): Float32Array;
  /** Share of the item's inputs the model was never trained on (set after `run`). */
  novelty(ctx: ItemContext): number;
  /** One online step on an LLM label, `weight` its importance (the task objective's class weight, default 1). Returns true when the model changed. */
  learn(ctx: ItemContext, label: number, weight?: number): boolean;
  /**
   * One step on a pseudo-label (an answer of the small stages no LLM saw; see pseudo-labeler.ts), at `weight`:
   * never remembered for rehearsal or by the neighbour memory, never counted as an LLM label. Returns true
   * when the model took a new version.
   */
  learnPseudo(ctx: ItemContext, label: number, weight: number): boolean;
  /**
   * Share of the stage's voters that agree with its answer `label`, 0..1 (after `run`): the LR's ensemble
   * members; for the mid stage, its network, its neighbours' vote and the LR members.
   */
  agreement(ctx: ItemContext, label: number): number;
  /** Frees what the garbage collector cannot (tfjs tensors); the stage is unusable afterwards. Optional. */
  dispose?(): void;
}

/** Rehearsal of the LR: past labels replayed after each new one. */
export interface LrRehearsal {
  memory: LabelMemory;
  /** Remembered items replayed per new label. */
  replays: number;
}

export class LrStage implements SmallStage {
  readonly name = 'lr' as const;
  readonly costUnits = 1;

  /** `rehearsal`: absent, every label is learned once, when it arrives; `ensemble`: the members beyond `model`. */
  constructor(
    readonly model: LogisticRegressor,
    readonly rehearsal?: LrRehearsal,
    readonly ensemble?: LrEnsemble,
  ) {}

  get version(): number {
    return this.model.updates;
  }

  get labels(): number {
    return this.model.updates;
  }

  run(ctx: ItemContext): Float32Array {
    const probs = this.model.predict(ctx.features.sparse);
    const votes = new Int32Array(1 + (this.ensemble?.size ?? 0));
    votes[0] = argmax(probs);
    this.ensemble?.predictInto(ctx.features.sparse, probs, votes);
    ctx.lrVotes = votes;
    return probs;
  }

  agreement(ctx: ItemContext, label: number): number {
    const votes = ctx.lrVotes;
    return votes === undefined ? 1 : voteShare(votes, votes.length, label);
  }

  novelty(ctx: ItemContext): number {
    return this.model.novelty(ctx.features.sparse);
  }

  learn(ctx: ItemContext, label: number, weight = 1): boolean {
    this.model.update(ctx.features.sparse, label, weight);
    this.ensemble?.update(ctx.features.sparse, label, weight, false);
    const r = this.rehearsal;
    if (r !== undefined) {
      // Replay before remembering the new item, so its own step is not repeated at once.
      for (let i = 0; i < r.replays; i++) {
        const ex = r.memory.sample();
        if (ex === undefined) break;
        this.model.update(ex.sparse, ex.label, ex.weight, true);
        this.ensemble?.update(ex.sparse, ex.label, ex.weight, true);
      }
      r.memory.add({ sparse: ctx.features.sparse, label, weight });
    }
    return true;
  }

  learnPseudo(ctx: ItemContext, label: number, weight: number): boolean {
    // A step like a replay's: the model changes, its version (count of LLM labels) does not.
    this.model.update(ctx.features.sparse, label, weight, true);
    this.ensemble?.update(ctx.features.sparse, label, weight, true);
    return false;
  }
}

/** The mid stage's nearest-neighbour memory and the weight of its vote in the blend. */
export interface MidNeighbours {
  memory: KnnMemory;
  /** Exponent of the neighbours' vote in the product p_mid × vote^weight. */
  weight: number;
}

export class MidStage implements SmallStage {
  readonly name = 'mid' as const;
  private readonly vote: Float32Array;

  /** `neighbours`: absent, the stage answers with the network alone. */
  constructor(
    readonly model: MidModel,
    readonly costUnits: number,
    readonly neighbours?: MidNeighbours,
  ) {
    this.vote = new Float32Array(model.classes);
  }

  get version(): number {
    return this.model.updates;
  }

  dispose(): void {
    this.model.model.dispose();
    this.neighbours?.memory.dispose();
  }

  get labels(): number {
    return this.model.labels;
  }

  run(ctx: ItemContext): Float32Array {
    // Stacks on the previous stage's probabilities as they were before this item's label was known.
    const encoded = this.model.encode(ctx.features, ctx.probs[ctx.probs.length - 1], ctx.peek !== true);
    ctx.midInput = encoded;
    const probs = this.model.predict(encoded);
    const votes: [number, number] = [argmax(probs), -1];
    ctx.midVotes = votes;
    const nb = this.neighbours;
    const sentence = nb === undefined ? undefined : this.model.sentenceVector(encoded);
    if (nb !== undefined && sentence !== undefined && nb.memory.vote(sentence, this.vote)) {
      votes[1] = argmax(this.vote);
      // Product of experts: the network's probabilities times the neighbours' vote, renormalised.
      let total = 0;
      for (let k = 0; k < probs.length; k++) {
        const p = (probs[k] as number) * Math.pow(this.vote[k] as number, nb.weight);
        probs[k] = p;
        total += p;
      }
      for (let k = 0; k < probs.length; k++) probs[k] = (probs[k] as number) / total;
    }
    return probs;
  }

  novelty(ctx: ItemContext): number {
    return ctx.midInput === undefined ? 1 : this.model.novelty(ctx.midInput);
  }

  agreement(ctx: ItemContext, label: number): number {
    const lrVotes = ctx.lrVotes;
    const [network, neighbours] = ctx.midVotes ?? [-1, -1];
    let voters = 1;
    let same = network === label ? 1 : 0;
    if (neighbours >= 0) {
      voters++;
      if (neighbours === label) same++;
    }
    if (lrVotes !== undefined) {
      voters += lrVotes.length;
      same += voteShare(lrVotes, lrVotes.length, label) * lrVotes.length;
    }
    return same / voters;
  }

  learn(ctx: ItemContext, label: number, weight = 1): boolean {
    if (ctx.midInput === undefined) this.run(ctx);
    const encoded = ctx.midInput as EncodedItem;
    const sentence = this.neighbours === undefined ? undefined : this.model.sentenceVector(encoded);
    if (sentence !== undefined) this.neighbours?.memory.add(sentence, label);
    return this.model.learn(encoded, label, weight);
  }

  learnPseudo(ctx: ItemContext, label: number, weight: number): boolean {
    if (ctx.midInput === undefined) this.run(ctx);
    return this.model.learnPseudo(ctx.midInput as EncodedItem, label, weight);
  }
}

/** Index of the largest probability. */
export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if ((p[k] as number) > (p[best] as number)) best = k;
  return best;
}
