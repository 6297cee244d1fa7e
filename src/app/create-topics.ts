/**
 * Creating the topics Spillway uses (`spillway topics create`): input, output, dead-letter, labels and models,
 * named by the configuration, with the settings of topics/topics.yaml. Idempotent: existing topics are kept,
 * grown when they have fewer partitions than configured.
 */
import { createKafka, ensureTopics, loadTopicSettings, type TopicOutcome } from '../stream/index.js';
import type { ServiceContext } from './service-context.js';

/** Ensures the topics exist; resolves with what was done to each. */
export async function createTopics(context: ServiceContext, settingsFile: string): Promise<TopicOutcome[]> {
  const { config, logger } = context;
  const settings = loadTopicSettings(settingsFile);
  const names = config.kafka.topics;
  const admin = createKafka(config.kafka, logger).admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, [
      { ...settings.input, name: names.input },
      { ...settings.output, name: names.output },
      { ...settings.deadLetter, name: names.deadLetter },
      // Shared learning's topics, when the settings file lists them (older custom files may not).
      ...(settings.labels === undefined ? [] : [{ ...settings.labels, name: names.labels }]),
      ...(settings.models === undefined ? [] : [{ ...settings.models, name: names.models }]),
    ]);
  } finally {
    await admin.disconnect();
  }
}
