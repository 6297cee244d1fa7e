/**
 * Writes a partition's finished prefix of outputs and moves its committed offset, atomically
 * (exactly-once) or output-first (at-least-once).
 *
 * Exactly-once follows Kafka's consume-transform-produce loop (KIP-98): outputs, dead letters and the
 * consumed offsets go into one transaction, so a reader with isolation read_committed sees a batch's
 * outputs exactly when its offsets are committed. Batches of several partitions that finish together
 * share one transaction (group commit): a commit costs a few broker round trips, whatever its size.
 */
import type { Admin, Consumer, Message, Producer, TopicMessages, Transaction } from 'kafkajs';
import type { Logger } from 'pino';

/** One partition's contribution to a commit. */
export interface PartitionCommit {
  topic: string;
  partition: number;
  /** The next offset to consume: last handled offset + 1, as a decimal string. */
  nextOffset: string;
  /** Records for the output topic, in input offset order. */
  outputs: Message[];
  /** Records for the dead-letter topic, in input offset order. */
  deadLetters: Message[];
}

/** Commits partition prefixes; `commit` resolves once the outputs and offset are durable. */
export interface Committer {
  commit(entry: PartitionCommit): Promise<void>;
}

interface Pending {
  entry: PartitionCommit;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Bytes of record payload per produce request. The broker refuses a record batch over message.max.bytes
 * (1 MiB by default) and kafkajs sends one batch per partition per request, so a large commit is split
 * into several sends (all inside the same transaction).
 */
const MAX_REQUEST_BYTES = 512 * 1024;

function sizeOf(m: Message): number {
  const key = m.key === null || m.key === undefined ? 0 : m.key.length;
  const value = m.value === null ? 0 : m.value.length;
  return key + value + 64;
}

/** The outputs and dead letters of `entries`, as produce requests of at most ~MAX_REQUEST_BYTES each. */
function produceRequests(entries: readonly PartitionCommit[], outputTopic: string, deadLetterTopic: string): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  for (const [topic, messages] of [[outputTopic, entries.flatMap((e) => e.outputs)], [deadLetterTopic, entries.flatMap((e) => e.deadLetters)]] as const) {
    let chunk: Message[] = [];
    let bytes = 0;
    for (const m of messages) {
      const size = sizeOf(m);
      if (chunk.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
        requests.push([{ topic, messages: chunk }]);
        chunk = [];
        bytes = 0;
      }
      chunk.push(m);
      bytes += size;
    }
    if (chunk.length > 0) requests.push([{ topic, messages: chunk }]);
  }
  return requests;
}

function offsetsByTopic(entries: readonly PartitionCommit[]) {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const e of entries) {
    const list = byTopic.get(e.topic) ?? [];
    list.push({ partition: e.partition, offset: e.nextOffset });
    byTopic.set(e.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** How long a commit waits for its offsets to become readable before it gives up waiting, ms. */
const STABLE_WAIT_MS = 10_000;

/**
 * Exactly-once: one Kafka transaction per group of finished partition batches.
 *
 * A commit returns only once its offsets are readable from the group coordinator. EndTxn returns before
 * the broker has written the transaction markers, and until then an offset fetch (kafkajs has no
 * KIP-447 `require_stable`) still returns the previous offset: a member taking the partition over in a
 * rebalance right then would redo the batch and its outputs would be committed twice.
 */
export class TransactionalCommitter implements Committer {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly groupId: string,
    private readonly topics: { output: string; deadLetter: string },
    private readonly logger: Logger,
  ) {}

  commit(entry: PartitionCommit): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Commits everything queued, one transaction at a time (a kafkajs producer holds one open transaction). */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const entries = group.map((p) => p.entry);
      try {
        await this.runTransaction(entries);
        for (const p of group) p.resolve();
      } catch (err: unknown) {
        for (const p of group) p.reject(err);
      }
    }
    this.flushing = false;
  }

  private async runTransaction(entries: readonly PartitionCommit[]): Promise<void> {
    const transaction = await this.producer.transaction();
    try {
      for (const topicMessages of produceRequests(entries, this.topics.output, this.topics.deadLetter)) await transaction.sendBatch({ topicMessages });
      await transaction.sendOffsets({ consumerGroupId: this.groupId, topics: offsetsByTopic(entries) });
      await transaction.commit();
    } catch (err: unknown) {
      await this.abort(transaction, entries, err);
      throw err;
    }
    await this.awaitStable(entries);
  }

  private async awaitStable(entries: readonly PartitionCommit[]): Promise<void> {
    const wanted = new Map(entries.map((e) => [`${e.topic}|${e.partition}`, BigInt(e.nextOffset)]));
    const topics = [...new Set(entries.map((e) => e.topic))];
    const deadline = Date.now() + STABLE_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      const fetched = await this.admin.fetchOffsets({ groupId: this.groupId, topics });
      const stable = fetched.every(({ topic, partitions }) =>
        partitions.every(({ partition, offset }) => BigInt(offset) >= (wanted.get(`${topic}|${partition}`) ?? -1n)),
      );
      if (stable) return;
      if (Date.now() > deadline) {
        this.logger.warn({ partitions: entries.map((e) => e.partition) }, 'committed offsets not readable yet; going on');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** attempt)));
    }
  }

  private async abort(transaction: Transaction, entries: readonly PartitionCommit[], err: unknown): Promise<void> {
    this.logger.warn({ err, partitions: entries.map((e) => e.partition) }, 'transaction failed, aborting');
    if (transaction.isActive()) {
      await transaction.abort().catch((abortErr: unknown) => this.logger.warn({ err: abortErr }, 'transaction abort failed'));
    }
  }
}

/** At-least-once: outputs first (idempotent producer), then the offsets; a crash between the two repeats outputs. */
export class AtLeastOnceCommitter implements Committer {
  constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly topics: { output: string; deadLetter: string },
  ) {}

  async commit(entry: PartitionCommit): Promise<void> {
    for (const topicMessages of produceRequests([entry], this.topics.output, this.topics.deadLetter)) await this.producer.sendBatch({ topicMessages, acks: -1 });
    await this.consumer.commitOffsets([{ topic: entry.topic, partition: entry.partition, offset: entry.nextOffset }]);
  }
}
