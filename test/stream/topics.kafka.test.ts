import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics, loadTopicSettings } from '../../src/stream/index.js';
import { randomName, spawnCli, testKafka, writeConfig } from './helpers.js';

let admin: Admin;
const created: string[] = [];

beforeAll(async () => {
  admin = testKafka().admin();
  await admin.connect();
});

afterAll(async () => {
  if (created.length > 0) await admin.deleteTopics({ topics: created, timeout: 10_000 }).catch(() => undefined);
  await admin.disconnect();
});

describe('spillway topics create', () => {
  it('creates the five topics with the settings of topics.yaml, then reports them as existing', async () => {
    const base = randomName('topics');
    const names = { input: `${base}.in`, output: `${base}.out`, deadLetter: `${base}.dlq`, labels: `${base}.labels`, models: `${base}.models` };
    created.push(...Object.values(names));
    const config = writeConfig({ kafka: { topics: names } });

    const first = spawnCli(['topics', 'create', '--config', config]);
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toContain(`created ${names.input}: 6 partitions`);
    expect(first.stdout()).toContain(`created ${names.deadLetter}: 1 partitions`);
    // Shared learning: one label partition (one total order), a compacted snapshot topic.
    expect(first.stdout()).toContain(`created ${names.labels}: 1 partitions`);
    expect(first.stdout()).toContain(`created ${names.models}: 1 partitions`);

    const again = spawnCli(['topics', 'create', '--config', config]);
    expect(await again.exited).toBe(0);
    expect(
      again
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('exists')),
    ).toHaveLength(5);

    const [described] = (
      await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: names.output, configNames: ['cleanup.policy', 'retention.ms'] }] })
    ).resources;
    const byName = Object.fromEntries((described?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
    const settings = loadTopicSettings();
    expect(byName['cleanup.policy']).toBe(settings.output.config['cleanup.policy']);
    expect(byName['retention.ms']).toBe(settings.output.config['retention.ms']);
    const [models] = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: names.models, configNames: ['cleanup.policy'] }] }))
      .resources;
    expect(models?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');
  });
});

describe('ensureTopics', () => {
  it('grows an existing topic that has fewer partitions than configured, and never shrinks one', async () => {
    const name = randomName('grow');
    created.push(name);
    const settings = { ...loadTopicSettings().input, name };
    expect(await ensureTopics(admin, [{ ...settings, partitions: 2 }])).toEqual([{ name, action: 'created', partitions: 2 }]);
    expect(await ensureTopics(admin, [{ ...settings, partitions: 4 }])).toEqual([{ name, action: 'grown', partitions: 4, previousPartitions: 2 }]);
    expect(await ensureTopics(admin, [{ ...settings, partitions: 3 }])).toEqual([{ name, action: 'exists', partitions: 4 }]);
    const metadata = await admin.fetchTopicMetadata({ topics: [name] });
    expect(metadata.topics[0]?.partitions).toHaveLength(4);
  });
});
