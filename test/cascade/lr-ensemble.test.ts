import { describe, expect, it } from 'vitest';
import { AgreementPolicy } from '../../src/cascade/agreement-policy.js';
import { DeferralPolicy, legacyPolicyFeatureCount, policyFeatureCount, type StageSignal } from '../../src/cascade/deferral-policy.js';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { LogisticRegressor } from '../../src/cascade/logistic-regressor.js';
import { LrEnsemble } from '../../src/cascade/lr-ensemble.js';
import { argmax, LrStage, type ItemContext } from '../../src/cascade/stages.js';

const DIM = 2 ** 12;
const featurizer = new Featurizer({ dim: DIM, maxTextChars: 5000 });
const ctxOf = (text: string): ItemContext => ({ features: featurizer.featurize(text), probs: [] });

function ensembleStage(k: number): LrStage {
  const options = { dim: DIM, classes: 3, learningRate: 0.3 };
  const members = Array.from({ length: k - 1 }, () => new LogisticRegressor(options));
  return new LrStage(new LogisticRegressor(options), undefined, new LrEnsemble(DIM, 3, members));
}

describe('LR ensemble and agreement-based deferral', () => {
  it('members see different views: trained on the same labels they agree on clear items', () => {
    const stage = ensembleStage(3);
    const stream = [
      ['what a lovely sunny happy day', 0],
      ['a dreadful awful sad loss', 1],
      ['furious angry shouting rage', 2],
    ] as const;
    for (let round = 0; round < 20; round++) for (const [text, label] of stream) stage.learn(ctxOf(text), label);
    for (const [text, label] of stream) {
      const ctx = ctxOf(text);
      const p = stage.run(ctx);
      expect(argmax(p)).toBe(label);
      expect(ctx.lrVotes?.length).toBe(3);
      expect(stage.agreement(ctx, label)).toBe(1);
    }
  });

  it('an ambiguous stream splits the members, and the item is deferred before clear ones', () => {
    const stage = ensembleStage(3);
    const clear = [
      ['sunny happy joyful smile', 0],
      ['grief tears sorrow loss', 1],
    ] as const;
    for (let round = 0; round < 20; round++) for (const [text, label] of clear) stage.learn(ctxOf(text), label);
    // Crafted ambiguity: words of both clear classes, and contradictory labels for it — member 0 is taught
    // label 0, the re-hashed members label 1 — so the members split on it.
    const ambiguous = 'sunny grief smile tears';
    const ctx = ctxOf(ambiguous);
    for (let i = 0; i < 15; i++) {
      stage.model.update(ctx.features.sparse, 0);
      stage.ensemble?.update(ctx.features.sparse, 1, 1, false);
    }
    const amb = ctxOf(ambiguous);
    const pAmb = stage.run(amb);
    const agreeAmb = stage.agreement(amb, argmax(pAmb));
    expect(agreeAmb).toBeLessThan(1);
    expect(new Set(amb.lrVotes)).toEqual(new Set([0, 1]));

    const cl = ctxOf('sunny happy joyful smile');
    const pClear = stage.run(cl);
    const agreeClear = stage.agreement(cl, argmax(pClear));
    expect(agreeClear).toBe(1);

    const signal = (probs: Float32Array, agreement: number): StageSignal => ({ probs, modelUpdates: 100, novelty: 0, tokens: 4, agreement });
    const policy = new AgreementPolicy();
    const deferAmb = policy.pDefer(signal(pAmb, agreeAmb));
    const deferClear = policy.pDefer(signal(pClear, agreeClear));
    expect(deferAmb).toBeGreaterThan(deferClear);
    // A budget that sends either item alone to the LLM (a threshold between the two scores) sends the
    // ambiguous one: the ensemble's disagreement defers it.
    const tau = (deferAmb + deferClear) / 2;
    expect(deferAmb > tau && deferClear < tau).toBe(true);

    // The learned policy reads the same disagreement as a feature: taught that split items disagree with
    // the LLM, it defers the split item more than an equally confident unanimous one.
    const learned = new DeferralPolicy({ classes: 3 });
    const flat = Float32Array.from([0.5, 0.3, 0.2]);
    for (let i = 0; i < 300; i++) {
      learned.update(signal(flat, 1 / 3), true);
      learned.update(signal(flat, 1), false);
    }
    expect(learned.pDefer(signal(flat, 1 / 3))).toBeGreaterThan(learned.pDefer(signal(flat, 1)) + 0.2);
  });

  it('loads a policy saved before the agreement feature, with that weight at 0', () => {
    const old = new Float32Array(legacyPolicyFeatureCount(7)).fill(0.1);
    const policy = new DeferralPolicy({ classes: 7 }, { classes: 7, updates: 5, weights: old, gradSquares: new Float32Array(old.length).fill(1) });
    const state = policy.state();
    expect(state.weights.length).toBe(policyFeatureCount(7));
    expect(state.weights[state.weights.length - 1]).toBe(0);
    expect(Array.from(state.weights.subarray(0, old.length))).toEqual(Array.from(old));
    expect(() => new DeferralPolicy({ classes: 7 }, { classes: 7, updates: 5, weights: new Float32Array(3), gradSquares: new Float32Array(3) })).toThrow(
      RangeError,
    );
  });
});
