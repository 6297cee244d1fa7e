/**
 * `spillway run` with the LLM scheduler (issue #8), through the real broker: batched LLM requests, a slow
 * stand-in with a long latency tail (items finish out of order) and a deadline that hands some items back to
 * the small stages. Still exactly one committed annotation per input id, each saying why the LLM was or was
 * not asked.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  committedCount,
  createTestTopics,
  DATASETS_DIR,
  readJsonRecords,
  spawnCli,
  testKafka,
  waitFor,
  writeConfig,
  type CliProcess,
  type TestTopics,
} from './helpers.js';
import { spawnWorker, startReplayLlm, type ReplayLlm } from './worker-process.js';

const ITEMS = 1_500;

let kafka: Kafka;
let admin: Admin;
let llm: ReplayLlm;
let topics: TestTopics | undefined;
const children: CliProcess[] = [];

beforeAll(async () => {
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
  // Median 40 ms, 1% beyond 1.5 s: LLM-bound items finish long after the items behind them. The deadline (10 s)
  // is generous: a loaded CI machine must still see LLM answers.
  llm = await startReplayLlm(['--latency', '40,1500']);
});

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await topics?.cleanup();
  topics = undefined;
});

afterAll(async () => {
  await llm.stop();
  await admin.disconnect();
});

describe('spillway run with batched, reordered LLM answers and deadlines', () => {
  it('commits exactly one annotation per input id', async () => {
    topics = await createTestTopics(admin, 'sched', 4);
    const t = topics;
    const config = writeConfig({
      logLevel: 'info',
      task: path.join(DATASETS_DIR, 'isear.task.json'),
      llm: { baseUrl: llm.url, concurrency: 4, batchSize: 8, deadlineMs: 10_000 },
      pipeline: { maxInFlight: 500 },
      // No cold start (issue 9, tested in test/cascade/cold-start.test.ts): this case needs confident answers early.
      cascade: { llmBudget: 0.3, warmupItems: 50, stages: ['lr'], warmMinLabels: 0, warmAgreementFloor: 0 },
      models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
      monitor: { httpPort: 0 },
      kafka: {
        groupId: t.groupId,
        topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models },
        shutdownTimeoutMs: 10_000,
      },
    });
    const head = path.join(path.dirname(config), 'items.jsonl');
    const lines = readFileSync(path.join(DATASETS_DIR, 'isear.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, ITEMS);
    writeFileSync(head, `${lines.join('\n')}\n`);
    const ids = lines.map((l) => (JSON.parse(l) as { id: string }).id);
    const produce = spawnCli(['produce', '--config', config, '--topic', t.input, '--file', head]);
    children.push(produce);
    expect(await produce.exited).toBe(0);
    const worker = spawnWorker(config, 0);
    children.push(worker);
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === ITEMS, 240_000, 250);

    const annotations = await readJsonRecords(kafka, t.output);
    const counts = new Map<string, number>();
    for (const a of annotations) counts.set(String(a.id), (counts.get(String(a.id)) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect(ids.filter((id) => !counts.has(id))).toEqual([]);
    expect(annotations).toHaveLength(ITEMS);

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
