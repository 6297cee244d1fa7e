/**
 * The anytime-valid bounds behind quality targets: coverage on simulated Bernoulli streams (the bound is ever
 * wrong in at most α of the runs, read after every observation), and power (it tightens, and the exceedance
 * test catches a mean above its null within a few samples).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/cascade/rng.js';
import { ExceedanceTest, UpperConfidenceSequence } from '../../src/stats/confidence-sequence.js';

describe('UpperConfidenceSequence', () => {
  it('covers the mean at every step in at least 1 − α of 400 runs', () => {
    const alpha = 0.1;
    const rng = new Rng(7);
    let violated = 0;
    for (let run = 0; run < 400; run++) {
      const p = [0.02, 0.1, 0.3, 0.5][run % 4] as number;
      const cs = new UpperConfidenceSequence(alpha);
      let ever = false;
      for (let i = 0; i < 1500; i++) {
        cs.push(rng.next() < p ? 1 : 0);
        if (cs.upper < p) ever = true;
      }
      if (ever) violated++;
    }
    expect(violated / 400).toBeLessThanOrEqual(alpha);
  });

  it('tightens: after 3,000 draws of Bernoulli(0.1) the bound is under 0.13', () => {
    const rng = new Rng(3);
    const cs = new UpperConfidenceSequence(0.05);
    for (let i = 0; i < 3000; i++) cs.push(rng.next() < 0.1 ? 1 : 0);
    expect(cs.upper).toBeGreaterThan(0.1);
    expect(cs.upper).toBeLessThan(0.13);
    expect(cs.mean).toBeCloseTo(0.1, 1);
  });

  it('refuses an α outside (0, 1)', () => {
    expect(() => new UpperConfidenceSequence(0)).toThrow(RangeError);
    expect(() => new UpperConfidenceSequence(1)).toThrow(RangeError);
  });
});

describe('ExceedanceTest', () => {
  it('rejects in at most α of 400 runs when the mean is at its null', () => {
    const rng = new Rng(11);
    let rejected = 0;
    for (let run = 0; run < 400; run++) {
      const test = new ExceedanceTest(0.1, 0.05);
      for (let i = 0; i < 1000; i++) test.push(rng.next() < 0.1 ? 1 : 0);
      if (test.rejected) rejected++;
    }
    expect(rejected / 400).toBeLessThanOrEqual(0.05);
  });

  it('catches a stage gone wrong on half its answers within 30 samples', () => {
    const rng = new Rng(5);
    const test = new ExceedanceTest(0.1, 0.005);
    let at = -1;
    for (let i = 1; i <= 200 && at < 0; i++) if (test.push(rng.next() < 0.5 ? 1 : 0)) at = i;
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThanOrEqual(30);
  });
});
