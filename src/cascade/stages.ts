/**
 * The small stages behind one interface, so the cascade loop does not care which models it runs or in
 * what order. Each stage reads what earlier stages left in the item's context (features, probabilities).
 */
import type { Features } from './featurizer.js';
import type { LogisticRegressor } from './logistic-regressor.js';
import type { EncodedItem, MidModel } from './mid-model.js';

/** Per-item scratch shared by the stages: features once, each stage's probabilities as it runs. */
export interface ItemContext {
  features: Features;
  /** Probabilities of the stages run so far, in order. */
  probs: Float32Array[];
  /** The mid model's encoded input, kept for its training step. */
  midInput?: EncodedItem;
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
}

export class LrStage implements SmallStage {
  readonly name = 'lr' as const;
  readonly costUnits = 1;

  constructor(readonly model: LogisticRegressor) {}

  get version(): number {
    return this.model.updates;
  }

  get labels(): number {
    return this.model.updates;
  }

  run(ctx: ItemContext): Float32Array {
    return this.model.predict(ctx.features.sparse);
  }

  novelty(ctx: ItemContext): number {
    return this.model.novelty(ctx.features.sparse);
  }

  learn(ctx: ItemContext, label: number, weight = 1): boolean {
    this.model.update(ctx.features.sparse, label, weight);
    return true;
  }
}

export class MidStage implements SmallStage {
  readonly name = 'mid' as const;

  constructor(
    readonly model: MidModel,
    readonly costUnits: number,
  ) {}

  get version(): number {
    return this.model.updates;
  }

  get labels(): number {
    return this.model.labels;
  }

  run(ctx: ItemContext): Float32Array {
    // Stacks on the previous stage's probabilities as they were before this item's label was known.
    const encoded = this.model.encode(ctx.features, ctx.probs[ctx.probs.length - 1]);
    ctx.midInput = encoded;
    return this.model.predict(encoded);
  }

  novelty(ctx: ItemContext): number {
    return ctx.midInput === undefined ? 1 : this.model.novelty(ctx.midInput);
  }

  learn(ctx: ItemContext, label: number, weight = 1): boolean {
    if (ctx.midInput === undefined) this.run(ctx);
    return this.model.learn(ctx.midInput as EncodedItem, label, weight);
  }
}

/** Index of the largest probability. */
export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if ((p[k] as number) > (p[best] as number)) best = k;
  return best;
}
