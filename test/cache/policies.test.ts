/**
 * Eviction order of each policy on hand-built access sequences, through the in-process cache (which only asks
 * the policy for priorities). Entries all have the same accounted size, so GDSF's cost/size is cost-driven.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, lecDecayedCount, lecPolicy, type CachePolicyName } from '../../src/cache/policies/index.js';
import { MemoryCache } from '../../src/cache/memory-cache.js';
import { ANSWER, SEQUENCE, type Step } from './access-sequence.js';

const key = (name: string): string => name.repeat(40);

/** Runs a sequence on a cache of `capacity` entries; returns the evicted keys in order and what remains by eviction order. */
function run(policy: CachePolicyName, capacity: number, steps: readonly Step[], halfLife = 2): { evicted: string[]; order: string[] } {
  const evicted: string[] = [];
  const cache = new MemoryCache({
    maxBytes: 1e9,
    maxEntries: capacity,
    policy: createPolicy(policy, { lecHalfLifeAccesses: halfLife }),
    onEvict: (k) => evicted.push(k.charAt(0)),
  });
  for (const step of steps) {
    if (step[0] === 'set') cache.set(key(step[1]), ANSWER, step[2]);
    else cache.get(key(step[1]));
  }
  return { evicted, order: cache.evictionOrder().map((k) => k.charAt(0)) };
}

describe('LRU', () => {
  it('evicts the least recently accessed entry, whatever its cost', () => {
    expect(run('lru', 3, SEQUENCE)).toEqual({ evicted: ['a'], order: ['c', 'b', 'd'] });
  });
});

describe('GDSF', () => {
  it('evicts the lowest frequency × cost / size, refusing a cheap newcomer', () => {
    // Priorities: a 1000/s, b 30/s, c 20/s, d 10/s: the newcomer d is the cheapest to lose.
    expect(run('gdsf', 3, SEQUENCE)).toEqual({ evicted: ['d'], order: ['c', 'b', 'a'] });
  });

  it('ages untouched entries through the clock', () => {
    // After d is evicted the clock L = 10/s, so a new e (cost 15) enters at (10 + 15)/s > c's 20/s: c goes.
    const { evicted } = run('gdsf', 3, [...SEQUENCE, ['set', 'e', 15]]);
    expect(evicted).toEqual(['d', 'c']);
  });

  it('breaks ties in priority by recency, not by key', () => {
    // c, b, a all at L + 10/s: the least recently stored, c, goes (key order would pick a).
    expect(
      run('gdsf', 3, [
        ['set', 'c', 10],
        ['set', 'b', 10],
        ['set', 'a', 10],
        ['set', 'd', 20],
      ]).evicted,
    ).toEqual(['c']);
  });
});

describe('LEC', () => {
  it('evicts the lowest decayed frequency × expected cost', () => {
    // Half-life 2 accesses: b (ticks 2,4,6) ≈ 14 × 10, c (3,5) ≈ 8.5 × 10, d (7) ≈ 11.3 × 10, a (1) ≈ 1.4 × 1000.
    expect(run('lec', 3, SEQUENCE)).toEqual({ evicted: ['c'], order: ['d', 'b', 'a'] });
  });

  it('forgets old popularity: recent accesses outweigh many old ones', () => {
    const steps: Step[] = [
      ['set', 'a', 10],
      ['get', 'a'],
      ['get', 'a'],
      ['get', 'a'],
      ['set', 'b', 10],
    ];
    for (let i = 0; i < 12; i += 1) steps.push(['get', 'b']);
    steps.push(['set', 'c', 10]);
    for (let i = 0; i < 12; i += 1) steps.push(['get', 'c']);
    steps.push(['set', 'd', 10]);
    // LFU would keep a (4 accesses); with decay a's accesses are long gone, so a goes first.
    expect(run('lec', 3, steps).evicted).toEqual(['a']);
  });

  it('keeps frequency state whose decayed count matches the accesses', () => {
    const policy = lecPolicy(10);
    let freq = policy.bump(undefined, { tick: 10, clock: 0 });
    freq = policy.bump(freq, { tick: 20, clock: 0 });
    // At tick 20: the access at 20 counts 1 and the one at 10 counts 1/2.
    expect(lecDecayedCount(freq, 20, 10)).toBeCloseTo(1.5, 10);
  });
});

describe('LEC with lookup history', () => {
  it('keeps a newcomer that was looked up often before it was stored', () => {
    const evicted: string[] = [];
    const cache = new MemoryCache({
      maxBytes: 1e9,
      maxEntries: 2,
      policy: createPolicy('lec', { lecHalfLifeAccesses: 1000 }),
      onEvict: (k) => evicted.push(k.charAt(0)),
    });
    cache.set(key('a'), ANSWER, 10);
    cache.set(key('b'), ANSWER, 10);
    cache.get(key('a'));
    // c missed five times (answered elsewhere) before its answer was stored: its history outweighs b's one access.
    for (let i = 0; i < 5; i += 1) expect(cache.get(key('c'))).toBeUndefined();
    expect(cache.priorAccesses(key('c'))).toBe(5);
    cache.set(key('c'), ANSWER, 10);
    expect(evicted).toEqual(['b']);
    expect(cache.evictionOrder().map((k) => k.charAt(0))).toEqual(['a', 'c']);
  });
});
