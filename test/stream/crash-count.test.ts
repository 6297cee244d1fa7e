/**
 * How `kafka.maxRestarts` counts crashes "in a row": a broker that stays down crashes a consumer every ~30 s and
 * those add up; progress, or a minute without a crash, starts a new count.
 */
import { describe, expect, it } from 'vitest';
import { CrashCount } from '../../src/stream/crash-count.js';

describe('CrashCount', () => {
  it('allows maxRestarts crashes in a row ~30 s apart (a broker that stays down), then refuses', () => {
    const crashes = new CrashCount(3);
    const answers = [0, 30_000, 60_000, 90_000, 120_000].map((t) => crashes.crashed(t));
    expect(answers).toEqual([true, true, true, false, false]);
    expect(crashes.count).toBe(5);
  });

  it('starts a new count after progress', () => {
    const crashes = new CrashCount(2);
    expect(crashes.crashed(0)).toBe(true);
    expect(crashes.crashed(1_000)).toBe(true);
    crashes.progressed();
    expect(crashes.count).toBe(0);
    expect(crashes.crashed(2_000)).toBe(true);
    expect(crashes.crashed(3_000)).toBe(true);
    expect(crashes.crashed(4_000)).toBe(false);
  });

  it('starts a new count when a minute or more passed since the last crash (blips on an idle topic)', () => {
    const crashes = new CrashCount(1);
    const hour = 3_600_000;
    for (let i = 0; i < 10; i++) expect(crashes.crashed(i * hour)).toBe(true);
    expect(crashes.crashed(9 * hour + 59_999)).toBe(false);
  });

  it('pauses 600 ms before the first restart, doubling per crash in a row, at most 10 s', () => {
    const crashes = new CrashCount(10);
    const pauses: number[] = [];
    for (let i = 0; i < 7; i++) {
      crashes.crashed(i * 1_000);
      pauses.push(crashes.pauseMs);
    }
    expect(pauses).toEqual([600, 1_200, 2_400, 4_800, 9_600, 10_000, 10_000]);
  });
});
