import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KafkaConfig } from '../../src/config.js';
import { RetriesExhaustedError } from '../../src/errors.js';
import type { ItemProcessor, SideRecord, StreamItem, StreamWorker, StreamWorkerOptions } from '../../src/stream/index.js';
import { answerFor, committedCount, endOffsetsSum, readJsonRecords, sendRecords, testKafkaConfig, useKafkaSuite, waitFor, type TestTopics } from './helpers.js';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const suite = useKafkaSuite();
const { kafka, admin } = suite;

async function startWorker(t: TestTopics, process: ItemProcessor, overrides: Partial<KafkaConfig> = {}): Promise<StreamWorker> {
  const worker = await suite.worker(testKafkaConfig(t, { maxTextBytes: 2_000, ...overrides }), process);
  await worker.start();
  return worker;
}

async function produceItems(topic: string, n: number, from = 0): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `item-${from + i}`);
  await sendRecords(
    kafka,
    topic,
    ids.map((id) => ({ key: id, value: JSON.stringify({ id, text: `text of ${id}` }) })),
  );
  return ids;
}

describe('when garbage arrives between good records', () => {
  it('dead-letters each bad record with its reason and processes everything else once', async () => {
    const t = await suite.topics('garbage', 3);
    const good = await produceItems(t.input, 300);
    const bad = [
      { key: 'rand', value: randomBytes(64), kind: 'not-json' },
      { key: 'schema', value: Buffer.from(JSON.stringify({ id: 'schema', text: { nested: true } })), kind: 'wrong-schema' },
      { key: 'array', value: Buffer.from('[1,2,3]'), kind: 'wrong-schema' },
      { key: 'empty', value: Buffer.from(JSON.stringify({ id: 'empty', text: '' })), kind: 'empty-text' },
      { key: 'notext', value: Buffer.from(JSON.stringify({ id: 'notext' })), kind: 'missing-text' },
      { key: 'big', value: Buffer.from(JSON.stringify({ id: 'big', text: 'x'.repeat(3_000) })), kind: 'oversize' },
      // Near the broker's 1 MiB record limit: its dead letter must stay under it.
      { key: 'huge', value: Buffer.from(JSON.stringify({ id: 'huge', text: 'y'.repeat(900_000) })), kind: 'oversize' },
    ];
    await sendRecords(
      kafka,
      t.input,
      bad.map(({ key, value }) => ({ key, value })),
    );
    const more = await produceItems(t.input, 100, 300);
    const total = good.length + more.length + bad.length;

    await startWorker(t, async (item) => answerFor(item));
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === total);

    const outputs = await readJsonRecords(kafka, t.output);
    expect(outputs.map((o) => o.id).sort()).toEqual([...good, ...more].sort());
    const deadLetters = await readJsonRecords(kafka, t.deadLetter);
    expect(deadLetters.map((d) => [Buffer.from(String(d.key), 'base64').toString(), d.errorKind]).sort()).toEqual(bad.map((b) => [b.key, b.kind]).sort());
    const rand = deadLetters.find((d) => d.errorKind === 'not-json');
    expect(Buffer.from(String(rand?.value), 'base64')).toEqual(bad[0]?.value);
    expect(rand).toMatchObject({ topic: t.input, errorMessage: expect.any(String) as unknown });
    const huge = deadLetters.find((d) => Buffer.from(String(d.key), 'base64').toString() === 'huge');
    expect(Buffer.from(String(huge?.value), 'base64').length).toBe(256 * 1024);
    expect(huge?.errorMessage).toMatch(/value cut from \d+ to 262144 bytes/);
    expect(huge?.truncated).toBe(true);
  });
});

describe('when more items are in flight than kafka.maxInFlight', () => {
  it('never runs more than maxInFlight at once and still commits every offset', async () => {
    const t = await suite.topics('inflight', 6);
    await produceItems(t.input, 600);
    let running = 0;
    let peak = 0;
    await startWorker(
      t,
      async (item) => {
        running++;
        peak = Math.max(peak, running);
        await delay(Math.random() * 4);
        running--;
        return answerFor(item);
      },
      { maxInFlight: 8 },
    );
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === 600);
    expect(peak).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThan(1);
    expect((await readJsonRecords(kafka, t.output)).length).toBe(600);
  });
});

describe('when the worker is stopped mid-stream', () => {
  it('commits exactly the outputs of committed offsets, and a successor finishes the rest exactly once', async () => {
    const t = await suite.topics('stop', 3);
    const ids = await produceItems(t.input, 2_000);
    let processed = 0;
    const slow: ItemProcessor = async (item) => {
      await delay(2 + Math.random() * 3);
      processed++;
      return answerFor(item);
    };
    const first = await startWorker(t, slow, { maxInFlight: 20, shutdownTimeoutMs: 5_000 });
    await waitFor('some items processed', () => processed > 200);
    await first.stop();
    // read_committed: the output holds exactly one record per committed input offset, no more. The broker
    // writes transaction markers just after a commit returns, so both sides are polled until they settle.
    let committedAtStop = -1;
    let outputsAtStop = -2;
    await waitFor(
      'committed offsets and visible outputs to agree',
      async () => {
        committedAtStop = await committedCount(admin, t.groupId, t.input);
        outputsAtStop = (await readJsonRecords(kafka, t.output)).length;
        return committedAtStop === outputsAtStop;
      },
      15_000,
      200,
    );
    expect(committedAtStop).toBeGreaterThan(0);
    expect(committedAtStop).toBeLessThan(2_000);

    await startWorker(t, slow, { maxInFlight: 200 });
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === 2_000);
    const outputs = (await readJsonRecords(kafka, t.output)).map((o) => String(o.id));
    expect(outputs.length).toBe(2_000);
    expect(new Set(outputs)).toEqual(new Set(ids));
  });
});

describe('when the processor fails with a non-retriable error', () => {
  it('crashes the worker without committing the batch', async () => {
    const topics = await suite.topics('crash', 1);
    await produceItems(topics.input, 50);
    const worker = await startWorker(topics, async (item) => {
      if (item.id === 'item-20') throw new RetriesExhaustedError(4, new Error('LLM down'));
      return answerFor(item);
    });
    await expect(worker.done).rejects.toBeDefined();
    expect(await committedCount(admin, topics.groupId, topics.input)).toBe(0);
    expect(await readJsonRecords(kafka, topics.output)).toEqual([]);
    expect(await endOffsetsSum(admin, topics.input)).toBe(50);
  });
});

describe('with kafka.delivery at-least-once', () => {
  it('writes every output and commits every offset with the idempotent producer', async () => {
    const t = await suite.topics('alo', 3);
    const ids = await produceItems(t.input, 500);
    await startWorker(t, async (item) => answerFor(item), { delivery: 'at-least-once' });
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === 500);
    expect(new Set((await readJsonRecords(kafka, t.output)).map((o) => o.id))).toEqual(new Set(ids));
  });
});

describe("side records (shared learning's labels)", () => {
  /** A worker whose first item waits for `release` (it holds its partition's commit back) while the rest answer at once. */
  async function holdingWorker(t: TestTopics, delivery: StreamWorkerOptions['sideDelivery']): Promise<{ release: () => void; answered: () => number }> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let answered = 0;
    const process: ItemProcessor = async (item) => {
      if (item.id === 'item-0') await held;
      answered++;
      return answerFor(item);
    };
    const label = (item: StreamItem): SideRecord[] => [{ topic: t.labels, message: { key: item.id, value: JSON.stringify({ id: item.id }) } }];
    const worker = await suite.worker(testKafkaConfig(t, { maxTextBytes: 2_000 }), process, { sideRecords: label, sideDelivery: delivery });
    await worker.start();
    return { release, answered: () => answered };
  }

  it('immediate: written as soon as their item is answered, while an item ahead still holds the commit back', async () => {
    const t = await suite.topics('side-now', 1);
    await produceItems(t.input, 20);
    const { release } = await holdingWorker(t, 'immediate');
    await waitFor("the 19 answered items' labels", async () => (await readJsonRecords(kafka, t.labels)).length === 19);
    // Nothing is committed: the first item has not finished, and an annotation waits for every one ahead of it.
    expect(await committedCount(admin, t.groupId, t.input)).toBe(0);
    expect(await readJsonRecords(kafka, t.output)).toHaveLength(0);
    release();
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === 20);
    const labels = (await readJsonRecords(kafka, t.labels)).map((r) => String(r.id));
    expect(labels.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `item-${i}`).sort());
    expect(await readJsonRecords(kafka, t.output)).toHaveLength(20);
  });

  it("with-annotation: written in the annotation's transaction, not before", async () => {
    const t = await suite.topics('side-tx', 1);
    await produceItems(t.input, 20);
    const { release, answered } = await holdingWorker(t, 'with-annotation');
    await waitFor('19 items answered', () => answered() === 19);
    await delay(1_500); // past kafka.commitIntervalMs: a commit of the prefix was attempted (it is empty)
    expect(await readJsonRecords(kafka, t.labels)).toHaveLength(0);
    release();
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === 20);
    expect(await readJsonRecords(kafka, t.labels)).toHaveLength(20);
  });
});

describe('when a second worker joins while the first is in a long batch', () => {
  it('the first stops taking records at the rebalance notice, so the newcomer starts within seconds, and every id is published once', async () => {
    const t = await suite.topics('rebalance', 2);
    const ids = await produceItems(t.input, 200);
    // While `slow`, an item takes 300 ms one at a time: a partition's batch of 100 would hold the rebalance 30 s.
    let slow = true;
    let firstProcessed = 0;
    const tracked =
      (mark: () => void): ItemProcessor =>
      async (item) => {
        mark();
        if (slow) await delay(300);
        return answerFor(item);
      };
    const settings = { maxTextBytes: 2_000, maxInFlight: 1, sessionTimeoutMs: 10_000 };
    await startWorker(
      t,
      tracked(() => firstProcessed++),
      settings,
    );
    await waitFor('the first worker in its batch', () => firstProcessed >= 3);
    const joinedAt = Date.now();
    let newcomerFirstAt: number | undefined;
    await startWorker(
      t,
      tracked(() => {
        newcomerFirstAt ??= Date.now();
        slow = false;
      }),
      settings,
    );
    await waitFor('the newcomer takes its first item', () => newcomerFirstAt !== undefined, 60_000);
    expect((newcomerFirstAt as number) - joinedAt).toBeLessThan(15_000);
    await waitFor('all offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) === 200, 60_000);
    const outputs = (await readJsonRecords(kafka, t.output)).map((o) => String(o.id));
    expect(outputs).toHaveLength(200);
    expect(new Set(outputs)).toEqual(new Set(ids));
  });
});
