/**
 * The label consumer on the real broker when its kafkajs consumer crashes in a way kafkajs does not restart
 * (here: a non-retriable error thrown while a fetched batch is handled; a broker back from an outage can
 * answer with such errors too): a new consumer takes over at the next offset and
 * every label is still handed over once, in order; crashes in a row past `maxRestarts` stop it for good,
 * and it says so.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { buildCodecs, DeadLetterWriter, LabelConsumer, type LabelRecord, type StreamCodecs } from '../../src/stream/index.js';
import { sendRecords, useKafkaSuite, waitFor, type TestTopics } from './helpers.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const suite = useKafkaSuite();
const LABELS = ['yes', 'no'];

function label(i: number): LabelRecord {
  return {
    id: `item-${i}`,
    task: 'answer',
    text: `text number ${i}`,
    labelId: i % 2,
    label: LABELS[i % 2] as string,
    teacherModel: 't',
    workerId: 'w',
    modelVersions: {},
    producedAtMs: 1,
  };
}

/** An error kafkajs deems non-retriable: thrown from a batch handler, it crashes the consumer and kafkajs does not restart it. */
function nonRetriable(): Error {
  return Object.assign(new Error('handling the batch failed'), { retriable: false });
}

const open: Array<{ consumer: LabelConsumer; deadLetters: DeadLetterWriter }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.consumer.stop();
    await o.deadLetters.close();
  }
});

async function setUp(prefix: string, n: number): Promise<{ t: TestTopics; codecs: StreamCodecs; deadLetters: DeadLetterWriter }> {
  const t = await suite.topics(prefix, 1);
  const config = parseConfig({
    kafka: { groupId: t.groupId, topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models } },
  });
  const codecs = await buildCodecs(config.kafka);
  await sendRecords(
    suite.kafka,
    t.labels,
    Array.from({ length: n }, (_, i) => ({ key: `item-${i}`, value: codecs.labelEncoder.encode(label(i)) })),
  );
  const deadLetters = new DeadLetterWriter({ kafka: suite.kafka, config: config.kafka, codecs, logger });
  await deadLetters.start();
  return { t, codecs, deadLetters };
}

function consumerOf(
  t: TestTopics,
  codecs: StreamCodecs,
  deadLetters: DeadLetterWriter,
  options: { maxRestarts: number; prefetch: () => void; onLabel: (l: LabelRecord, offset: bigint) => void; onFailure: (err: unknown) => void },
): LabelConsumer {
  const consumer = new LabelConsumer({
    kafka: suite.kafka,
    topic: t.labels,
    groupPrefix: `${t.groupId}.labels`,
    fromOffset: 0n,
    decoder: codecs.labelDecoder,
    rules: { maxIdBytes: 1024, maxTextBytes: 65_536, task: { name: 'answer', labels: LABELS } },
    deadLetters,
    ...options,
    logger,
  });
  open.push({ consumer, deadLetters });
  return consumer;
}

describe('a label consumer whose consumer crashes without a kafkajs restart', () => {
  it('goes on with a new consumer at the next offset: every label once, in order', async () => {
    const { t, codecs, deadLetters } = await setUp('label-crash', 40);
    const offsets: bigint[] = [];
    let crashes = 0;
    let failure: unknown;
    const consumer = consumerOf(t, codecs, deadLetters, {
      maxRestarts: 5,
      // The first two batches fetched crash the consumer before any of their labels is handed over.
      prefetch: () => {
        if (crashes < 2) {
          crashes += 1;
          throw nonRetriable();
        }
      },
      onLabel: (_l, offset) => void offsets.push(offset),
      onFailure: (err) => (failure = err),
    });
    await consumer.start();
    await waitFor('40 labels handed over', () => offsets.length >= 40 || failure !== undefined, 60_000, 50);
    expect(failure).toBeUndefined();
    expect(crashes).toBe(2);
    expect(offsets).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
    expect(consumer.error).toBeUndefined();
    expect(consumer.position).toBe(40n);
  }, 90_000);

  it('gives up after maxRestarts crashes in a row, and says why', async () => {
    const { t, codecs, deadLetters } = await setUp('label-crashes', 5);
    let calls = 0;
    let failure: unknown;
    const consumer = consumerOf(t, codecs, deadLetters, {
      maxRestarts: 1,
      prefetch: () => {
        calls += 1;
        throw nonRetriable();
      },
      onLabel: () => undefined,
      onFailure: (err) => (failure = err),
    });
    await consumer.start();
    await waitFor('the consumer gives up', () => failure !== undefined, 60_000, 50);
    // The first consumer and its one replacement each crashed on their first batch.
    expect(calls).toBe(2);
    expect(String((failure as Error).message)).toContain('handling the batch failed');
    expect(consumer.error).toBe(failure);
    expect(consumer.count).toBe(0);
  }, 90_000);
});
