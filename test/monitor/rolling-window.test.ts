import { describe, expect, it } from 'vitest';
import { WindowedCounter } from '../../src/monitor/rolling-window.js';

/** A clock the test moves by hand. */
function fakeClock(startMs = 1_700_000_000_000) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('WindowedCounter', () => {
  it('counts the same events in every window while they are recent', () => {
    const clock = fakeClock();
    const c = new WindowedCounter(clock.now);
    c.add();
    c.add(2);
    expect([c.sum('1m'), c.sum('15m'), c.sum('all')]).toEqual([3, 3, 3]);
  });

  it('drops events older than a minute from the 1m window but keeps them in 15m and all', () => {
    const clock = fakeClock();
    const c = new WindowedCounter(clock.now);
    c.add(5);
    clock.advance(30_000);
    c.add(1);
    clock.advance(31_000);
    expect(c.sum('1m')).toBe(1);
    expect(c.sum('15m')).toBe(6);
    clock.advance(30_000);
    expect(c.sum('1m')).toBe(0);
    expect(c.sum('all')).toBe(6);
  });

  it('forgets everything in 15m after a quarter hour (plus one bucket) but not since start', () => {
    const clock = fakeClock();
    const c = new WindowedCounter(clock.now);
    c.add(4);
    clock.advance(14 * 60_000);
    expect(c.sum('15m')).toBe(4);
    clock.advance(60_000 + 10_000);
    expect(c.sum('15m')).toBe(0);
    expect(c.sum('all')).toBe(4);
  });

  it('handles a long idle gap and then counts afresh', () => {
    const clock = fakeClock();
    const c = new WindowedCounter(clock.now);
    c.add(7);
    clock.advance(3 * 3_600_000);
    c.add(1);
    expect([c.sum('1m'), c.sum('15m'), c.sum('all')]).toEqual([1, 1, 8]);
  });

  it('accepts an explicit timestamp so one event reads the clock once', () => {
    const clock = fakeClock();
    const c = new WindowedCounter(clock.now);
    const t = clock.now();
    c.add(1, t);
    c.add(1, t + 500);
    expect(c.sum('1m', t + 59_000)).toBe(2);
    expect(c.sum('1m', t + 61_000)).toBe(0);
  });
});
