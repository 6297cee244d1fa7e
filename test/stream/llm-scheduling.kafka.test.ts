/**
 * `spillway run` with the LLM scheduler, through the real broker: batched LLM requests, a slow
 * stand-in with a long latency tail (items finish out of order) and a deadline that hands some items back to
 * the small stages. Still exactly one committed annotation per input id, each saying why the LLM was or was
 * not asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../helpers/paths.js';
import { committedCount, readJsonRecords, spawnCli, useKafkaSuite, waitFor } from './helpers.js';
import { expectExactlyOnce, spawnWorker, startReplayLlm, workerConfig, writeStreamHead, type ReplayLlm } from './worker-process.js';

const ITEMS = 1_500;

const suite = useKafkaSuite();
const { kafka, admin } = suite;
let llm: ReplayLlm;

beforeAll(async () => {
  // Median 40 ms, 1% beyond 1.5 s: LLM-bound items finish long after the items behind them. The deadline (10 s)
  // is generous: a loaded CI machine must still see LLM answers.
  llm = await startReplayLlm(['--latency', '40,1500'], EMOTIONS);
});

afterAll(async () => {
  await llm.stop();
});

describe('spillway run with batched, reordered LLM answers and deadlines', () => {
  it('commits exactly one annotation per input id', async () => {
    const t = await suite.topics('sched', 4);
    const config = workerConfig(t, llm.url, {
      llm: { concurrency: 4, batchSize: 8, deadlineMs: 10_000 },
      pipeline: { maxInFlight: 500 },
      // No cold start (tested in test/cascade/cold-start.test.ts): this case needs confident answers early.
      cascade: { llmBudget: 0.3, stages: ['lr'], warmMinLabels: 0, warmAgreementFloor: 0 },
    });
    const { file: head, ids } = writeStreamHead(config, ITEMS);
    const produce = suite.child(spawnCli(['produce', '--config', config, '--topic', t.input, '--file', head]));
    expect(await produce.exited).toBe(0);
    const worker = suite.child(spawnWorker(config, 0));
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === ITEMS, 240_000, 250);

    const annotations = await readJsonRecords(kafka, t.output);
    expectExactlyOnce(
      annotations.map((a) => String(a.id)),
      ids,
    );

    const reasons = new Set(annotations.map((a) => String(a.reason)));
    expect(reasons).toContain('confident');
    expect(annotations.some((a) => a.answeredBy === 'llm')).toBe(true);
    for (const a of annotations.filter((x) => x.reason === 'deadline')) expect(a.answeredBy).not.toBe('llm');
    // Items finished out of input order within a partition: a later offset was processed before an earlier one.
    const byPartition = new Map<number, Array<{ offset: number; at: number }>>();
    for (const a of annotations) {
      const list = byPartition.get(Number(a.inputPartition)) ?? [];
      list.push({ offset: Number(a.inputOffset), at: Number(a.processedAtMs) });
      byPartition.set(Number(a.inputPartition), list);
    }
    const inversions = [...byPartition.values()].some((list) => {
      list.sort((x, y) => x.offset - y.offset);
      return list.some((x, i) => i > 0 && x.at < (list[i - 1] as { at: number }).at);
    });
    expect(inversions).toBe(true);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
