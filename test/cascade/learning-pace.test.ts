/**
 * Learning's pace: items are decided one at a time, in arrival order, each once few enough granted labels are
 * still on their way; the lag grows with the labels learned; the warm-up waits for nothing; a latency bound caps
 * the wait; a shutdown releases everyone.
 */
import { describe, expect, it } from 'vitest';
import { LearningPace } from '../../src/cascade/learning-pace.js';

/** Takes a turn, decides, and records the order; `send`: the decision grants a call (its ticket is returned). */
async function decide(pace: LearningPace, order: string[], name: string, send: boolean): Promise<number | undefined> {
  const turn = pace.enter();
  if (turn !== true) await turn;
  order.push(name);
  const ticket = send ? pace.sent() : undefined;
  pace.leave();
  return ticket;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LearningPace', () => {
  it('decides at once while few enough labels are on their way, then waits for them to land, in arrival order', async () => {
    let labels = 0;
    const pace = new LearningPace({ minLag: 1, lagRatio: 0, labels: () => labels });
    const order: string[] = [];
    const a = await decide(pace, order, 'a', true);
    await decide(pace, order, 'b', true);
    // Two labels on their way, one allowed: c and d wait, in order.
    const c = decide(pace, order, 'c', false);
    const d = decide(pace, order, 'd', false);
    await tick();
    expect(order).toEqual(['a', 'b']);
    expect(pace.waiting).toBe(2);
    labels++;
    pace.landed(a as number);
    await Promise.all([c, d]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(pace.paced).toBe(2);
  });

  it('lets more labels be on their way as the stages learn', () => {
    let labels = 0;
    const pace = new LearningPace({ minLag: 4, lagRatio: 0.25, labels: () => labels });
    expect(pace.lag).toBe(4);
    labels = 100;
    expect(pace.lag).toBe(25);
  });

  it("keeps a worker's share of the group's lag: the group has as few labels on their way as one worker would", async () => {
    const pace = new LearningPace({ minLag: 16, lagRatio: 0.5, labels: () => 200 });
    expect(pace.lag).toBe(100);
    pace.groupShare = 1 / 3;
    expect(pace.lag).toBe(33);
    pace.groupShare = 0; // a worker between assignments keeps its last share
    expect(pace.lag).toBe(33);
    // Growing the share lets a waiting item in at once.
    const small = new LearningPace({ minLag: 4, lagRatio: 0, labels: () => 0 });
    small.groupShare = 0.25;
    const order: string[] = [];
    const first = (await decide(small, order, 'a', true)) as number;
    await decide(small, order, 'b', true);
    const c = decide(small, order, 'c', false);
    await tick();
    expect(order).toEqual(['a', 'b']);
    small.groupShare = 1;
    await c;
    expect(order).toEqual(['a', 'b', 'c']);
    small.landed(first);
  });

  it("waits for the group's labels this worker has not learned yet, beyond the lag's floor, at most sharedWaitMs", async () => {
    let pending = 0;
    const pace = new LearningPace({ minLag: 4, lagRatio: 0, labels: () => 0, sharedWaitMs: 300 });
    pace.groupShare = 0.5; // 2 of its own on their way; 4 of the group's waiting here (the floor)
    const nudge = (() => {
      pace.watchShared(() => pending);
      return () => pace.nudge();
    })();
    const order: string[] = [];
    pending = 4;
    await decide(pace, order, 'a', false); // within the group's lag: at once
    pending = 9;
    const b = decide(pace, order, 'b', false);
    await tick();
    expect(order).toEqual(['a']);
    pending = 3;
    nudge();
    await b;
    expect(order).toEqual(['a', 'b']);
    // A label topic that does not move (an open transaction) holds an item sharedWaitMs at most.
    pending = 50;
    const started = performance.now();
    await decide(pace, order, 'c', false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('lets warm-up items through whatever is on its way: their decision does not depend on the stages', async () => {
    let warm = true;
    const pace = new LearningPace({ minLag: 0, lagRatio: 0, labels: () => 0, free: () => warm });
    const order: string[] = [];
    const tickets: number[] = [];
    for (const name of ['w1', 'w2', 'w3']) tickets.push((await decide(pace, order, name, true)) as number);
    expect(pace.outstanding).toBe(3);
    warm = false;
    const next = decide(pace, order, 'x', false);
    await tick();
    expect(order).toEqual(['w1', 'w2', 'w3']);
    for (const t of tickets) pace.landed(t);
    await next;
    expect(order).toEqual(['w1', 'w2', 'w3', 'x']);
  });

  it('tells an item decided with labels on their way when every label sent before it has landed, out of order too', async () => {
    const pace = new LearningPace({ minLag: 10, lagRatio: 0, labels: () => 0 });
    const order: string[] = [];
    const first = (await decide(pace, order, 'a', true)) as number;
    const second = (await decide(pace, order, 'b', true)) as number;
    const mark = pace.issued;
    const third = (await decide(pace, order, 'c', true)) as number;
    let through = false;
    const waiting = pace.landedThrough(mark).then(() => (through = true));
    pace.landed(second);
    await tick();
    expect(through).toBe(false);
    pace.landed(first);
    await waiting;
    // A label sent after the mark does not hold it back.
    expect(pace.outstanding).toBe(1);
    pace.landed(third);
    await expect(pace.landedThrough(pace.issued)).resolves.toBeUndefined();
  });

  it('with a latency bound, lets the first waiter in once its wait is up', async () => {
    const pace = new LearningPace({ minLag: 0, lagRatio: 0, labels: () => 0, maxWaitMs: 20 });
    const order: string[] = [];
    await decide(pace, order, 'a', true);
    const started = performance.now();
    await decide(pace, order, 'b', false);
    expect(order).toEqual(['a', 'b']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(pace.outstanding).toBe(1);
  });

  it('wakes a holder waiting for a landing, and releases everyone on shutdown', async () => {
    const pace = new LearningPace({ minLag: 0, lagRatio: 0, labels: () => 0 });
    const order: string[] = [];
    await decide(pace, order, 'a', true);
    let woke = false;
    const landing = pace.landing().then(() => (woke = true));
    const waiting = [decide(pace, order, 'b', false), decide(pace, order, 'c', false)];
    await tick();
    expect(woke).toBe(false);
    pace.releaseAll();
    await Promise.all([landing, ...waiting]);
    expect(woke).toBe(true);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('with a latency bound, holds a young stage answer until as many labels as were on its way are learned, or its wait is up', async () => {
    let labels = 0;
    // Decisions wait for nothing here (as in the warm-up): only the answers' wait is under test.
    const pace = new LearningPace({ minLag: 0, lagRatio: 0, answerLagShare: 0.1, labels: () => labels, free: () => true });
    const order: string[] = [];
    const tickets: number[] = [];
    for (const name of ['a', 'b', 'c', 'd']) tickets.push((await decide(pace, order, name, true)) as number);
    // Four labels on their way and none learned: the answer waits for four more.
    let done = false;
    const waiting = (pace.learnedAhead(10_000) as Promise<void>).then(() => (done = true));
    for (const ticket of tickets.slice(1)) {
      labels++;
      pace.landed(ticket);
    }
    await tick();
    expect(done).toBe(false);
    // Any label counts, one sent after the answer was decided too: a label is a label.
    const later = (await decide(pace, order, 'e', true)) as number;
    labels++;
    pace.landed(later);
    await waiting;
    expect(pace.outstanding).toBe(1);
    // Stages that know far more than what is on its way answer at once.
    labels = 1_000;
    for (const name of ['f', 'g', 'h']) await decide(pace, order, name, true);
    expect(pace.learnedAhead(10_000)).toBeUndefined();
    // Young again (a fresh count) with labels on their way: the wait ends when its time is up.
    labels = 0;
    const started = performance.now();
    await pace.learnedAhead(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    pace.releaseAll();
    expect(pace.learnedAhead(10_000)).toBeUndefined();
  });
});
