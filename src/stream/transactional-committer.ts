/**
 * Exactly-once commits, after Kafka's consume-transform-produce loop (KIP-98): outputs, dead letters and
 * the consumed offsets go into one transaction, so a reader with isolation read_committed sees a batch's
 * outputs exactly when its offsets are committed. Batches of several partitions that finish together
 * share one transaction (group commit): a commit costs a few broker round trips, whatever its size.
 */
import type { Admin, Producer, Transaction } from 'kafkajs';
import type { Logger } from 'pino';
import { offsetsByTopic, produceRequests, type Committer, type OutputTopics, type PartitionCommit } from './committer.js';

/** How long a commit waits for its offsets to become readable before it gives up waiting, ms. */
const STABLE_WAIT_MS = 60_000;

interface Pending {
  entry: PartitionCommit;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * {@link Committer} with Kafka transactions.
 *
 * - A commit returns only once its offsets are readable from the group coordinator. EndTxn returns before
 *   the broker has written the transaction markers, and until then an offset fetch (kafkajs has no KIP-447
 *   `require_stable`) still returns the previous offset: a member taking the partition over in a
 *   rebalance right then would redo the batch and commit its outputs twice.
 * - After a failed commit the producer is replaced: kafkajs keeps a producer's transaction state for
 *   good, and a new producer's InitProducerId (same transactional id) waits until the broker has settled
 *   the failed transaction, committed or aborted. Only then may positions be re-read ({@link recover}).
 */
export class TransactionalCommitter implements Committer {
  private queue: Pending[] = [];
  private flushing = false;
  private producer: Producer;
  private broken = false;
  private recovering: Promise<void> | undefined;
  private failureCount = 0;

  /** @param createProducer makes a transactional producer (same transactional id every time). */
  constructor(
    private readonly createProducer: () => Producer,
    private readonly admin: Admin,
    private readonly groupId: string,
    private readonly topics: OutputTopics,
    private readonly logger: Logger,
  ) {
    this.producer = createProducer();
  }

  get failures(): number {
    return this.failureCount;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.fence();
  }

  commit(entry: PartitionCommit): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  recover(): Promise<void> {
    if (!this.broken) return this.recovering ?? Promise.resolve();
    this.recovering ??= this.replaceProducer().finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  /**
   * Registers the transactional id (InitProducerId): fences any earlier producer with this id (a killed
   * predecessor) and settles the transaction it left open, before any offset of this worker is read.
   */
  private async fence(): Promise<void> {
    const transaction = await this.producer.transaction();
    await transaction.abort();
  }

  private async replaceProducer(): Promise<void> {
    await this.producer.disconnect().catch((err: unknown) => this.logger.debug({ err }, 'old producer disconnect failed'));
    this.producer = this.createProducer();
    await this.producer.connect();
    await this.fence();
    this.broken = false;
    this.logger.info({ failures: this.failureCount }, 'transactional producer replaced after a failed commit');
  }

  /** Commits everything queued, one transaction at a time (a kafkajs producer holds one open transaction). */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        if (this.broken) await this.recover();
        await this.runTransaction(group.map((p) => p.entry));
        for (const p of group) p.resolve();
      } catch (err: unknown) {
        for (const p of group) p.reject(err);
      }
    }
    this.flushing = false;
  }

  private async runTransaction(entries: readonly PartitionCommit[]): Promise<void> {
    let transaction: Transaction | undefined;
    try {
      transaction = await this.producer.transaction();
      for (const topicMessages of produceRequests(entries, this.topics)) await transaction.sendBatch({ topicMessages });
      await transaction.sendOffsets({ consumerGroupId: this.groupId, topics: offsetsByTopic(entries) });
      await transaction.commit();
    } catch (err: unknown) {
      this.failureCount += 1;
      this.broken = true;
      this.logger.warn({ err, partitions: entries.map((e) => e.partition) }, 'transaction failed; its outcome is settled before going on');
      if (transaction?.isActive() === true) await transaction.abort().catch(() => undefined);
      throw err;
    }
    await this.awaitStable(entries);
  }

  /**
   * Polls until the committed offsets are readable. Never throws: the transaction is committed, so a
   * failed fetch (a broker restarting) must not make the caller redo the batch; it only waits less.
   */
  private async awaitStable(entries: readonly PartitionCommit[]): Promise<void> {
    const wanted = new Map(entries.map((e) => [`${e.topic}|${e.partition}`, BigInt(e.nextOffset)]));
    const topics = [...new Set(entries.map((e) => e.topic))];
    const deadline = Date.now() + STABLE_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      const fetched = await this.admin.fetchOffsets({ groupId: this.groupId, topics }).catch((err: unknown) => {
        this.logger.debug({ err }, 'offset fetch failed while waiting for a commit to be readable');
        return undefined;
      });
      const stable = fetched?.every(({ topic, partitions }) =>
        partitions.every(({ partition, offset }) => BigInt(offset) >= (wanted.get(`${topic}|${partition}`) ?? -1n)),
      );
      if (stable === true) return;
      if (Date.now() > deadline) {
        this.logger.warn({ partitions: entries.map((e) => e.partition) }, 'committed offsets not readable yet; going on');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** attempt)));
    }
  }
}
