/**
 * Bounded input on the real broker: a record with a huge id (in its value or as its key) is dead-lettered
 * `oversize-id` with the reason, and the items behind it in its partition are answered; an id repeated at
 * another offset is answered once, the repeat dead-lettered `duplicate-id`; a record over kafka.maxRecordBytes is
 * dead-lettered before it is parsed.
 */
import { describe, expect, it } from 'vitest';
import { answerFor, committedCount, readJsonRecords, sendRecords, testKafkaConfig, useKafkaSuite, waitFor } from './helpers.js';

const suite = useKafkaSuite();
const { kafka, admin } = suite;

const item = (id: string, text = `text of ${id}`): { key: string; value: string } => ({ key: id, value: JSON.stringify({ id, text }) });
const keyOf = (letter: Record<string, unknown>): string => Buffer.from(String(letter.key), 'base64').toString();

describe('when a record carries a 300 KB id', () => {
  it('dead-letters it as oversize-id with the reason and answers the items behind it in its partition', async () => {
    const t = await suite.topics('huge-id', 1);
    const hugeId = `h${'x'.repeat(300_000)}`;
    const before = Array.from({ length: 20 }, (_, i) => item(`before-${i}`));
    const after = Array.from({ length: 20 }, (_, i) => item(`after-${i}`));
    await sendRecords(kafka, t.input, [
      ...before,
      // The id in the value, under a short key.
      { key: 'short-key', value: JSON.stringify({ id: hugeId, text: 'an id nobody should hash' }) },
      // No id field: the 300 KB record key is the id.
      { key: hugeId, value: JSON.stringify({ text: 'keyed by a huge key' }) },
      ...after,
    ]);
    const worker = await suite.worker(testKafkaConfig(t), async (i) => answerFor(i));
    await worker.start();
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === 42, 60_000);

    const outputs = await readJsonRecords(kafka, t.output);
    expect(outputs.map((o) => o.id).sort()).toEqual([...before, ...after].map((m) => m.key).sort());
    const letters = await readJsonRecords(kafka, t.deadLetter);
    expect(letters.map((l) => [l.offset, l.errorKind]).sort()).toEqual([
      [20, 'oversize-id'],
      [21, 'oversize-id'],
    ]);
    for (const l of letters) expect(String(l.errorMessage)).toMatch(/item id is 300001 bytes, over the 1024-byte limit \(kafka\.maxIdBytes\)/);
    expect(keyOf(letters.find((l) => l.offset === 20) as Record<string, unknown>)).toBe('short-key');
  });
});

describe('when the same id arrives twice at different offsets', () => {
  it('answers it once and dead-letters the repeat as duplicate-id, naming where it was first taken', async () => {
    const t = await suite.topics('dup-id', 1);
    await sendRecords(kafka, t.input, [item('a'), item('b'), item('a', 'the same id again, other text'), item('c'), item('b')]);
    const worker = await suite.worker(testKafkaConfig(t), async (i) => answerFor(i));
    await worker.start();
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === 5, 60_000);

    const outputs = await readJsonRecords(kafka, t.output);
    expect(outputs.map((o) => [o.id, o.inputOffset]).sort()).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 3],
    ]);
    const letters = await readJsonRecords(kafka, t.deadLetter);
    expect(letters.map((l) => [keyOf(l), l.offset, l.errorKind]).sort()).toEqual([
      ['a', 2, 'duplicate-id'],
      ['b', 4, 'duplicate-id'],
    ]);
    expect(String(letters[0]?.errorMessage)).toContain(`already taken from ${t.input}[0] at offset 0`);
  });

  it('answers both when kafka.rememberIds is 0', async () => {
    const t = await suite.topics('dup-off', 1);
    await sendRecords(kafka, t.input, [item('a'), item('a')]);
    const worker = await suite.worker(testKafkaConfig(t, { rememberIds: 0 }), async (i) => answerFor(i));
    await worker.start();
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === 2, 60_000);
    expect((await readJsonRecords(kafka, t.output)).map((o) => o.id)).toEqual(['a', 'a']);
  });
});

describe('when a record is over kafka.maxRecordBytes', () => {
  it('dead-letters it as oversize before parsing, naming the limit', async () => {
    const t = await suite.topics('big-record', 1);
    await sendRecords(kafka, t.input, [item('small'), { key: 'big', value: JSON.stringify({ id: 'big', text: 'ok', metadata: { blob: 'm'.repeat(5_000) } }) }]);
    const worker = await suite.worker(testKafkaConfig(t, { maxRecordBytes: 4_096 }), async (i) => answerFor(i));
    await worker.start();
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === 2, 60_000);
    expect((await readJsonRecords(kafka, t.output)).map((o) => o.id)).toEqual(['small']);
    const [letter] = await readJsonRecords(kafka, t.deadLetter);
    expect(letter).toMatchObject({ errorKind: 'oversize', offset: 1 });
    expect(String(letter?.errorMessage)).toMatch(/record is 50\d\d bytes \(key and value\), over the 4096-byte limit \(kafka\.maxRecordBytes\)/);
  });
});
