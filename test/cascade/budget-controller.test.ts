import { describe, expect, it } from 'vitest';
import { BudgetController } from '../../src/cascade/budget-controller.js';
import { Rng } from '../../src/cascade/rng.js';

describe('BudgetController', () => {
  describe('when the stream length is known', () => {
    it('spends exactly the budget, never more, whatever the scores say', () => {
      const rng = new Rng(3);
      const n = 5000;
      const b = new BudgetController({ budget: 0.2, horizonItems: n, warmupItems: 100 });
      for (let i = 0; i < n; i++) b.decide(rng.next() ** 0.3); // scores skewed high: everyone "wants" the LLM
      expect(b.calls).toBeLessThanOrEqual(0.2 * n);
      expect(b.calls).toBeGreaterThanOrEqual(0.2 * n - 0.01 * n);
    });

    it('sends the highest-scoring items once the warm-up is over', () => {
      const rng = new Rng(4);
      const b = new BudgetController({ budget: 0.1, horizonItems: 4000, warmupItems: 0, frontLoad: 1 });
      let highSent = 0;
      let lowSent = 0;
      for (let i = 0; i < 4000; i++) {
        const score = rng.next();
        if (b.decide(score)) score > 0.9 ? highSent++ : lowSent++;
      }
      expect(highSent).toBeGreaterThan(4 * lowSent);
    });

    it('front-loads: spends more of the budget in the first half, the same in total', () => {
      const run = (frontLoad: number): { half: number; total: number } => {
        const rng = new Rng(6);
        const b = new BudgetController({ budget: 0.3, horizonItems: 6000, warmupItems: 50, frontLoad });
        let half = 0;
        for (let i = 0; i < 6000; i++) {
          b.decide(rng.next());
          if (i === 2999) half = b.calls;
        }
        return { half, total: b.calls };
      };
      const even = run(1);
      const front = run(0.5);
      expect(front.half).toBeGreaterThan(even.half * 1.2);
      expect(front.total).toBeLessThanOrEqual(0.3 * 6000);
      expect(Math.abs(front.total - even.total)).toBeLessThan(0.01 * 6000);
    });
  });

  describe('when the stream length is unknown (the decaying front-load)', () => {
    it('spends more early, stays within budget × t + burst + B over every prefix, and converges to the target', () => {
      const rng = new Rng(12);
      const budget = 0.3;
      const b = new BudgetController({ budget, warmupItems: 0 }); // T = 500, B = budget × T = 150
      const plain = new BudgetController({ budget, warmupItems: 0, frontLoadItems: 0 });
      let worst = -Infinity;
      let early = 0;
      let earlyPlain = 0;
      for (let t = 1; t <= 8000; t++) {
        const score = rng.next();
        b.decide(score);
        plain.decide(score);
        worst = Math.max(worst, b.calls - (budget * t + 10 + 150));
        if (t === 600) [early, earlyPlain] = [b.calls, plain.calls];
      }
      expect(worst).toBeLessThanOrEqual(0);
      // Around the peak (t ≈ T) the front-load has spent about B more than even pacing.
      expect(early - earlyPlain).toBeGreaterThan(100);
      // Repaid by the end: within a point of the target.
      expect(Math.abs(b.llmShare - budget)).toBeLessThan(0.01);
      expect(b.frontLoadExcess(8000)).toBeLessThan(0.01);
    });

    it('does not front-load when turned off (a restored cascade)', () => {
      const b = new BudgetController({ budget: 0.2, warmupItems: 0, frontLoadItems: 0 });
      expect(b.frontLoadExcess(500)).toBe(0);
      expect(b.allowance(1000)).toBe(0.2 * 1000 + 10);
    });
  });

  describe('when the stream length is unknown', () => {
    it('answers everything during the warm-up, then repays it so the share converges to the target', () => {
      const rng = new Rng(5);
      const b = new BudgetController({ budget: 0.15, warmupItems: 200 });
      for (let i = 0; i < 200; i++) expect(b.decide(0)).toBe(true);
      for (let i = 0; i < 20_000; i++) b.decide(rng.next());
      expect(b.llmShare).toBeLessThanOrEqual(0.15 + 200 / 20_200);
      expect(b.llmShare).toBeGreaterThan(0.13);
    });
  });

  it('leaves items the cache answered out of the budget: hits save calls rather than freeing them', () => {
    const b = new BudgetController({ budget: 0.2, horizonItems: 1000, warmupItems: 0, frontLoad: 1 });
    const rng = new Rng(8);
    for (let i = 0; i < 500; i++) b.exclude(); // half the stream answered from cache
    for (let i = 0; i < 500; i++) b.decide(rng.next());
    expect(b.calls).toBeLessThanOrEqual(100);
    expect(b.calls).toBeGreaterThanOrEqual(95);
  });

  describe('when earlier stages answer most items (the learned cascade spent 10.8 % of a 50 % budget)', () => {
    it('opens the gate to every item that reaches it instead of closing it', () => {
      // 70 % of items exit early (score −∞): the quantile for a 50 % rate is −∞, which must mean "send all
      // that reach the gate", not τ = 1 (a τ of 1 raised the early-exit bar and locked the gate shut).
      const rng = new Rng(11);
      const b = new BudgetController({ budget: 0.5, warmupItems: 0 });
      let reached = 0;
      let sent = 0;
      for (let i = 0; i < 4000; i++) {
        const early = rng.next() < 0.7;
        if (!early) reached++;
        if (b.decide(early ? -Infinity : rng.next()) && !early) sent++;
      }
      expect(b.threshold).toBeLessThan(0.05);
      expect(sent).toBeGreaterThan(0.95 * reached);
    });
  });

  it('never calls below the μ floor, even with budget to spare', () => {
    const b = new BudgetController({ budget: 1, horizonItems: 1000, warmupItems: 0, minThreshold: 0.5 });
    for (let i = 0; i < 1000; i++) b.decide(0.3);
    expect(b.calls).toBe(0);
  });

  it('rejects a budget outside (0, 1]', () => {
    expect(() => new BudgetController({ budget: 0, warmupItems: 0 })).toThrow(RangeError);
    expect(() => new BudgetController({ budget: 1.5, warmupItems: 0 })).toThrow(RangeError);
  });
});

describe('capacity cap', () => {
  it('raises the threshold so that at most the capped share of recent scores passes, and lifts it again', () => {
    const b = new BudgetController({ budget: 0.5, warmupItems: 0 });
    for (let i = 0; i < 512; i++) b.decide((i % 100) / 100);
    const uncapped = b.threshold;
    b.setCapacityCap(0.05);
    expect(b.capacityShare).toBe(0.05);
    expect(b.threshold).toBeGreaterThan(uncapped);
    expect(b.threshold).toBeGreaterThanOrEqual(0.9);
    b.setCapacityCap(undefined);
    expect(Math.abs(b.threshold - uncapped)).toBeLessThan(0.05);
  });

  it('refund gives back a granted call that was never made', () => {
    const b = new BudgetController({ budget: 0.5, warmupItems: 10 });
    expect(b.decide(0.9)).toBe(true);
    expect(b.calls).toBe(1);
    b.refund();
    expect(b.calls).toBe(0);
  });
});

describe('a group that learns together', () => {
  /** Calls granted over `items` items that all want the LLM (forced: only the hard cap says no). */
  const spend = (b: BudgetController, items: number): number => {
    for (let i = 0; i < items; i++) b.decide(1, true);
    return b.calls;
  };

  it('pays one warm-up and one front-load: three workers on a third of the stream each spend what one would', () => {
    const one = spend(new BudgetController({ budget: 0.3, warmupItems: 100 }), 1_200);
    const thirds = [0, 1, 2].map(() => {
      const b = new BudgetController({ budget: 0.3, warmupItems: 100 });
      b.setGroupShare(1 / 3);
      expect(b.warmupItems).toBe(34);
      return spend(b, 400);
    });
    const group = thirds.reduce((a, c) => a + c, 0);
    expect(Math.abs(group - one)).toBeLessThanOrEqual(0.02 * 1_200);
    // Each paying a whole youth would have spent far more.
    const alone = spend(new BudgetController({ budget: 0.3, warmupItems: 100 }), 400);
    expect(3 * alone).toBeGreaterThan(group + 0.1 * 1_200);
  });

  it('paces by the score threshold as one worker would: three workers spend as much while the scores fall', () => {
    // Not forced: the threshold decides. Scores fall as the models learn (with the group's progress): a
    // worker whose window and lookahead spanned three times the group's items kept a stale, high threshold.
    const paced = (b: BudgetController, items: number, rng: Rng, groupStep: number): number => {
      for (let i = 0; i < items; i++) b.decide(rng.next() * Math.exp(-(i * groupStep) / 400));
      return b.calls;
    };
    for (const items of [600, 1_500, 3_000]) {
      const one = paced(new BudgetController({ budget: 0.3, warmupItems: 100 }), items, new Rng(11), 1);
      const group = [0, 1, 2]
        .map((w) => {
          const b = new BudgetController({ budget: 0.3, warmupItems: 100 });
          b.setGroupShare(1 / 3);
          return paced(b, items / 3, new Rng(20 + w), 3);
        })
        .reduce((a, c) => a + c, 0);
      expect(Math.abs(group - one) / one, `${items} items: one ${one}, group ${group}`).toBeLessThan(0.08);
    }
  });

  it('keeps a matured controller mature: a replayed group needs no warm-up, whatever its share', () => {
    const b = new BudgetController({ budget: 0.3, warmupItems: 100 });
    b.mature();
    b.setGroupShare(0.5);
    expect(b.warmupItems).toBe(0);
    expect(b.frontLoadExcess(500)).toBe(0);
  });
});
