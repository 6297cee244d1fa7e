/**
 * Poison records (issue 11): an annotation or a dead letter that would exceed its topic's max.message.bytes
 * used to fail the transaction forever, blocking the partition and ending in "Kafka is unavailable". Now
 * every record is fitted before the transaction and the partition moves on; a missing topic is named.
 */
import pino from 'pino';
import kafkajs, { type Admin, type Kafka, type Message } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type KafkaConfig } from '../../src/config.js';
import { TopicNotFoundError } from '../../src/errors.js';
import { buildCodecs, readTopic, StreamWorker, type ItemAnswer, type StreamItem } from '../../src/stream/index.js';
import { committedCount, createTestTopics, randomName, testKafka, waitFor, type TestTopics } from './helpers.js';

const { ConfigResourceTypes } = kafkajs;
const silent = pino({ level: 'silent' });
/** The output topics' max.message.bytes in this test: small, so poison records are cheap to make. */
const LIMIT = 20_000;

function answerFor(item: StreamItem): ItemAnswer {
  return {
    id: item.id,
    labelId: 1,
    label: 'one',
    confidence: 1,
    answeredBy: 'lr',
    stages: [],
    pDefer: {},
    llmCalled: false,
    llmSource: 'none',
    llmUnparseable: false,
    llmFailed: false,
    audited: false,
    reason: 'confident',
    costUnits: 1,
    latencyMs: 0,
    modelVersions: {},
    ...(item.metadata === undefined ? {} : { metadata: item.metadata }),
  };
}

let kafka: Kafka;
let admin: Admin;
let topics: TestTopics | undefined;
const workers: StreamWorker[] = [];

beforeAll(async () => {
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
});

afterEach(async () => {
  await Promise.allSettled(workers.splice(0).map((w) => w.stop()));
  await topics?.cleanup();
  topics = undefined;
});

afterAll(async () => {
  await admin.disconnect();
});

function workerFor(
  t: Pick<TestTopics, 'input' | 'output' | 'deadLetter' | 'groupId'>,
  config: KafkaConfig,
  codecs: Awaited<ReturnType<typeof buildCodecs>>,
): StreamWorker {
  const worker = new StreamWorker({
    kafka: testKafka(),
    config,
    transactionalId: `${t.groupId}-0`,
    decoder: codecs.itemDecoder,
    annotationEncoder: codecs.annotationEncoder,
    deadLetterEncoder: codecs.deadLetterEncoder,
    process: async (item) => answerFor(item),
    logger: silent,
  });
  workers.push(worker);
  return worker;
}

async function send(topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Every committed record of a topic, raw. */
async function rawRecords(topic: string): Promise<Array<{ key: Buffer | null; value: Buffer | null }>> {
  const out: Array<{ key: Buffer | null; value: Buffer | null }> = [];
  await readTopic({ kafka, topic, exitAtEnd: true, onRecord: (m) => void out.push({ key: m.key, value: m.value }) });
  return out;
}

describe('when an annotation or a dead letter would exceed its topic size limit', () => {
  it('writes it cut and flagged, or dead-letters it with its reason, and the partition moves on', async () => {
    topics = await createTestTopics(admin, 'poison', 1);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [topics.output, topics.deadLetter].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }],
      })),
    });
    const good = (from: number, n: number): Message[] =>
      Array.from({ length: n }, (_, i) => ({ key: `g-${from + i}`, value: JSON.stringify({ id: `g-${from + i}`, text: `good text ${from + i}` }) }));
    const hugeId = `id-${'i'.repeat(30_000)}`;
    const poison: Message[] = [
      // Valid input whose annotation (metadata passed through) is over the output topic's limit.
      { key: 'meta', value: JSON.stringify({ id: 'meta', text: 'has big metadata', metadata: { blob: 'm'.repeat(30_000), small: 'kept?' } }) },
      // Valid input whose annotation cannot fit even without metadata: its id alone is too large.
      { key: hugeId, value: JSON.stringify({ id: hugeId, text: 'huge id' }) },
      // A bad record with a huge key and value: its dead letter must be cut to fit.
      { key: 'k'.repeat(30_000), value: Buffer.alloc(100_000, 0xff) },
    ];
    await send(topics.input, [...good(0, 50), ...poison, ...good(50, 50)]);

    const config: KafkaConfig = {
      ...DEFAULTS.kafka,
      groupId: topics.groupId,
      topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter, labels: topics.labels, models: topics.models },
    };
    const worker = workerFor(topics, config, await buildCodecs(config));
    await worker.start();
    expect(worker.outputLimits).toEqual({ output: LIMIT, deadLetter: LIMIT });
    const t = topics;
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === 103, 60_000);

    const outputs = await rawRecords(t.output);
    const annotations = outputs.map((o) => JSON.parse(String(o.value)) as Record<string, unknown>);
    const ids = annotations.map((a) => String(a.id));
    expect(ids.filter((id) => id.startsWith('g-')).sort()).toEqual(
      good(0, 100)
        .map((m) => String(m.key))
        .sort(),
    );
    expect(ids.filter((id) => id === 'meta')).toHaveLength(1);
    expect(ids).toHaveLength(101);
    expect(annotations.find((a) => a.id === 'meta')).toMatchObject({ truncated: true, metadata: {} });
    expect(annotations.find((a) => a.id === 'g-0')).toMatchObject({ truncated: false });
    for (const o of outputs) expect((o.value?.length ?? 0) + (o.key?.length ?? 0)).toBeLessThan(LIMIT);

    const dead = await rawRecords(t.deadLetter);
    expect(dead).toHaveLength(2);
    for (const d of dead) expect((d.value?.length ?? 0) + (d.key?.length ?? 0)).toBeLessThan(LIMIT);
    const letters = dead.map((d) => JSON.parse(String(d.value)) as Record<string, unknown>);
    const oversize = letters.find((d) => d.errorKind === 'oversize-output');
    expect(oversize).toMatchObject({ truncated: true, offset: 51 });
    expect(String(oversize?.errorMessage)).toMatch(new RegExp(`exceeds max.message.bytes ${LIMIT} of topic ${t.output}`));
    const garbage = letters.find((d) => d.errorKind === 'not-json');
    expect(garbage).toMatchObject({ truncated: true, offset: 52 });
    expect(String(garbage?.errorMessage)).toMatch(/key cut from 30000 to \d+ bytes, value cut from 100000 to \d+ bytes/);
    // What is kept of the original bytes is their beginning.
    const keptKey = Buffer.from(String(garbage?.key), 'base64');
    expect(keptKey.length).toBeGreaterThan(100);
    expect(keptKey.toString()).toBe('k'.repeat(keptKey.length));
  });
});

describe('when a topic does not exist', () => {
  it('the worker refuses to start with an error naming the topic', async () => {
    topics = await createTestTopics(admin, 'missing', 1);
    const missing = randomName('no-such-topic');
    const config: KafkaConfig = {
      ...DEFAULTS.kafka,
      groupId: topics.groupId,
      topics: { input: topics.input, output: missing, deadLetter: topics.deadLetter, labels: topics.labels, models: topics.models },
    };
    const worker = workerFor({ ...topics, output: missing }, config, await buildCodecs(config));
    const err = await worker.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TopicNotFoundError);
    expect((err as TopicNotFoundError).topic).toBe(missing);
    expect((err as Error).message).toContain(`the output topic ${missing} does not exist`);
  });
});
