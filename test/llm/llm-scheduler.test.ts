import { describe, expect, it, vi } from 'vitest';
import { normalizeText } from '../../src/cache/index.js';
import { defaultTaskPath, loadTask, type LlmScheduler, type LlmSchedulerOptions, type ScheduledOutcome } from '../../src/llm/index.js';
import type { ReplayServer, ReplayServerOptions } from '../../tools/replay/index.js';
import { GPT, EMOTIONS, readRows, useReplayScheduler } from './helpers.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const rows = readRows(EMOTIONS);
const counts = new Map<string, number>();
for (const r of rows) counts.set(r.text, (counts.get(r.text) ?? 0) + 1);
/** Texts recorded once with a parseable answer. */
const unique = rows.filter((r) => counts.get(r.text) === 1 && (r.llm[GPT] ?? -1) >= 0);

const llm = useReplayScheduler(task);

async function setup(replay: Partial<ReplayServerOptions>, options: Partial<LlmSchedulerOptions>): Promise<{ server: ReplayServer; scheduler: LlmScheduler }> {
  const { server, teacher } = await llm.start(replay, 3);
  return { server, scheduler: llm.schedule(teacher, options) };
}

/** A clock the test moves by hand (only the clock is faked). */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('LlmScheduler priority', () => {
  it('sends the most uncertain waiting item first', async () => {
    const { scheduler: s } = await setup({ latencyMs: 30 }, {});
    const order: number[] = [];
    const first = s.submit(unique[0]?.text ?? '', 0.5); // takes the only slot
    const scores = [0.1, 0.9, 0.5, 0.3, 0.7];
    const rest = scores.map((score, i) => s.submit(unique[i + 1]?.text ?? '', score).then((o) => (expect(o.kind).toBe('answer'), order.push(score))));
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0.9, 0.7, 0.5, 0.3, 0.1]);
  });

  it('ages waiting items so that an old low-score item overtakes fresh uncertain ones', async () => {
    const clock = manualClock();
    const { scheduler: s } = await setup({ latencyMs: 30 }, { agingMs: 1_000, deadlineMs: Infinity, now: clock.now });
    const order: string[] = [];
    const first = s.submit(unique[0]?.text ?? '', 0.5);
    const old = s.submit(unique[1]?.text ?? '', 0.1).then(() => order.push('old'));
    clock.advance(1_000); // the old item has gained one score point: 1.1 against the fresh item's 0.9
    const fresh = s.submit(unique[2]?.text ?? '', 0.9).then(() => order.push('fresh'));
    await Promise.all([first, old, fresh]);
    expect(order).toEqual(['old', 'fresh']);
  });

  it('without aging the fresh uncertain item goes first (the aging test is not vacuous)', async () => {
    const clock = manualClock();
    const { scheduler: s } = await setup({ latencyMs: 30 }, { agingMs: 1e12, deadlineMs: Infinity, now: clock.now });
    const order: string[] = [];
    const first = s.submit(unique[0]?.text ?? '', 0.5);
    const old = s.submit(unique[1]?.text ?? '', 0.1).then(() => order.push('old'));
    clock.advance(1_000);
    const fresh = s.submit(unique[2]?.text ?? '', 0.9).then(() => order.push('fresh'));
    await Promise.all([first, old, fresh]);
    expect(order).toEqual(['fresh', 'old']);
  });

  it('fifo order ignores the scores (the baseline)', async () => {
    const { scheduler: s } = await setup({ latencyMs: 20 }, { order: 'fifo' });
    const order: number[] = [];
    const first = s.submit(unique[0]?.text ?? '', 0.5);
    const rest = [0.1, 0.9, 0.5].map((score, i) => s.submit(unique[i + 1]?.text ?? '', score).then(() => order.push(score)));
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0.1, 0.9, 0.5]);
  });
});

describe('LlmScheduler deadlines', () => {
  it('hands an item back at its deadline while its call runs, and delivers the late answer for learning', async () => {
    const { scheduler: s, server: srv } = await setup({ latencyMs: 600 }, { deadlineMs: 200, initialLatencyMs: 50 });
    const row = unique[3];
    const started = performance.now();
    const outcome = await s.submit(row?.text ?? '', 0.9);
    const waited = performance.now() - started;
    expect(outcome.kind).toBe('deadline');
    expect(waited).toBeLessThan(600);
    if (outcome.kind !== 'deadline') throw new Error('unreachable');
    const late = await outcome.late;
    expect(late?.labelId).toBe(row?.llm[GPT]);
    expect(srv.stats().answered).toBe(1);
    expect(s.snapshot().deadlineMisses).toBe(1);
  });

  it('answers queued items that cannot be reached in time at once, the least uncertain first, and keeps the uncertain ones', async () => {
    // One slot, 300 ms per answer, 1 s deadline: about three of these can be answered in time.
    const { scheduler: s } = await setup({ latencyMs: 300 }, { deadlineMs: 1_000, initialLatencyMs: 300 });
    const scores = [0.95, 0.05, 0.9, 0.1, 0.85, 0.15, 0.8, 0.2];
    const outcomes = await Promise.all(scores.map((score, i) => s.submit(unique[i + 10]?.text ?? '', score).then((o) => ({ score, o }))));
    const answered = outcomes.filter((x) => x.o.kind === 'answer').map((x) => x.score);
    const missed = outcomes.filter((x) => x.o.kind === 'deadline').map((x) => x.score);
    expect(answered.length).toBeGreaterThanOrEqual(2);
    expect(missed.length).toBeGreaterThanOrEqual(3);
    // Everything answered is more uncertain than everything handed back (the first item took the free slot).
    const queuedAnswered = answered.filter((x) => x !== 0.95);
    expect(Math.min(...queuedAnswered)).toBeGreaterThan(Math.max(...missed));
  });
});

describe('LlmScheduler single-flight', () => {
  it('items whose normalised texts are equal share one call', async () => {
    const { scheduler: s, server: srv } = await setup({ latencyMs: 50 }, { keyOf: normalizeText });
    const text = unique[20]?.text ?? '';
    const [a, b, c] = await Promise.all([s.submit(text, 0.5), s.submit(`  ${text.toUpperCase()} `, 0.6), s.submit(text, 0.2)]);
    const labels = [a, b, c].map((o: ScheduledOutcome) => (o.kind === 'answer' ? o.answer.labelId : undefined));
    expect(labels).toEqual([unique[20]?.llm[GPT], unique[20]?.llm[GPT], unique[20]?.llm[GPT]]);
    expect([a, b, c].map((o) => (o.kind === 'answer' ? o.shared : undefined))).toEqual([false, true, true]);
    expect(srv.stats().answered).toBe(1);
  });
});

describe('LlmScheduler hedged requests', () => {
  /** Ten quick answers, so that the scheduler knows the endpoint's answer times. */
  async function warm(s: LlmScheduler): Promise<void> {
    for (let i = 0; i < 10; i++) expect((await s.submit(unique[30 + i]?.text ?? '', 0.5)).kind).toBe('answer');
  }
  const hedging = { concurrency: 2, adaptive: false, hedgeQuantile: 0.9, hedgeMinSamples: 10 } as const;

  it('sends a request slower than the recent answers once more, answers with the first answer, and counts the other', async () => {
    const unused: number[] = [];
    const { scheduler: s, server: srv } = await setup(
      { latencyMs: 10, delayAt: { 11: 1_500 } },
      { ...hedging, hedgeShare: 0.5, onUnusedUsage: (usage) => unused.push(usage.promptTokens + usage.completionTokens) },
    );
    await warm(s);
    const row = unique[40];
    const started = performance.now();
    const outcome = await s.submit(row?.text ?? '', 0.5);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(outcome.kind === 'answer' ? outcome.answer.labelId : undefined).toBe(row?.llm[GPT]);
    expect(s.snapshot()).toMatchObject({ requests: 12, hedged: 1, hedgesWon: 1 });
    // The slow first attempt is stopped, and what it may cost is counted (its estimate: no usage came back).
    await vi.waitFor(() => expect(unused).toHaveLength(1), { timeout: 3_000 });
    expect(unused[0]).toBeGreaterThan(0);
    expect(srv.stats().answered).toBe(11);
  });

  it('sends no second request when hedging is off: the slow answer is waited for', async () => {
    const { scheduler: s } = await setup({ latencyMs: 10, delayAt: { 11: 1_500 } }, { ...hedging, hedgeShare: 0 });
    await warm(s);
    const started = performance.now();
    expect((await s.submit(unique[40]?.text ?? '', 0.5)).kind).toBe('answer');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(s.snapshot()).toMatchObject({ requests: 11, hedged: 0 });
  });

  it('hedges at most its share of the requests', async () => {
    // 0.1 of a hedge per request: after eleven requests, one hedge, though two requests are slow.
    const { scheduler: s } = await setup({ latencyMs: 10, delayAt: { 11: 1_500, 12: 1_500 } }, { ...hedging, concurrency: 4, hedgeShare: 0.1 });
    await warm(s);
    const outcomes = await Promise.all([s.submit(unique[40]?.text ?? '', 0.5), s.submit(unique[41]?.text ?? '', 0.5)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['answer', 'answer']);
    expect(s.snapshot()).toMatchObject({ hedged: 1, hedgesWon: 1 });
  });
});
