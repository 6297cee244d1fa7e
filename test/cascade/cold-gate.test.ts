/**
 * The cold gate (a backlog poured at a cold stage): an item with no budget and no warm stage waits
 * while LLM answers are on their way to warm its stage, and never longer than its allowance, than its stage
 * is warming, or than there is something to wait for. The queue is a plain object whose state the test
 * moves, as the scheduler's would move.
 */
import { describe, expect, it } from 'vitest';
import { ColdGate } from '../../src/cascade/cold-gate.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function scene(tickMs = 5): { gate: ColdGate; queue: { busy: boolean }; holds: () => number } {
  const queue = { busy: true };
  let holds = 0;
  const gate = new ColdGate({ queue, tickMs, onHold: () => holds++ });
  return { gate, queue, holds: () => holds };
}

describe('the cold gate', () => {
  it('holds items while their stage warms and answers are on their way, and lets them go when it is warm', async () => {
    const { gate, holds } = scene();
    let warming = true;
    const released: number[] = [];
    const waits = [1, 2, 3].map((n) => gate.wait(() => warming, 10_000).then((ms) => released.push(n) && ms));
    await sleep(30);
    expect(released).toEqual([]);
    expect(gate.size).toBe(3);
    expect(holds()).toBe(1);
    warming = false;
    const waited = await Promise.all(waits);
    expect(released.sort()).toEqual([1, 2, 3]);
    expect(waited.every((ms) => ms >= 25)).toBe(true);
    expect(gate.totalHeld).toBe(3);
  });

  it('holds nothing when no LLM answer is on its way, and lets go of what it held when they stop coming', async () => {
    const { gate, queue } = scene();
    const held = gate.wait(() => true, 10_000);
    await sleep(20);
    expect(gate.size).toBe(1);
    queue.busy = false;
    expect(await held).toBeGreaterThan(0);
    // Nothing could warm the stage now: the next item is not held at all.
    expect(await gate.wait(() => true, 10_000)).toBe(0);
    expect(gate.totalHeld).toBe(1);
  });

  it('lets an item go when its wait runs out, and does not hold a stage that is not warming', async () => {
    const { gate } = scene();
    expect(await gate.wait(() => false, 10_000)).toBe(0);
    const waited = await gate.wait(() => true, 40);
    expect(waited).toBeGreaterThanOrEqual(40);
    expect(gate.size).toBe(0);
  });

  it('lets everything go at shutdown', async () => {
    const { gate } = scene(1_000);
    const waits = [gate.wait(() => true, 60_000), gate.wait(() => true, 60_000)];
    expect(gate.size).toBe(2);
    gate.releaseAll();
    expect(await Promise.all(waits)).toHaveLength(2);
    expect(gate.size).toBe(0);
  });
});
