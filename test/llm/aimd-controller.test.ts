import { describe, expect, it } from 'vitest';
import { AimdController, TokenBucket, type AimdReason } from '../../src/llm/index.js';

describe('AimdController', () => {
  it('grows by one per window of fast successes while work waits, halves on a throttle at most once per cooldown', () => {
    let t = 0;
    const changes: Array<[number, AimdReason]> = [];
    const c = new AimdController({ initial: 4, min: 1, max: 6, slowMs: 1_000, now: () => t, onChange: (l, r) => changes.push([l, r]) });
    for (let i = 0; i < 4; i++) c.onSuccess(100, true);
    expect(c.limit).toBe(5);
    for (let i = 0; i < 20; i++) c.onSuccess(100, true);
    expect(c.limit).toBe(6); // capped at max
    c.onSuccess(100, false);
    c.onCongestion('throttled');
    c.onCongestion('throttled'); // same congestion event: within the cooldown
    expect(c.limit).toBe(3);
    t += 1_500;
    c.onSuccess(5_000, true); // slower than slowMs
    expect(c.limit).toBe(1);
    expect(changes.map(([, r]) => r)).toEqual(['increase', 'increase', 'throttled', 'slow']);
  });

  it('stays fixed when not adaptive (the FIFO baseline)', () => {
    const c = new AimdController({ initial: 8, min: 1, max: 64, slowMs: 10, adaptive: false });
    c.onCongestion('throttled');
    for (let i = 0; i < 100; i++) c.onSuccess(1, true);
    expect(c.limit).toBe(8);
  });
});

describe('TokenBucket', () => {
  it('holds one second of its per-minute rate and refills continuously', () => {
    let t = 0;
    const b = new TokenBucket(600, () => t); // 10 per second
    expect(b.capacity).toBe(10);
    b.take(10);
    expect(b.waitMs(1)).toBe(100);
    t += 100;
    expect(b.waitMs(1)).toBe(0);
  });
});
