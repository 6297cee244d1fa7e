/**
 * Handles one fetched batch of one partition: decodes and processes its records concurrently (bounded by
 * the in-flight limiter), then commits the longest finished prefix in offset order, so an offset is
 * committed only once every record before it in its partition has its output (or dead letter) written.
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { DecodeError } from '../errors.js';
import type { Committer, SideRecord } from './committer.js';
import type { InFlightLimiter } from './in-flight-limiter.js';
import { PartitionProgress, type Outcome } from './partition-progress.js';
import type { IdMemory } from './id-memory.js';
import type { ItemDecoder } from './item-codec.js';
import type { OutputFitter } from './output-fitter.js';
import { toAnnotationRecord } from './records.js';
import type { ItemAnswer, ItemProcessor, RecordOrigin, StreamItem, StreamObserver } from './types.js';

/** How often a batch in progress offers a heartbeat (kafkajs sends one only when heartbeatInterval is due). */
export const HEARTBEAT_TICK_MS = 1_000;

/** Tells batches that the worker is shutting down and when in-flight items must be abandoned. */
export interface ShutdownSignal {
  readonly stopping: boolean;
  /** Resolves when the shutdown grace period is over. */
  readonly graceOver: Promise<void>;
}

/** Dependencies of {@link BatchHandler}. */
export interface BatchHandlerDeps {
  decoder: ItemDecoder;
  process: ItemProcessor;
  /** Encodes annotations and dead letters so that they fit their topics. */
  fitter: OutputFitter;
  limiter: InFlightLimiter;
  committer: Committer;
  shutdown: ShutdownSignal;
  logger: Logger;
  observer?: StreamObserver;
  /** Commit a batch's finished prefix this often while the batch is in progress, ms. */
  commitIntervalMs: number;
  /** The group's committed offset of a partition, from the broker; undefined when none. */
  committedOffset: (topic: string, partition: number) => Promise<string | undefined>;
  /** Moves the consumer's position (kafkajs consumer.seek). */
  seek: (topic: string, partition: number, offset: string) => void;
  /** Called with the error of a failed batch before kafkajs sees it (which keeps only its message). */
  onFailure?: (err: unknown) => void;
  /** Called after every successful commit (the worker resets its restart count). */
  onCommitted?: (items: number) => void;
  /** Records an answered item adds to its commit besides its annotation (shared learning: its label). */
  sideRecords?: (item: StreamItem, answer: ItemAnswer) => SideRecord[];
  /**
   * Sends an item's side records at once, outside the transaction (`sharedLearning.labelDelivery: immediate`):
   * the item is finished once they are written. Absent: they are committed with the annotation.
   */
  sendSide?: (records: readonly SideRecord[]) => Promise<void>;
  /**
   * After a rebalance notice, how long the batch may still commit, ms. The coordinator evicts a member that has
   * not re-joined within the rebalance timeout, counted from the rebalance's start (up to a heartbeat interval
   * before the notice), and hands its partitions on; the evicted member learns it only at its next heartbeat,
   * and a commit in between would publish twice what the new owner redoes (kafkajs has no KIP-447 fencing).
   * Past this window what is not committed is left to the next owner. Absent: no limit.
   */
  rebalanceCommitWindowMs?: number;
  /** Recent item ids: a record repeating one (at another offset) is dead-lettered `duplicate-id`. Absent: no check. */
  ids?: IdMemory;
}

/** Processes kafkajs batches (use as `eachBatch` with autoCommit and eachBatchAutoResolve off). */
export class BatchHandler {
  /** Per partition, the committer's failure count when its position was last checked against the broker. */
  private readonly synced = new Map<string, number>();
  private running = 0;

  constructor(private readonly deps: BatchHandlerDeps) {}

  /** Batches being processed now. */
  get active(): number {
    return this.running;
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    // Heartbeats keep the group membership alive while a long batch (LLM calls) is processed, also while
    // it waits for one slow item; kafkajs throttles them to heartbeatInterval. A rebalance notice is acted
    // on after the batch, by kafkajs.
    const membership: Membership = { rebalancing: false, evicted: false, windowMs: this.deps.rebalanceCommitWindowMs ?? Number.POSITIVE_INFINITY };
    const heartbeat = (): void => void payload.heartbeat().catch((err: unknown) => noteMembership(membership, err));
    const ticker = setInterval(heartbeat, HEARTBEAT_TICK_MS);
    this.running++;
    try {
      await this.run(payload, heartbeat, membership);
    } finally {
      this.running--;
      clearInterval(ticker);
    }
  }

  /**
   * After a failed commit, whose outcome the worker cannot know, a partition's local position may be
   * behind (the broker committed it after all) or ahead of the truth. Before its next batch is processed,
   * the committer settles the failed transaction and the position is re-read from the broker; a batch
   * that does not start there is dropped and the partition sought to the committed offset.
   * @returns true when the batch may be processed.
   */
  private async inSync(payload: EachBatchPayload): Promise<boolean> {
    const { committer } = this.deps;
    const { topic, partition, messages } = payload.batch;
    const key = `${topic}|${partition}`;
    if (committer.failures === 0 || this.synced.get(key) === committer.failures) return true;
    await committer.recover();
    const committed = await this.deps.committedOffset(topic, partition);
    this.synced.set(key, committer.failures);
    const first = messages[0]?.offset;
    if (committed === undefined || first === undefined || committed === first) return true;
    this.deps.logger.warn({ topic, partition, committed, position: first }, 'position differs from the committed offset after a failed commit; seeking');
    this.deps.seek(topic, partition, committed);
    return false;
  }

  private async run(payload: EachBatchPayload, heartbeat: () => void, membership: Membership): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    const { limiter, shutdown } = this.deps;
    const messages = batch.messages;
    if (!(await this.inSync(payload))) return;
    const progress = new PartitionProgress({
      batch,
      committer: this.deps.committer,
      resolveOffset: payload.resolveOffset,
      // Evicted from the group (a batch outlived the rebalance timeout): the partition's new owner redoes what
      // is not committed; committing it here as well would publish it twice (kafkajs has no KIP-447 fencing).
      isStale: () => isStale() || membership.evicted || pastCommitWindow(membership),
      ...(this.deps.observer === undefined ? {} : { observer: this.deps.observer }),
      ...(this.deps.onCommitted === undefined ? {} : { onCommitted: this.deps.onCommitted }),
    });
    const tasks: Array<Promise<void>> = [];
    let failure: { err: unknown } | undefined;
    const fail = (err: unknown): void => {
      failure ??= { err };
    };
    // Long batches (LLM-bound items) commit what has finished every commitIntervalMs, not only at the end:
    // outputs appear sooner and a crash redoes less.
    const committing = setInterval(() => void progress.commitPrefix().catch(fail), this.deps.commitIntervalMs);
    try {
      for (let i = 0; i < messages.length; i++) {
        // A rebalance under way: take no more records, so the batch ends (and commits) before the rebalance
        // timeout; the rest is fetched again by whoever owns the partition next.
        if (shutdown.stopping || !isRunning() || isStale() || membership.rebalancing || membership.evicted || failure !== undefined) break;
        if (!limiter.tryAcquire()) {
          // A slot frees when an item finishes; with the LLM stalled none may, so the grace period bounds the wait.
          const acquired = limiter.acquire();
          const got = await Promise.race([acquired.then(() => true), shutdown.graceOver.then(() => false)]);
          if (!got) {
            void acquired.then(() => limiter.release());
            break;
          }
          if (shutdown.stopping) {
            limiter.release();
            break;
          }
        }
        const message = messages[i] as KafkaMessage;
        const origin: RecordOrigin = { topic: batch.topic, partition: batch.partition, offset: message.offset };
        tasks.push(
          this.handleRecord(message, origin)
            .then((outcome) => {
              progress.set(i, outcome);
              heartbeat();
            }, fail)
            .finally(() => limiter.release()),
        );
      }
      const settled = Promise.all(tasks);
      // Raced even when the stop comes after this wait began: a stalled item must not hold a SIGTERM past the grace.
      await Promise.race([settled, shutdown.graceOver]);
    } finally {
      clearInterval(committing);
    }
    // A processing failure (the LLM down past its retries, the registry unreachable) is no fault of the
    // data: what finished before it may already be committed, the rest is redone; kafkajs retries, then crashes.
    if (failure === undefined) await progress.commitPrefix();
    if (failure !== undefined) {
      this.deps.onFailure?.(failure.err);
      throw failure.err;
    }
  }

  private async handleRecord(message: KafkaMessage, origin: RecordOrigin): Promise<Outcome> {
    const receivedAtMs = Date.now();
    let item;
    try {
      item = await this.deps.decoder.decode(message.value, message.key, origin);
    } catch (err: unknown) {
      if (!(err instanceof DecodeError)) throw err;
      return { deadLetter: this.deps.fitter.deadLetter(message, origin, err.kind, err.message) };
    }
    const first = this.deps.ids?.claim(item.id, origin);
    if (first !== undefined) {
      const why = `item id ${JSON.stringify(item.id)} was already taken from ${first.topic}[${first.partition}] at offset ${first.offset}: an id is answered once (this worker remembers about ${this.deps.ids?.capacity} recent ids, kafka.rememberIds)`;
      return { deadLetter: this.deps.fitter.deadLetter(message, origin, 'duplicate-id', why) };
    }
    const answer = await this.deps.process(item);
    // Every record is checked against its topic's size limit here, before the transaction: one that
    // the broker refused would fail the transaction, and block the partition, forever.
    const fitted = this.deps.fitter.annotation(toAnnotationRecord(answer, origin, receivedAtMs), message, origin);
    if (!('output' in fitted)) return fitted;
    const side = this.deps.fitter.side(this.deps.sideRecords?.(item, answer) ?? [], origin);
    if (side.length === 0) return fitted;
    const send = this.deps.sendSide;
    if (send === undefined) return { ...fitted, side };
    await send(side);
    return fitted;
  }
}

/** What the batch's heartbeats learned about this member's place in the group. */
export interface Membership {
  /** The coordinator asked the members to re-join. */
  rebalancing: boolean;
  /** This member's generation is gone: it was removed from the group, its partitions are someone else's. */
  evicted: boolean;
  /** When the first rebalance notice came (performance.now()). */
  noticedAt?: number;
  /** How long after the notice commits are still safe (BatchHandlerDeps.rebalanceCommitWindowMs). */
  windowMs: number;
}

/** True once a rebalance has gone on long enough that this member may have been evicted without knowing it. */
export function pastCommitWindow(membership: Readonly<Membership>, now = performance.now()): boolean {
  return membership.noticedAt !== undefined && now - membership.noticedAt > membership.windowMs;
}

/** Reads a failed heartbeat: a rebalance under way, or this member evicted (other errors: kafkajs retries). */
export function noteMembership(membership: Membership, err: unknown): void {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'REBALANCE_IN_PROGRESS') {
    membership.rebalancing = true;
    membership.noticedAt ??= performance.now();
  } else if (type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'FENCED_INSTANCE_ID') membership.evicted = true;
}
