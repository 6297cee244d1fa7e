/**
 * The outcomes of one partition batch as they finish, in any order, and the commits of its finished
 * prefix, in offset order: an offset is committed only once every record before it has its outcome.
 * Commits of one batch are serialised; each takes what has finished since the previous one.
 */
import type { Batch, Message } from 'kafkajs';
import type { Committer, SideRecord } from './committer.js';
import type { StreamObserver } from './types.js';

/** The result of one record: an output record (and side records such as its label) or a dead letter. */
export type Outcome = { output: Message; side?: SideRecord[] } | { deadLetter: Message };

/** What {@link PartitionProgress} needs from the batch and the worker. */
export interface PartitionProgressDeps {
  batch: Batch;
  committer: Committer;
  /** kafkajs' resolveOffset: moves the consumer's position past a committed record. */
  resolveOffset: (offset: string) => void;
  /** True once the partition was revoked or seeked: its work is then redone from the committed offset. */
  isStale: () => boolean;
  observer?: StreamObserver;
  onCommitted?: (items: number) => void;
}

/** Tracks one batch's outcomes and commits its finished prefix. */
export class PartitionProgress {
  private readonly outcomes: Array<Outcome | undefined>;
  private committedUpTo = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: PartitionProgressDeps) {
    this.outcomes = new Array<Outcome | undefined>(deps.batch.messages.length);
  }

  /** Records the outcome of the record at `index` in the batch. */
  set(index: number, outcome: Outcome): void {
    this.outcomes[index] = outcome;
  }

  /** Records still uncommitted. */
  get pending(): number {
    return this.outcomes.length - this.committedUpTo;
  }

  /**
   * Commits everything finished after the last commit, if anything. Calls are queued behind each other;
   * a failed commit fails every later call too (the batch is then redone from the last committed offset).
   */
  commitPrefix(): Promise<void> {
    this.chain = this.chain.then(() => this.commitNow());
    return this.chain;
  }

  private async commitNow(): Promise<void> {
    const { batch, isStale } = this.deps;
    const from = this.committedUpTo;
    let done = from;
    while (done < this.outcomes.length && this.outcomes[done] !== undefined) done++;
    if (done === from || isStale()) return;
    const prefix = this.outcomes.slice(from, done) as Outcome[];
    const lastHandled = (batch.messages[done - 1] as { offset: string }).offset;
    // When the whole batch is done, step past trailing transaction control records too.
    const nextOffset = done === this.outcomes.length ? (BigInt(batch.lastOffset()) + 1n).toString() : (BigInt(lastHandled) + 1n).toString();
    await this.deps.committer.commit({
      topic: batch.topic,
      partition: batch.partition,
      nextOffset,
      outputs: prefix.flatMap((o) => ('output' in o ? [o.output] : [])),
      deadLetters: prefix.flatMap((o) => ('deadLetter' in o ? [o.deadLetter] : [])),
      side: prefix.flatMap((o) => ('output' in o ? (o.side ?? []) : [])),
    });
    this.outcomes.fill(undefined, from, done); // committed: let the encoded records go
    this.committedUpTo = done;
    this.deps.resolveOffset(lastHandled);
    this.deps.observer?.setConsumerLag(batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(nextOffset))));
    this.deps.onCommitted?.(done - from);
  }
}
