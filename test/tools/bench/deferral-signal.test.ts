/** The measures of `npm run bench:signal`, on samples whose answers are known by hand. */
import { describe, expect, it } from 'vitest';
import { agreementAfterDeferring, fitLogistic, recallFrontier, rocAuc } from '../../../tools/bench/index.js';

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, and counts ties half', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    // One positive tied with one of two negatives, above the other: (1 + 0.5) / 2.
    expect(rocAuc([0.5, 0.5, 0.1], [true, false, false])).toBe(0.75);
    // Pairs (pos, neg): (0.3, 0.1) ✓, (0.3, 0.4) ✗, (0.6, 0.1) ✓, (0.6, 0.4) ✓ → 3 / 4.
    expect(rocAuc([0.3, 0.6, 0.1, 0.4], [true, true, false, false])).toBe(0.75);
  });

  it('refuses a sample with one outcome only', () => {
    expect(() => rocAuc([0.1, 0.2], [true, true])).toThrow(RangeError);
  });
});

describe('agreementAfterDeferring', () => {
  it('turns the k highest-scored items into agreements', () => {
    const disagrees = [true, false, true, false];
    expect(agreementAfterDeferring([0.9, 0.1, 0.8, 0.2], disagrees, 0)).toBe(0.5);
    expect(agreementAfterDeferring([0.9, 0.1, 0.8, 0.2], disagrees, 2)).toBe(1);
    // A score that ranks an agreement first wastes the deferral on it.
    expect(agreementAfterDeferring([0.1, 0.9, 0.8, 0.2], disagrees, 2)).toBe(0.75);
  });
});

describe('fitLogistic', () => {
  it('learns a separating direction, whatever the column scales', () => {
    const rows: number[][] = [];
    const y: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const a = (i % 20) / 20;
      rows.push([1000 * a, 5]); // a large-scale informative column beside a constant one
      y.push(a > 0.5);
    }
    const p = fitLogistic(rows, y);
    expect(p([900, 5])).toBeGreaterThan(0.8);
    expect(p([100, 5])).toBeLessThan(0.2);
    expect(rocAuc(rows.map(p), y)).toBe(1);
  });
});

describe('recallFrontier', () => {
  it('finds the cut that reaches the recall floor at the best accuracy, with LLM calls near the cut', () => {
    // Gold: positives at 0.9, 0.7 and 0.3; negatives at 0.5, 0.4 and 0.1.
    const p = [0.9, 0.7, 0.5, 0.4, 0.3, 0.1];
    const gold = [1, 1, 0, 0, 1, 0];
    const llmNone = [-1, -1, -1, -1, -1, -1];
    // No LLM: recall 1 needs the cut at 0.3, which also says yes to 0.5 and 0.4: 4 of 6 right.
    const alone = recallFrontier(p, gold, llmNone, 1, 0, 1);
    expect(alone.best).toMatchObject({ accuracy: 4 / 6, recall: 1, cut: 0.3 });
    // Three calls to an LLM that knows the gold labels, just under a cut at 0.7: every item right.
    const withLlm = recallFrontier(p, gold, gold, 1, 0.5, 1);
    expect(withLlm.best).toMatchObject({ accuracy: 1, recall: 1 });
    // An LLM that gives no usable answer changes nothing.
    expect(recallFrontier(p, gold, llmNone, 1, 0.5, 1).best?.accuracy).toBe(4 / 6);
  });

  it('reports no point when the floor is out of reach, with the highest recall found', () => {
    // The LLM's answers say no everywhere and no call is allowed: the stage's cuts still reach recall 1.
    const r = recallFrontier([0.9, 0.1], [1, 0], [0, 0], 1, 0, 1);
    expect(r.maxRecall).toBe(1);
    // With every item sent to an LLM that always says no, recall is 0 at every cut.
    const never = recallFrontier([0.9, 0.1], [1, 0], [0, 0], 1, 1, 0.5);
    expect(never.best).toBeUndefined();
    expect(never.maxRecall).toBe(0);
  });
});
