/**
 * Shared learning for `spillway run`: the workers of a group train one cascade together.
 *
 * - Each LLM label goes to `kafka.topics.labels` as soon as the LLM answers (`sharedLearning.labelDelivery`:
 *   `immediate`), or with its annotation, in one transaction (`with-annotation`).
 * - A worker learns its own labels inline, when their LLM answers arrive (its stages profit at once, and its
 *   cold start can wait for them), and every other worker's from the label topic (its own group,
 *   read_committed), in topic order; its own labels, when they come back, are not learned twice.
 * - Every `sharedLearning.snapshotEveryLabels` labels each worker saves its state locally (models/<task>,
 *   with the label offset in the manifest) and the worker owning input partition 0 publishes it to
 *   `kafka.topics.models`. A starting worker restores the newest usable of the two (shared-state.ts), then
 *   replays the labels after its offset before it takes items.
 * - A label or snapshot record that cannot be used is dead-lettered and skipped (label-consumer.ts,
 *   snapshot-topic.ts); learning stops only when the learner itself is broken, and then the worker stops too.
 *
 * The CLI is the only place that sees both the cascade and the stream layer, so the wiring lives here.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { archiveCascadeState, modelStateDir, restoreCascadeArchive, type Cascade } from '../cascade/index.js';
import type { Config } from '../config.js';
import type { Task } from '../llm/index.js';
import {
  closeWithin,
  LabelConsumer,
  LabelPublisher,
  OwnLabels,
  PARTITIONER,
  SnapshotPublisher,
  type DeadLetterWriter,
  type LabelRecord,
  type StreamCodecs,
} from '../stream/index.js';
import type { StartingState } from './shared-state.js';

/** What /status shows of this worker (field `worker`). */
export interface SharedLearningStatus {
  id: string;
  sharedLearning: boolean;
  /** Where the state came from at start and at which label offset. */
  restored?: { source: StartingState['source']; labelOffset: number; snapshotId?: string };
  /** The next label offset to train on. */
  labelOffset?: number;
  /** Labels the state has been trained on, in total. */
  labels?: number;
  /** Labels this worker committed to the label topic. */
  labelsProduced?: number;
  /** True while this worker publishes the group's snapshots (it owns input partition 0). */
  snapshotPublisher?: boolean;
  /**
   * How long the other workers' labels took from their LLM answer to being learned here, ms, over the last
   * {@link DELAY_WINDOW} of them: the staleness shared learning adds to a worker's stages.
   */
  labelDelayMs?: { p50: number; p95: number; labels: number };
  /** The last snapshot this worker took. */
  lastSnapshot?: { labelOffset: number; published: boolean; snapshotId?: string; bytes?: number; atMs: number };
}

/** What {@link SharedLearning} needs. */
export interface SharedLearningOptions {
  kafka: Kafka;
  config: Readonly<Config>;
  codecs: StreamCodecs;
  cascade: Cascade;
  task: Task;
  teacherModel: string;
  workerId: string;
  start: StartingState;
  /** Where refused labels go (started by the caller). */
  deadLetters: DeadLetterWriter;
  /** Called once if the label consumer stops for good: this worker learns nothing more and should stop. */
  onFailure?: (err: unknown) => void;
  /** Told how long each other worker's label took to be learned here (`spillway_shared_label_delay_seconds`). */
  observer?: { sharedLabelDelay?(seconds: number): void };
  logger: Logger;
}

/** Other workers' labels whose delay /status summarises. */
const DELAY_WINDOW = 256;

/** One worker's side of shared learning: label production, the label consumer, snapshots. */
export class SharedLearning {
  readonly publisher: LabelPublisher;
  private readonly consumer: LabelConsumer;
  /** Labels this worker published and learned inline, not yet read back. */
  private readonly own: OwnLabels;
  private readonly snapshots: SnapshotPublisher;
  private readonly log: Logger;
  private labels: number;
  /** The next label offset once the label being trained on is done. */
  private offset: bigint;
  private owner = false;
  private publishing: Promise<void> = Promise.resolve();
  private last: SharedLearningStatus['lastSnapshot'];
  /** Delays of the last DELAY_WINDOW other workers' labels, ms (a ring). */
  private readonly delays = new Float64Array(DELAY_WINDOW);
  /** Tells the cascade's learning pace that the labels pending here fell. */
  private readonly learned: () => void;
  private delaysSeen = 0;
  /** True once the replay at start is over: labels are then learned as they are published. */
  private live = false;

  constructor(private readonly options: SharedLearningOptions) {
    const { kafka, config, codecs, task, workerId, start } = options;
    this.log = options.logger.child({ module: 'shared-learning' });
    this.labels = start.labels;
    this.offset = start.labelOffset;
    const own = new OwnLabels(workerId);
    this.own = own;
    this.publisher = new LabelPublisher({
      onPublish: (id, labelId) => own.add(id, labelId),
      topic: config.kafka.topics.labels,
      task: task.name,
      teacherModel: options.teacherModel,
      workerId,
      encoder: codecs.labelEncoder,
    });
    this.consumer = new LabelConsumer({
      kafka,
      topic: config.kafka.topics.labels,
      groupPrefix: `${config.kafka.groupId}.labels.${workerId}`,
      fromOffset: start.labelOffset,
      decoder: codecs.labelDecoder,
      rules: { maxIdBytes: config.kafka.maxIdBytes, maxTextBytes: config.kafka.maxTextBytes, task: { name: task.name, labels: task.labels } },
      deadLetters: options.deadLetters,
      onLabel: (label, offset) => this.onLabel(label, offset),
      prefetch: (texts) => options.cascade.prepareLabels(texts),
      maxRestarts: config.kafka.maxRestarts,
      ...(options.onFailure === undefined ? {} : { onFailure: options.onFailure }),
      logger: options.logger,
    });
    const consumer = this.consumer;
    // The topic's end counts the labels of open transactions too (with-annotation), which the consumer cannot
    // read before they commit: only labels written at once say how far behind the group this worker is.
    // Its own labels in the topic were learned inline already: the others' are what it lacks.
    this.learned =
      config.sharedLearning.labelDelivery === 'immediate' ? options.cascade.watchSharedLabels(() => Math.max(0, consumer.lag - own.size)) : () => undefined;
    this.snapshots = new SnapshotPublisher(
      kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER }),
      config.kafka.topics.models,
      codecs.schemas.modelChunk,
      config.sharedLearning.chunkBytes,
    );
  }

  /** For the cascade's saves: the label offset and count the state includes. */
  readonly stateMeta = (): Record<string, number> => ({
    labelOffset: Number(this.consumer.position > this.offset ? this.consumer.position : this.offset),
    labels: this.labels,
  });

  /** For the worker: the input partitions it owns after a (re)join; the owner of partition 0 publishes snapshots. */
  readonly onAssignment = (partitions: number[]): void => {
    const owner = partitions.includes(0);
    if (owner !== this.owner) this.log.info({ publisher: owner }, owner ? 'this worker publishes the snapshots' : 'another worker publishes the snapshots');
    this.owner = owner;
  };

  /** Starts reading labels and replays up to the end of the label topic (bounded by catchUpTimeoutMs). */
  async start(): Promise<void> {
    await this.snapshots.start();
    const started = Date.now();
    const from = this.consumer.position;
    await this.consumer.start();
    const caughtUp = await this.consumer.catchUp(this.options.config.sharedLearning.catchUpTimeoutMs);
    if (this.consumer.error !== undefined) throw this.consumer.error;
    const replay = { from: from.toString(), to: this.consumer.position.toString(), labels: this.consumer.count, ms: Date.now() - started };
    this.live = true;
    if (caughtUp) this.log.info(replay, 'label topic replayed');
    else this.log.warn(replay, 'label replay did not reach the end in time; taking items while it goes on');
  }

  /**
   * Stops reading labels, then waits for a snapshot being published, at most `timeoutMs` in all (a broker
   * recovering must not hold a shutdown past its watchdog; readers ignore an unfinished snapshot).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const { labels, labelsProduced, labelDelayMs } = this.status();
    this.log.info({ labels, labelsProduced, labelDelayMs, behind: this.consumer.lag }, 'shared learning stopping');
    await this.consumer.stop(Math.min(1_500, timeoutMs));
    await closeWithin(
      // In turn: closing the producer under a publish in flight would cut the snapshot short.
      { 'finish publishing the snapshot and close its producer': async () => (await this.publishing, await this.snapshots.close()) },
      Math.max(0, deadline - Date.now()),
      this.log,
    );
  }

  status(): SharedLearningStatus {
    return {
      id: this.options.workerId,
      sharedLearning: true,
      restored: {
        source: this.options.start.source,
        labelOffset: Number(this.options.start.labelOffset),
        ...(this.options.start.snapshotId === undefined ? {} : { snapshotId: this.options.start.snapshotId }),
      },
      labelOffset: this.stateMeta().labelOffset,
      labels: this.labels,
      labelsProduced: this.publisher.produced,
      snapshotPublisher: this.owner,
      ...(this.delaysSeen === 0 ? {} : { labelDelayMs: this.labelDelay() }),
      ...(this.last === undefined ? {} : { lastSnapshot: this.last }),
    };
  }

  private labelDelay(): NonNullable<SharedLearningStatus['labelDelayMs']> {
    const recent = this.delays.slice(0, Math.min(this.delaysSeen, DELAY_WINDOW)).sort();
    const at = (q: number): number => Math.round(recent[Math.min(recent.length - 1, Math.floor(q * recent.length))] as number);
    return { p50: at(0.5), p95: at(0.95), labels: this.delaysSeen };
  }

  /** A checked label of this task (the consumer refuses the rest, and any whose learning throws). */
  private async onLabel(label: LabelRecord, offset: bigint): Promise<void> {
    this.offset = offset + 1n;
    // This worker's own label was learned inline when its answer arrived: counted, not learned again.
    if (!this.own.take(label)) {
      await this.options.cascade.learnFromLabel(label.text, label.labelId);
      // Replayed labels (a worker joining late) are old by design: only live ones say how stale sharing is.
      if (this.live) this.noteDelay(Date.now() - label.producedAtMs);
    }
    this.labels++;
    this.learned();
    if (this.labels % this.options.config.sharedLearning.snapshotEveryLabels === 0) await this.snapshot();
  }

  private noteDelay(ms: number): void {
    const delay = Math.max(0, ms);
    this.delays[this.delaysSeen++ % DELAY_WINDOW] = delay;
    this.options.observer?.sharedLabelDelay?.(delay / 1000);
  }

  /**
   * Takes a snapshot while no label is trained on (this runs inside the label handler): every worker saves
   * it locally; the publisher also packs it and sends it in the background.
   */
  private async snapshot(): Promise<void> {
    const { cascade, task } = this.options;
    const meta = this.stateMeta();
    const atMs = Date.now();
    try {
      if (!this.owner) {
        await cascade.save();
        this.last = { labelOffset: meta.labelOffset as number, published: false, atMs };
        return;
      }
      const archive = await archiveCascadeState(cascade.parts, task, meta);
      const createdAtMs = Date.now();
      this.publishing = this.publishing
        .then(async () => {
          const dir = modelStateDir(this.options.config.models.dir, task.name);
          await restoreCascadeArchive(archive, dir); // the local cache, from the same bytes
          // Consecutive snapshots alternate between two key slots: compaction then keeps the one before the newest.
          const slot = Math.floor((meta.labels as number) / this.options.config.sharedLearning.snapshotEveryLabels) % 2;
          const published = await this.snapshots.publish(
            {
              task: task.name,
              labelOffset: BigInt(meta.labelOffset as number),
              labels: meta.labels as number,
              workerId: this.options.workerId,
              createdAtMs,
              parts: archive,
            },
            slot,
          );
          this.last = { labelOffset: meta.labelOffset as number, published: true, snapshotId: published.snapshotId, bytes: published.bytes, atMs };
          this.log.info(
            { ...published, labelOffset: meta.labelOffset, labels: meta.labels, packMs: createdAtMs - atMs, ms: Date.now() - atMs },
            'snapshot published',
          );
        })
        .catch((err: unknown) => this.log.error({ err }, 'snapshot publish failed; the next one will try again'));
    } catch (err: unknown) {
      this.log.error({ err }, 'snapshot failed; the next one will try again');
    }
  }
}
