/** At-least-once: outputs first (idempotent producer), then the offsets; a crash between the two repeats outputs. */
import type { Consumer, Producer } from 'kafkajs';
import { produceRequests, type Committer, type OutputTopics, type PartitionCommit } from './committer.js';

/** {@link Committer} without transactions: a failed commit is simply redone, duplicates allowed. */
export class AtLeastOnceCommitter implements Committer {
  readonly failures = 0;

  constructor(
    private readonly producer: Producer,
    /** The current consumer's commitOffsets (the worker replaces its consumer after a crash). */
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly topics: OutputTopics,
  ) {}

  async start(): Promise<void> {
    await this.producer.connect();
  }

  async commit(entry: PartitionCommit): Promise<void> {
    for (const topicMessages of produceRequests([entry], this.topics)) await this.producer.sendBatch({ topicMessages, acks: -1 });
    await this.consumer.commitOffsets([{ topic: entry.topic, partition: entry.partition, offset: entry.nextOffset }]);
  }

  recover(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
