import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { endOffsetsSum, spawnCli, useKafkaSuite, writeConfig, type TestTopics } from './helpers.js';

const suite = useKafkaSuite();
let topics: TestTopics;
let config: string;

beforeAll(async () => {
  topics = await suite.fileTopics('cli', 2);
  config = writeConfig({ kafka: { topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter } } });
});

describe('spillway produce', () => {
  it('publishes the valid lines of a JSONL file at the requested rate and skips the others', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'spillway-cli-')), 'items.jsonl');
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `c${i}`, text: `item number ${i}`, label: 3 }));
    writeFileSync(file, [...lines, 'not json', JSON.stringify({ id: 'e', text: '' }), ''].join('\n'));
    const startedMs = Date.now();
    const produce = spawnCli(['produce', '--config', config, '--file', file, '--rate', '40']);
    expect(await produce.exited).toBe(0);
    // 20 items at 40/s: about half a second, however fast the broker is.
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(450);
    expect(produce.stdout()).toMatch(
      new RegExp(`^produced 20 items to ${topics.input.replace(/\./g, '\\.')} in [\\d.]+ s \\(2 invalid lines skipped\\)$`, 'm'),
    );
    expect(await endOffsetsSum(suite.admin, topics.input)).toBe(20);
  });
});

describe('spillway consume', () => {
  it('prints a table by default and stops after --max records', async () => {
    const consume = spawnCli(['consume', '--config', config, '--topic', topics.input, '--from-beginning', '--max', '3']);
    expect(await consume.exited).toBe(0);
    const rows = consume.stdout().trimEnd().split('\n');
    expect(rows[0]).toMatch(/^part\s+offset\s+id\s+text$/);
    expect(rows.slice(1)).toHaveLength(3);
    for (const row of rows.slice(1)) expect(row).toMatch(/^\d\s+\d+\s+c\d+\s+item number \d+$/);
  });

  it('with --json --exit-at-end prints every record once as a JSON line and exits at the end', async () => {
    const consume = spawnCli(['consume', '--config', config, '--topic', topics.input, '--from-beginning', '--exit-at-end', '--json']);
    expect(await consume.exited).toBe(0);
    const records = consume
      .stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; value: { id: string; text: string } });
    expect(records.map((r) => r.value.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
    expect(records.every((r) => r.key === r.value.id)).toBe(true);
  });

  it('with --exit-at-end on an empty topic exits at once', async () => {
    const consume = spawnCli(['consume', '--config', config, '--topic', topics.output, '--from-beginning', '--exit-at-end', '--json']);
    expect(await consume.exited).toBe(0);
    expect(consume.stdout()).toBe('');
  });
});
