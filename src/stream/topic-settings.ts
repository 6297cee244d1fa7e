/** Reads `topics/topics.yaml`: partitions, replication and broker-side config per topic role. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { TOPICS_DIR } from './schemas.js';

const topicSchema = z.object({
  /** The default topic name (the configuration's kafka.topics.* may rename it). */
  name: z.string().min(1),
  /** The .avsc file, relative to the settings file. */
  schema: z.string().min(1),
  partitions: z.number().int().positive(),
  replicationFactor: z.number().int().positive(),
  /** Broker-side topic config (cleanup.policy, retention.ms …), values as strings. */
  config: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).default({}),
});

// labels and models (shared learning) are optional so a settings file from before them still loads.
const settingsSchema = z.object({
  input: topicSchema,
  output: topicSchema,
  deadLetter: topicSchema,
  labels: topicSchema.optional(),
  models: topicSchema.optional(),
});

/** The settings of one topic. */
export type TopicSettings = z.infer<typeof topicSchema>;
/** Settings of the topic roles. */
export type TopicsSettings = z.infer<typeof settingsSchema>;
/** A topic role, as `kafka.topics` names them. */
export type TopicRole = keyof TopicsSettings;

/** The repository's topic settings file. */
export const TOPICS_FILE = path.join(TOPICS_DIR, 'topics.yaml');

/** Reads and validates a topic settings file; problems are a ConfigError naming the key. */
export function loadTopicSettings(file: string = TOPICS_FILE): TopicsSettings {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err: unknown) {
    throw new ConfigError([{ key: 'topics', message: `cannot read ${file}`, value: file }], { cause: err });
  }
  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => ({ key: `topics.${i.path.join('.')}`, message: `${i.message} in ${file}` })));
  }
  return result.data;
}
