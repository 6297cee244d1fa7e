/**
 * `spillway topics create`: creates the input, output, dead-letter, labels and models topics with the settings of
 * topics/topics.yaml (names from the configuration). Idempotent: existing topics are reported and kept,
 * grown when they have fewer partitions than configured.
 */
import type { Command } from 'commander';
import { createServiceContext, createTopics } from '../../app/index.js';
import { TOPICS_FILE } from '../../stream/index.js';

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
      for (const o of await createTopics(createServiceContext({ file: flags.config }), flags.settings)) {
        const grown = o.action === 'grown' ? ` (was ${o.previousPartitions})` : '';
        process.stdout.write(`${o.action.padEnd(7)} ${o.name}: ${o.partitions} partitions${grown}\n`);
      }
    });
}
