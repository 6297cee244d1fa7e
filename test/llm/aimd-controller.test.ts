import { describe, expect, it } from 'vitest';
import { AimdController, TokenBucket, type AimdReason } from '../../src/llm/index.js';

describe('AimdController', () => {
  it('grows by one per success until the first congestion (slow start), then by one per window, halving on a throttle at most once per cooldown', () => {
    let t = 0;
    const changes: Array<[number, AimdReason]> = [];
    const c = new AimdController({ initial: 4, min: 1, max: 64, slowMs: 1_000, now: () => t, onChange: (l, r) => changes.push([l, r]) });
    for (let i = 0; i < 4; i++) c.onSuccess(100, true);
    expect(c.limit).toBe(8); // slow start: one per success
    c.onSuccess(100, false); // no work waiting: no growth
    expect(c.limit).toBe(8);
    c.onCongestion('throttled');
    c.onCongestion('throttled'); // same congestion event: within the cooldown
    expect(c.limit).toBe(4);
    for (let i = 0; i < 4; i++) c.onSuccess(100, true);
    expect(c.limit).toBe(5); // after congestion: one per limit's worth of successes
    for (let i = 0; i < 200; i++) c.onSuccess(100, true);
    expect(c.limit).toBe(21);
    t += 1_500;
    c.onSuccess(5_000, true); // slower than slowMs
    expect(c.limit).toBe(10);
    expect(changes.filter(([, r]) => r !== 'increase').map(([l, r]) => `${r}:${l}`)).toEqual(['throttled:4', 'slow:10']);
  });

  it('never grows past its maximum', () => {
    const c = new AimdController({ initial: 4, min: 1, max: 6, slowMs: 1_000 });
    for (let i = 0; i < 50; i++) c.onSuccess(100, true);
    expect(c.limit).toBe(6);
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
