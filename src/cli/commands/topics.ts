/**
 * `spillway topics create`: creates the input, output, dead-letter, labels and models topics with the settings of
 * topics/topics.yaml (names from the configuration). Idempotent: existing topics are reported and kept,
 * grown when they have fewer partitions than configured.
 */
import type { Command } from 'commander';
import { createKafka, ensureTopics, loadTopicSettings, TOPICS_FILE } from '../../stream/index.js';
import { createServiceContext } from '../../app/index.js';

interface TopicsCreateFlags {
  config?: string;
  settings: string;
}

export function register(program: Command): void {
  const topics = program.command('topics').description('Manage the Kafka topics Spillway uses.');
  topics
    .command('create')
    .description('Create the input, output, dead-letter, labels and models topics (idempotent).')
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--settings <file>', 'topic settings file', TOPICS_FILE)
    .action(async (flags: TopicsCreateFlags) => {
      const { config, logger } = createServiceContext({ file: flags.config });
      const settings = loadTopicSettings(flags.settings);
      const names = config.kafka.topics;
      const admin = createKafka(config.kafka, logger).admin();
      await admin.connect();
      try {
        const outcomes = await ensureTopics(admin, [
          { ...settings.input, name: names.input },
          { ...settings.output, name: names.output },
          { ...settings.deadLetter, name: names.deadLetter },
          // Shared learning's topics, when the settings file lists them (older custom files may not).
          ...(settings.labels === undefined ? [] : [{ ...settings.labels, name: names.labels }]),
          ...(settings.models === undefined ? [] : [{ ...settings.models, name: names.models }]),
        ]);
        for (const o of outcomes) {
          const grown = o.action === 'grown' ? ` (was ${o.previousPartitions})` : '';
          process.stdout.write(`${o.action.padEnd(7)} ${o.name}: ${o.partitions} partitions${grown}\n`);
        }
      } finally {
        await admin.disconnect();
      }
    });
}
