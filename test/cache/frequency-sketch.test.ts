import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../src/cache/frequency-sketch.js';

describe('FrequencySketch', () => {
  it('counts lookups per key, never below the truth', () => {
    const sketch = new FrequencySketch(1024, 1_000_000);
    for (let i = 0; i < 200; i += 1) for (let r = 0; r <= i % 5; r += 1) sketch.add(`key-${i}`);
    for (let i = 0; i < 200; i += 1) expect(sketch.estimate(`key-${i}`)).toBeGreaterThanOrEqual((i % 5) + 1);
    // With 4 rows of 1024 counters and 200 keys, collisions in every row are rare: most counts are exact.
    const exact = Array.from({ length: 200 }, (_, i) => sketch.estimate(`key-${i}`) === (i % 5) + 1).filter(Boolean).length;
    expect(exact).toBeGreaterThan(190);
    expect(sketch.estimate('never-seen')).toBeLessThanOrEqual(1);
  });

  it('halves every count after a half-life of additions', () => {
    const sketch = new FrequencySketch(64, 10);
    for (let i = 0; i < 8; i += 1) sketch.add('hot');
    expect(sketch.estimate('hot')).toBe(8);
    sketch.add('other');
    sketch.add('other'); // the 10th addition ages the sketch
    expect(sketch.estimate('hot')).toBe(4);
    expect(sketch.estimate('other')).toBe(1);
  });
});
