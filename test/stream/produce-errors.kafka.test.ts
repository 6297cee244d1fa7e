/**
 * `spillway produce` and `consume` against trouble: a line whose record the topic would refuse
 * stops the file before anything is sent, naming the line and the limit; an unknown topic is named as such,
 * not reported as "Kafka is unavailable".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { endOffsetsSum, randomName, spawnCli, useKafkaSuite, writeConfig, type TestTopics } from './helpers.js';

const { ConfigResourceTypes } = kafkajs;
/** The input topic's max.message.bytes here: small, so an oversized line is cheap (and under the JSONL line limit). */
const LIMIT = 50_000;
const suite = useKafkaSuite();
let topics: TestTopics;
let config: string;

beforeAll(async () => {
  topics = await suite.fileTopics('produce-errors', 2);
  await suite.admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.input, configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }] }],
  });
  config = writeConfig({ kafka: { topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter } } });
});

function jsonl(lines: string[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'spillway-produce-')), 'items.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('when a line of the file is over the topic size limit', () => {
  it('produces nothing and names the line, its size and the limit', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `p${i}`, text: `item ${i}` }));
    // Valid as an item (the text is short) but its record is over the topic's limit.
    lines.splice(17, 0, JSON.stringify({ id: 'big', text: 'big metadata', metadata: { blob: 'b'.repeat(120_000) } }));
    const produce = spawnCli(['produce', '--config', config, '--file', jsonl(lines), '--no-progress']);
    expect(await produce.exited).toBe(1);
    expect(produce.stderr()).toMatch(
      new RegExp(
        `1 record\\(s\\) would exceed max\\.message\\.bytes ${LIMIT} of topic ${topics.input.replace(/\./g, '\\.')}: line 18 \\(\\d+ bytes\\); nothing was produced`,
      ),
    );
    expect(produce.stderr()).not.toMatch(/Kafka is unavailable/);
    expect(await endOffsetsSum(suite.admin, topics.input)).toBe(0);
  });
});

describe('when the topic does not exist', () => {
  it('produce says which topic, and that it does not exist', async () => {
    const missing = randomName('no-such-topic');
    const produce = spawnCli(['produce', '--config', config, '--topic', missing, '--file', jsonl([JSON.stringify({ id: 'a', text: 'a' })]), '--no-progress']);
    expect(await produce.exited).toBe(1);
    expect(produce.stderr()).toContain(`spillway: topic ${missing} does not exist`);
    expect(produce.stderr()).not.toMatch(/Kafka is unavailable/);
  });

  it('consume names it too', async () => {
    const missing = randomName('no-such-topic');
    const consume = spawnCli(['consume', '--config', config, '--topic', missing, '--exit-at-end']);
    expect(await consume.exited).toBe(1);
    expect(consume.stderr()).toContain(`spillway: topic ${missing} does not exist`);
  });
});
