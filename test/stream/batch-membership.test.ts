/**
 * What a batch's failed heartbeats tell it about its member: a rebalance under way (stop taking records; commit
 * only within the window before the coordinator may evict it), or an eviction (commit nothing more).
 */
import { describe, expect, it } from 'vitest';
import { noteMembership, pastCommitWindow, type Membership } from '../../src/stream/batch-handler.js';

const kafkaError = (type: string): Error & { type: string } => Object.assign(new Error(type), { type });
const fresh = (windowMs: number): Membership => ({ rebalancing: false, evicted: false, windowMs });

describe('a batch caught in a rebalance', () => {
  it('notes the first rebalance notice and keeps its time through later ones', () => {
    const m = fresh(10_000);
    noteMembership(m, kafkaError('REBALANCE_IN_PROGRESS'));
    expect(m.rebalancing).toBe(true);
    expect(m.evicted).toBe(false);
    const first = m.noticedAt as number;
    expect(first).toBeGreaterThan(0);
    noteMembership(m, kafkaError('REBALANCE_IN_PROGRESS'));
    expect(m.noticedAt).toBe(first);
  });

  it('may commit within the window after the notice, and not past it', () => {
    const m = fresh(10_000);
    expect(pastCommitWindow(m)).toBe(false); // no rebalance: no limit
    noteMembership(m, kafkaError('REBALANCE_IN_PROGRESS'));
    const at = m.noticedAt as number;
    expect(pastCommitWindow(m, at + 9_999)).toBe(false);
    expect(pastCommitWindow(m, at + 10_001)).toBe(true);
  });

  it('takes a lost generation for an eviction, and other errors for nothing', () => {
    for (const type of ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']) {
      const m = fresh(10_000);
      noteMembership(m, kafkaError(type));
      expect(m.evicted, type).toBe(true);
      expect(m.rebalancing, type).toBe(false);
    }
    const m = fresh(10_000);
    noteMembership(m, kafkaError('REQUEST_TIMED_OUT'));
    noteMembership(m, new Error('socket hang up'));
    noteMembership(m, null);
    expect(m).toEqual(fresh(10_000));
  });
});
