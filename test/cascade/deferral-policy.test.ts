import { describe, expect, it } from 'vitest';
import { DeferralPolicy, type StageSignal } from '../../src/cascade/deferral-policy.js';
import { Rng } from '../../src/cascade/rng.js';

const signal = (confidence: number, novelty: number): StageSignal => ({
  probs: Float32Array.from([confidence, 1 - confidence]),
  modelUpdates: 500,
  novelty,
  tokens: 12,
});

describe('DeferralPolicy', () => {
  it('starts as the confidence signal: P(defer) = 1 − max p', () => {
    const policy = new DeferralPolicy({ classes: 2 });
    expect(policy.pDefer(signal(0.8, 0))).toBeCloseTo(0.2, 3);
    expect(policy.pDefer(signal(0.6, 0))).toBeCloseTo(0.4, 3);
  });

  it('learns to defer more on items its stage gets wrong, beyond what confidence shows', () => {
    // The stage is equally confident on all items, but wrong on novel ones: only learning can tell them apart.
    const policy = new DeferralPolicy({ classes: 2 });
    const rng = new Rng(9);
    for (let i = 0; i < 3000; i++) {
      const novel = rng.next() < 0.5;
      const wrong = novel ? rng.next() < 0.8 : rng.next() < 0.1;
      policy.update(signal(0.85, novel ? 1 : 0), wrong);
    }
    const novelP = policy.pDefer(signal(0.85, 1));
    const familiarP = policy.pDefer(signal(0.85, 0));
    expect(novelP).toBeGreaterThan(0.6);
    expect(familiarP).toBeLessThan(0.2);
    expect(policy.updates).toBe(3000);
  });
});
