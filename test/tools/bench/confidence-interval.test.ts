/** The multi-seed report's intervals, checked on samples whose intervals are known by hand. */
import { describe, expect, it } from 'vitest';
import { meanInterval, pairedDifference, tQuantile975 } from '../../../tools/bench/index.js';
import type { BenchReport, StrategyResult } from '../../../tools/bench/index.js';
import { summarizeSeeds } from '../../../tools/bench/index.js';

describe('tQuantile975', () => {
  it('gives the tabled Student-t quantiles and tends to the normal one', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(4)).toBeCloseTo(2.776, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.042, 3);
    // Beyond the table: t(0.975, 60) = 2.0003, t(0.975, 120) = 1.9799.
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(120)).toBeCloseTo(1.9799, 3);
    expect(() => tQuantile975(0)).toThrow(RangeError);
  });
});

describe('meanInterval', () => {
  it('is mean ± t(n−1) · s / √n', () => {
    // 1..5: mean 3, s = √2.5, s/√5 = 0.70711, t(4) = 2.776 → half-width 1.96293.
    const m = meanInterval([1, 2, 3, 4, 5]);
    expect(m.mean).toBe(3);
    expect(m.halfWidth).toBeCloseTo(1.96293, 4);
    expect(m.low).toBeCloseTo(1.03707, 4);
    expect(m.high).toBeCloseTo(4.96293, 4);
  });

  it('has zero width for one value or identical values', () => {
    expect(meanInterval([0.5])).toMatchObject({ mean: 0.5, low: 0.5, high: 0.5, n: 1 });
    expect(meanInterval([0.25, 0.25, 0.25]).halfWidth).toBe(0);
    expect(() => meanInterval([])).toThrow(RangeError);
  });

  it('pairs differences seed by seed', () => {
    // a − b = 0.01, 0.02, 0.03: mean 0.02, s = 0.01, t(2) = 4.303 → half-width 0.024843.
    const d = pairedDifference([0.51, 0.62, 0.43], [0.5, 0.6, 0.4]);
    expect(d.mean).toBeCloseTo(0.02, 10);
    expect(d.halfWidth).toBeCloseTo(0.024843, 5);
    expect(() => pairedDifference([1], [1, 2])).toThrow(RangeError);
  });
});

function row(strategy: string, budget: number, accuracy: number, share: number): StrategyResult {
  return {
    strategy,
    budget,
    items: 100,
    llm_calls: share * 100,
    llm_share: share,
    accuracy,
    macro_f1: accuracy,
    balanced_accuracy: accuracy,
    recall: [accuracy, accuracy],
    agreement: 0.9,
    stage_share: [0.5, 0.5 - share, share],
    cost_units: 10,
    items_per_s: 1000,
    objective: accuracy,
  };
}

function report(seed: number, learned: number, threshold: number): BenchReport {
  return {
    dataset: 'd',
    task: 't',
    teacher: 'x',
    items: 100,
    sample: 0.5,
    seed,
    horizon: 'unknown',
    objective: 'accuracy',
    results: [row('learned', 0.3, learned, 0.3), row('threshold', 0.3, threshold, 0.31)],
  };
}

describe('summarizeSeeds', () => {
  const summary = summarizeSeeds([report(1, 0.6, 0.55), report(2, 0.5, 0.48), report(3, 0.7, 0.66)]);

  it('keeps the report fields and adds the seeds, means and intervals', () => {
    expect(summary).toMatchObject({ dataset: 'd', task: 't', teacher: 'x', items: 100, sample: 0.5, seed: 1, seeds: [1, 2, 3] });
    const learned = summary.results.find((r) => r.strategy === 'learned');
    expect(learned?.accuracy).toBeCloseTo(0.6, 10);
    // 0.6, 0.5, 0.7: s = 0.1, t(2) = 4.303 → half-width 0.24843.
    expect(learned?.ci95.accuracy?.[0]).toBeCloseTo(0.6 - 0.2484, 4);
    expect(learned?.ci95.accuracy?.[1]).toBeCloseTo(0.6 + 0.2484, 4);
    expect(learned?.recall).toEqual([0.6, 0.6]);
    expect(summary.runs.map((r) => r.seed)).toEqual([1, 2, 3]);
  });

  it('gives the paired difference against the threshold per budget', () => {
    const d = summary.differences.find((x) => x.metric === 'accuracy');
    // learned − threshold = 0.05, 0.02, 0.04: mean 0.03667, s = 0.015275, t(2) → half-width 0.037946.
    expect(d).toMatchObject({ strategy: 'learned', baseline: 'threshold', budget: 0.3 });
    expect(d?.mean).toBeCloseTo(0.0367, 4);
    expect(d?.low).toBeCloseTo(0.0367 - 0.0379, 3);
    expect(d?.per_seed).toEqual([0.05, 0.02, 0.04]);
    const share = summary.differences.find((x) => x.metric === 'llm_share');
    expect(share?.mean).toBeCloseTo(-0.01, 10);
  });

  it('refuses seeds whose rows do not match', () => {
    const odd = report(4, 0.5, 0.5);
    odd.results = odd.results.slice(0, 1);
    expect(() => summarizeSeeds([report(1, 0.6, 0.55), odd])).toThrow(/no row for sequential:threshold@0.3/);
  });
});

describe('summarizeSeeds with LLM tiers', () => {
  const tiered = (seed: number, accuracy: number, cost: number): BenchReport => {
    const base = report(seed, 0.6, 0.55);
    const extra: StrategyResult = { ...row('tiered', 0.3, accuracy, 0.3), cost_units: cost, tier_calls: [30, 10 + seed], escalated_share: (10 + seed) / 100 };
    return { ...base, tiers: { models: ['cheap', 'x'], costUnits: [1, 10] }, results: [...base.results, extra] };
  };
  const summary = summarizeSeeds([tiered(1, 0.61, 12), tiered(2, 0.5, 14), tiered(3, 0.68, 13)]);

  it('pairs the tiered strategy with the one-teacher cascade it extends, cost units included', () => {
    const vsLearned = summary.differences.filter((d) => d.strategy === 'tiered');
    expect(new Set(vsLearned.map((d) => d.baseline))).toEqual(new Set(['learned']));
    expect(vsLearned.find((d) => d.metric === 'accuracy')?.per_seed).toEqual([0.01, -0.1, 0.08]);
    expect(vsLearned.find((d) => d.metric === 'cost_units')?.per_seed).toEqual([2, 4, 3]);
    // The others keep the threshold baseline and no cost difference.
    expect(summary.differences.filter((d) => d.strategy === 'learned').every((d) => d.baseline === 'threshold' && d.metric !== 'cost_units')).toBe(true);
  });

  it('averages the calls per tier and gives the escalated share an interval', () => {
    const row = summary.results.find((r) => r.strategy === 'tiered');
    expect(row?.tier_calls).toEqual([30, 12]);
    expect(row?.escalated_share).toBeCloseTo(0.12, 10);
    expect(row?.ci95.escalated_share?.[0]).toBeLessThan(0.12);
    expect(summary.tiers).toEqual({ models: ['cheap', 'x'], costUnits: [1, 10] });
  });
});
