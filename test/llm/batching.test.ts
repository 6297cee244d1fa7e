/**
 * Consolidated requests: several texts per request, answered as JSON, parsed per item with the
 * same constraints as one answer; an item a batch answer does not clearly cover is asked again alone and is
 * never given another item's label. Over HTTP against the replay server, which answers batch prompts item by
 * item from the recordings and can be told to answer short, shuffled, conflicting or garbage.
 */
import { describe, expect, it } from 'vitest';
import {
  AnswerParser,
  type LlmScheduler,
  defaultTaskPath,
  extractBatchTexts,
  loadTask,
  parseBatchAnswer,
  parseTask,
  renderBatchMessages,
  type ScheduledOutcome,
} from '../../src/llm/index.js';
import { TaskError } from '../../src/errors.js';
import type { ReplayServer, ReplayServerOptions } from '../../tools/replay/index.js';
import { GPT, EMOTIONS, readRows, useReplayScheduler } from './helpers.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const parser = new AnswerParser(task);
const rows = readRows(EMOTIONS);
const counts = new Map<string, number>();
for (const r of rows) counts.set(r.text, (counts.get(r.text) ?? 0) + 1);
const unique = rows.filter((r) => counts.get(r.text) === 1 && (r.llm[GPT] ?? -1) >= 0);

describe('parseBatchAnswer', () => {
  it('reads {"answers": [{id, label}]} in any order, and bare arrays of one label per text', () => {
    expect(parseBatchAnswer('{"answers":[{"id":2,"label":"fear"},{"id":1,"label":"Joy."}]}', 2, parser).map((a) => a?.labelId)).toEqual([0, 5]);
    expect(parseBatchAnswer('```json\n["anger", "guilt"]\n```', 2, parser).map((a) => a?.labelId)).toEqual([2, 3]);
  });

  it('leaves uncovered, conflicting, out-of-range or unparseable items undefined, and garbage entirely', () => {
    const short = parseBatchAnswer('{"answers":[{"id":1,"label":"joy"}]}', 3, parser);
    expect(short.map((a) => a?.labelId)).toEqual([0, undefined, undefined]);
    const conflict = parseBatchAnswer('[{"id":1,"label":"joy"},{"id":1,"label":"fear"},{"id":2,"label":"shame"},{"id":9,"label":"fear"}]', 2, parser);
    expect(conflict.map((a) => a?.labelId)).toEqual([undefined, 4]);
    expect(parseBatchAnswer('[{"id":1,"label":"not joy, maybe fear"},{"id":2,"label":"sadness"}]', 2, parser).map((a) => a?.labelId)).toEqual([undefined, 1]);
    // A bare array of the wrong length cannot be matched to the texts by position.
    expect(parseBatchAnswer('["joy"]', 2, parser)).toEqual([undefined, undefined]);
    expect(parseBatchAnswer('Sure! joy, fear', 2, parser)).toEqual([undefined, undefined]);
  });
});

describe('batch prompts', () => {
  it('round-trip texts with newlines, quotes and numbers through the numbered list', () => {
    const texts = ['first\n2. "not an item"', 'second {items} {text}', 'third'];
    const [, user] = renderBatchMessages(task, texts);
    expect(extractBatchTexts(task, user?.content ?? '')).toEqual(texts);
    expect(extractBatchTexts(task, 'Account: hello\nEmotion:')).toBeNull();
  });

  it('a task file may override the batch template, which must hold {items} once', () => {
    const custom = parseTask('t', {
      name: 't',
      labels: ['a', 'b'],
      prompt: { system: 's', user: 'u {text}', batch_user: 'Label these:\n{items}\nJSON please', batch_system: 'bs' },
    });
    const [system, user] = renderBatchMessages(custom, ['x']);
    expect(system?.content?.startsWith('bs\n\n')).toBe(true);
    expect(user?.content).toBe('Label these:\n1. "x"\nJSON please');
    expect(() => parseTask('t', { name: 't', labels: ['a', 'b'], prompt: { system: 's', user: 'u {text}', batch_user: 'no placeholder' } })).toThrow(TaskError);
  });
});

const llm = useReplayScheduler(task);

async function runBatch(
  fault: ReplayServerOptions['batchFault'],
  n: number,
): Promise<{ outcomes: ScheduledOutcome[]; server: ReplayServer; scheduler: LlmScheduler }> {
  const { server, teacher } = await llm.start({ latencyMs: 20, ...(fault === undefined ? {} : { batchFault: fault }) }, 2);
  const scheduler = llm.schedule(teacher, { batchSize: 8 });
  // The first item takes the slot alone; the rest queue up and leave in batches of 8.
  const outcomes = await Promise.all(unique.slice(0, n).map((r, i) => scheduler.submit(r.text, 1 - i / n)));
  return { outcomes, server, scheduler };
}

describe.each([
  [undefined, 'a valid answer'],
  ['shuffle', 'a shuffled answer'],
  ['short', 'a short answer'],
  ['conflict', 'an answer naming one item twice'],
  ['garbage', 'a garbage answer'],
] as const)('with %s batch faults (%s)', (fault, _what) => {
  it('gives every item its recorded label, asking uncovered items again one by one', async () => {
    const n = 33;
    const { outcomes, server: srv, scheduler } = await runBatch(fault, n);
    const labels = outcomes.map((o) => (o.kind === 'answer' ? o.answer.labelId : `not answered: ${o.kind}`));
    expect(labels).toEqual(unique.slice(0, n).map((r) => r.llm[GPT]));
    const stats = srv.stats();
    expect(stats.batchRequests).toBeGreaterThanOrEqual(4);
    const singles = stats.answered - stats.batchRequests;
    const retried = scheduler.snapshot().batchRetries;
    if (fault === undefined || fault === 'shuffle') expect(retried).toBe(0);
    else expect(retried).toBeGreaterThan(0);
    // Every re-asked item was one request of its own (plus the first item, sent alone).
    expect(singles).toBe(retried + 1);
  });
});
