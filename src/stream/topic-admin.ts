/** Creates the topics idempotently with kafkajs admin: existing topics are reported, grown if too small, else left. */
import type { Admin } from 'kafkajs';
import type { TopicSettings } from './topic-settings.js';

/** What `ensureTopics` did to one topic. */
export interface TopicOutcome {
  name: string;
  action: 'created' | 'exists' | 'grown';
  partitions: number;
  /** Partitions before growing, when grown. */
  previousPartitions?: number;
}

/**
 * Makes every topic exist with at least its configured partitions. Topic config of existing topics is
 * left alone (changing retention or compaction under running consumers is an operator's decision).
 */
export async function ensureTopics(admin: Admin, topics: ReadonlyArray<TopicSettings & { name: string }>): Promise<TopicOutcome[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const present = topics.filter((t) => existing.has(t.name));
  const metadata = present.length === 0 ? { topics: [] } : await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
  const counts = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  const grow = present.filter((t) => (counts.get(t.name) ?? 0) < t.partitions);
  if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });

  return topics.map((t): TopicOutcome => {
    if (!existing.has(t.name)) return { name: t.name, action: 'created', partitions: t.partitions };
    const before = counts.get(t.name) ?? 0;
    if (before < t.partitions) return { name: t.name, action: 'grown', partitions: t.partitions, previousPartitions: before };
    return { name: t.name, action: 'exists', partitions: before };
  });
}
