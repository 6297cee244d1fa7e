import { describe, expect, it } from 'vitest';
import { ConfidenceCalibration, PseudoLabeler } from '../../src/cascade/pseudo-labeler.js';

const probs = (...p: number[]): Float32Array => Float32Array.from(p);
const warm = (): boolean => true;

describe('ConfidenceCalibration', () => {
  it("trusts a confidence bin by the Wilson lower bound of its answers' agreement with the LLM", () => {
    const cal = new ConfidenceCalibration(10, 1e9);
    // Bin 0.9–1.0: 95 of 100 agreed; bin 0.6–0.7: 50 of 100.
    for (let i = 0; i < 100; i++) cal.record(0.95, i < 95);
    for (let i = 0; i < 100; i++) cal.record(0.65, i < 50);
    expect(cal.lowerBound(0.97)).toBeGreaterThan(0.88);
    expect(cal.lowerBound(0.97)).toBeLessThan(0.95);
    expect(cal.lowerBound(0.62)).toBeLessThan(0.5);
    expect(cal.lowerBound(0.3)).toBe(0); // no evidence, no trust
  });

  it('forgets old evidence: counts halve every half-life', () => {
    const forgetful = new ConfidenceCalibration(10, 50);
    const lasting = new ConfidenceCalibration(10, 1e9);
    for (const cal of [forgetful, lasting]) {
      for (let i = 0; i < 200; i++) cal.record(0.95, false);
      for (let i = 0; i < 200; i++) cal.record(0.95, true);
    }
    expect(forgetful.lowerBound(0.95)).toBeGreaterThan(0.8);
    expect(lasting.lowerBound(0.95)).toBeLessThan(0.55);
  });
});

describe('PseudoLabeler', () => {
  /** 200 LLM labels on which the stages' answers of confidence 0.95 agreed 95 times in 100, of 0.65 half the time. */
  function calibrated(mode: 'self' | 'co', perLabel = 1): PseudoLabeler {
    const p = new PseudoLabeler({ mode, stages: 2, precisionFloor: 0.8, perLabel });
    for (let i = 0; i < 100; i++) p.record([probs(0.95, 0.05), probs(0.95, 0.05)], i < 95 ? 0 : 1);
    for (let i = 0; i < 100; i++) p.record([probs(0.65, 0.35), probs(0.65, 0.35)], i % 2);
    return p;
  }

  it("self: the deepest stage's trusted answer teaches every stage it passed through", () => {
    const p = calibrated('self');
    expect(p.judge([probs(0.6, 0.4), probs(0.08, 0.92)], warm)).toEqual({ label: 1, learners: [0, 1] });
    expect(p.judge([probs(0.95, 0.05), probs(0.35, 0.65)], warm)).toBeUndefined(); // the deepest stage is unsure
    expect(p.judge([probs(0.92, 0.08)], warm)).toEqual({ label: 0, learners: [0] });
  });

  it('co: only when the two stages agree, trusted as a pair', () => {
    const p = calibrated('co');
    expect(p.judge([probs(0.93, 0.07), probs(0.91, 0.09)], warm)).toEqual({ label: 0, learners: [0, 1] });
    expect(p.judge([probs(0.93, 0.07), probs(0.05, 0.95)], warm)).toBeUndefined(); // they disagree
    expect(p.judge([probs(0.93, 0.07), probs(0.62, 0.38)], warm)).toBeUndefined(); // the weaker one is unsure
    expect(p.judge([probs(0.93, 0.07)], warm)).toBeUndefined(); // one stage only
  });

  it('nothing while a stage is cold, nothing when off, and no more than perLabel per LLM label', () => {
    const p = calibrated('self', 0.01); // 200 labels: 2 pseudo-labels
    expect(p.judge([probs(0.95, 0.05), probs(0.95, 0.05)], (i) => i === 0)).toBeUndefined();
    expect(p.judge([probs(0.95, 0.05), probs(0.95, 0.05)], warm)).toBeDefined();
    expect(p.judge([probs(0.95, 0.05), probs(0.95, 0.05)], warm)).toBeDefined();
    expect(p.judge([probs(0.95, 0.05), probs(0.95, 0.05)], warm)).toBeUndefined();
    const off = new PseudoLabeler({ mode: 'off', stages: 2, precisionFloor: 0.8, perLabel: 1 });
    for (let i = 0; i < 100; i++) off.record([probs(0.9, 0.1), probs(0.9, 0.1)], 0);
    expect(off.judge([probs(0.95, 0.05), probs(0.95, 0.05)], warm)).toBeUndefined();
  });
});
