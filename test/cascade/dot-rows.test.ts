import { describe, expect, it } from 'vitest';
import { DotRows, simdAvailable } from '../../src/cascade/dot-rows.js';

describe('DotRows', () => {
  it('runs here (Node has WebAssembly SIMD)', () => {
    expect(simdAvailable()).toBe(true);
  });

  it.each([
    [1, 3],
    [7, 100],
    [2048, 100],
    [13, 5],
  ])('scores %i rows of width %i as float64 dot products do, to float32 rounding', (count, width) => {
    const dot = new DotRows(count, width);
    expect(dot.stride % 4).toBe(0);
    let s = 12345;
    const uniform = (): number => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
    const query = Array.from({ length: width }, uniform);
    const rows = Array.from({ length: count }, () => Array.from({ length: width }, uniform));
    query.forEach((x, j) => (dot.query[j] = x));
    rows.forEach((row, i) => row.forEach((x, j) => (dot.rows[i * dot.stride + j] = x)));
    dot.score(count);
    rows.forEach((row, i) => {
      const want = row.reduce((sum, x, j) => sum + Math.fround(x) * Math.fround(query[j] as number), 0);
      expect(dot.scores[i]).toBeCloseTo(want, 4);
    });
  });

  it('scores only the rows asked for (the rest of their block of four aside)', () => {
    const dot = new DotRows(16, 4);
    dot.query.set([1, 1, 1, 1]);
    dot.rows.fill(1);
    dot.scores.fill(-1);
    dot.score(5);
    expect(Array.from(dot.scores.subarray(0, 8))).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    expect(dot.scores[8]).toBe(-1);
  });
});
