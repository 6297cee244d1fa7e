import { describe, expect, it } from 'vitest';
import { wilsonInterval, Z_95 } from '../../src/stats/wilson.js';

describe('wilsonInterval', () => {
  it('gives [0.7222, 0.8749] for 81 successes out of 100 at 95%', () => {
    const w = wilsonInterval(81, 100);
    expect(w?.estimate).toBe(0.81);
    expect(w?.lower).toBeCloseTo(0.7222, 4);
    expect(w?.upper).toBeCloseTo(0.8749, 4);
  });

  it('keeps 0/10 inside [0, 0.2775] with a lower bound of exactly 0', () => {
    const w = wilsonInterval(0, 10);
    expect(w?.lower).toBe(0);
    expect(w?.upper).toBeCloseTo(0.2775, 4);
  });

  it('mirrors 0/10 for 10/10: [0.7225, 1]', () => {
    const w = wilsonInterval(10, 10);
    expect(w?.lower).toBeCloseTo(0.7225, 4);
    expect(w?.upper).toBe(1);
  });

  it('narrows with a smaller z (90%: z = 1.645)', () => {
    const w90 = wilsonInterval(81, 100, 1.6448536);
    const w95 = wilsonInterval(81, 100, Z_95);
    expect(w90!.upper - w90!.lower).toBeLessThan(w95!.upper - w95!.lower);
    expect(w90?.lower).toBeCloseTo(0.7376, 4);
  });

  it('returns null when nothing was observed', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
  });

  it('rejects impossible counts', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 2)).toThrow(RangeError);
  });
});
