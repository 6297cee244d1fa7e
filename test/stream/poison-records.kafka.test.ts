/**
 * Poison records: an annotation or a dead letter that would exceed its topic's max.message.bytes
 * used to fail the transaction forever, blocking the partition and ending in "Kafka is unavailable". Now
 * every record is fitted before the transaction and the partition moves on; a missing topic is named.
 */
import kafkajs, { type Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TopicNotFoundError } from '../../src/errors.js';
import { readTopic } from '../../src/stream/index.js';
import { answerFor, committedCount, randomName, sendRecords, testKafkaConfig, useKafkaSuite, waitFor } from './helpers.js';

const { ConfigResourceTypes } = kafkajs;
/** The output topics' max.message.bytes in this test: small, so poison records are cheap to make. */
const LIMIT = 20_000;

const suite = useKafkaSuite();
const { kafka, admin } = suite;

/** Every committed record of a topic, raw. */
async function rawRecords(topic: string): Promise<Array<{ key: Buffer | null; value: Buffer | null }>> {
  const out: Array<{ key: Buffer | null; value: Buffer | null }> = [];
  await readTopic({ kafka, topic, exitAtEnd: true, onRecord: (m) => void out.push({ key: m.key, value: m.value }) });
  return out;
}

describe('when an annotation or a dead letter would exceed its topic size limit', () => {
  it('writes it cut and flagged, or dead-letters it with its reason, and the partition moves on', async () => {
    const t = await suite.topics('poison', 1);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [t.output, t.deadLetter].map((name) => ({
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
    await sendRecords(kafka, t.input, [...good(0, 50), ...poison, ...good(50, 50)]);

    // Ids up to 64 KB accepted here: the 30 KB id must reach the output fitter.
    const worker = await suite.worker(testKafkaConfig(t, { maxIdBytes: 65_536 }), async (item) => answerFor(item));
    await worker.start();
    expect(worker.outputLimits).toEqual({ output: LIMIT, deadLetter: LIMIT });
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
    const topics = await suite.topics('missing', 1);
    const missing = randomName('no-such-topic');
    const worker = await suite.worker(testKafkaConfig({ ...topics, output: missing }), async (item) => answerFor(item));
    const err = await worker.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TopicNotFoundError);
    expect((err as TopicNotFoundError).topic).toBe(missing);
    expect((err as Error).message).toContain(`the output topic ${missing} does not exist`);
  });
});
