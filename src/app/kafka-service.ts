/**
 * The Kafka service (`spillway run`): a consumer group on the input topic feeds the cascade; annotations go to
 * the output topic, bad records to the dead-letter topic; exactly-once by default; with shared learning, every
 * worker learns from every label (the label and snapshot topics). Built from the configuration in one place.
 * The lifecycle's first signal stops the worker (in-flight items finish within kafka.shutdownTimeoutMs and are
 * committed); the model state is then saved, on a crash too. A dependency that stays down rejects.
 */
import type { Kafka } from 'kafkajs';
import { createCache, type AnswerCache } from '../cache/index.js';
import { createCascade, llmTotals, modelStateDir, type Cascade, type CascadeObserver, type FetchProgress, type SentenceEncoder } from '../cascade/index.js';
import type { Config } from '../config.js';
import { ModelSaveError } from '../errors.js';
import { llmEndpoints, type LlmHealthReport, type Teacher } from '../llm/index.js';
import { createMonitor, type SpillwayMetrics, type WorkerStatus } from '../monitor/index.js';
import {
  buildCodecs,
  createKafka,
  DeadLetterWriter,
  StreamWorker,
  type ItemAnswer,
  type ItemProcessor,
  type SideRecord,
  type StreamCodecs,
  type StreamItem,
} from '../stream/index.js';
import { endpointOptions } from './endpoint-options.js';
import { SHUTDOWN_MARGIN_MS, type Lifecycle } from './lifecycle.js';
import { checkLlm } from './llm-check.js';
import { buildOnSharedState, prepareSharedState, type StartingState } from './shared-state.js';
import { SharedLearning } from './shared-learning.js';
import type { Logger } from './logger.js';
import { monitorFor } from './monitor-options.js';
import { prepareSentenceEncoder } from './sentence-encoder.js';
import type { ServiceContext } from './service-context.js';
import { configuredTask } from './task.js';

export interface KafkaServiceOptions {
  context: ServiceContext;
  lifecycle: Lifecycle;
  /** This worker's id: the transactional id and the metrics' `worker` label. */
  workerId: string;
  /** false (`--no-llm`): the small stages answer everything and learn nothing. @defaultValue true */
  llm?: boolean;
  /** Set unusable saved model state aside and start fresh. */
  resetModels?: boolean;
  /** Receives the download's progress when the sentence encoder's files are fetched (first start). */
  onEncoderFetch?: (progress: FetchProgress) => void;
}

/** Time kept for draining and saving the cascade after shared learning stops, at shutdown, ms. */
const SAVE_RESERVE_MS = 2_500;

/** What the worker drives: the cascade. (No flag swaps in other code: tests drive StreamWorker directly.) */
interface Pipeline {
  process: ItemProcessor;
  /** Drains (at most `drainTimeoutMs`) and saves; rejects with ModelSaveError when the save fails. */
  close(drainTimeoutMs?: number): Promise<void>;
  /** The cascade behind it, when it is one (LLM check, pause, health). */
  cascade?: Cascade;
  teacher?: Teacher;
  /** The LLM endpoints' health (up without an LLM). */
  llmHealth: () => LlmHealthReport;
  /** Shared learning's hooks into the worker, when it is on. */
  shared?: {
    sideRecords: (item: StreamItem, answer: ItemAnswer) => SideRecord[];
    onAssignment: (partitions: number[], totalPartitions: number) => void;
    /** Before the worker takes items: the label replay. */
    start(): Promise<void>;
    /** After the worker stopped, before close(). */
    /** Bounded by `timeoutMs`. */
    stop(timeoutMs?: number): Promise<void>;
  };
}

/** The pieces shared learning needs from `run`; absent: each worker learns on its own (--no-shared-learning). */
interface SharedWiring {
  kafka: Kafka;
  codecs: StreamCodecs;
  workerId: string;
  /** Receives the worker's /status part. */
  setStatus: (status: () => unknown) => void;
  /** Counts refused label and snapshot records. */
  observer: SpillwayMetrics;
  /** Told when the label consumer stops for good: the worker must stop, it learns nothing more. */
  onFailure: (err: unknown) => void;
}

async function cascadePipeline(
  config: Readonly<Config>,
  logger: Logger,
  observer: CascadeObserver,
  flags: { llm: boolean; resetModels: boolean; encoder: SentenceEncoder | undefined },
  wiring?: SharedWiring,
): Promise<Pipeline> {
  const cache = config.cache.enabled ? createCache(config, logger) : undefined;
  const task = configuredTask(config);
  const endpoints = llmEndpoints(config.llm, task, logger);
  const common = {
    task,
    logger,
    observer,
    allowNoLlm: !flags.llm,
    ...endpointOptions(endpoints),
    ...(flags.encoder === undefined ? {} : { encoder: flags.encoder }),
    ...(cache === undefined ? {} : { cache }),
  };
  if (wiring === undefined) {
    const cascade = await createCascade({ ...common, config, resetModels: flags.resetModels });
    return drive(cascade, cascade.teacher, cache, endpoints.health);
  }
  const deadLetters = new DeadLetterWriter({ kafka: wiring.kafka, config: config.kafka, codecs: wiring.codecs, logger, observer: wiring.observer });
  await deadLetters.start();
  let shared: SharedLearning | undefined;
  const prepare = (refused: ReadonlyMap<string, string>): Promise<StartingState> =>
    prepareSharedState(wiring.kafka, config, wiring.codecs, task, logger, { deadLetters, resetModels: flags.resetModels, refused });
  // Saves happen at snapshots and on close: a periodic save by item count could catch the models mid-label.
  const build = (start: StartingState): Promise<Cascade> =>
    createCascade({
      ...common,
      config: { ...config, models: { ...config.models, saveEveryItems: 0, saveEveryMs: 0 } },
      // The worker learns its own labels inline; the label topic brings the others' (and its own, skipped).
      labelsShared: true,
      // --reset-models was applied by prepareSharedState, to the local state and the label offset together.
      stateMeta: () => shared?.stateMeta() ?? { labelOffset: Number(start.labelOffset), labels: start.labels },
    });
  const { start, built: cascade } = await buildOnSharedState(prepare, build, modelStateDir(config.models.dir, task.name), logger).catch(
    async (err: unknown) => {
      await deadLetters.close();
      throw err;
    },
  );
  const teacher = cascade.teacher;
  const teacherModel = teacher?.model ?? config.llm.model;
  const sharing = new SharedLearning({ ...wiring, config, cascade, task, teacherModel, start, deadLetters, logger });
  shared = sharing;
  wiring.setStatus(() => sharing.status());
  const stop = async (timeoutMs?: number): Promise<void> => {
    try {
      await sharing.stop(timeoutMs);
    } finally {
      await deadLetters.close();
    }
  };
  return {
    ...drive(cascade, teacher, cache, endpoints.health),
    shared: {
      sideRecords: sharing.publisher.sideRecords,
      onAssignment: (partitions, total) => {
        sharing.onAssignment(partitions);
        // The group's warm-up and front-load are paid once, each worker its part.
        if (total > 0) cascade.setGroupShare(partitions.length / total);
      },
      start: () => sharing.start(),
      stop,
    },
  };
}

/** The pipeline over a built cascade: closing drains and saves it, then closes the cache whatever happened. */
function drive(cascade: Cascade, teacher: Teacher | undefined, cache: AnswerCache | undefined, llmHealth: () => LlmHealthReport): Pipeline {
  return {
    process: (item) => cascade.process(item),
    cascade,
    llmHealth,
    ...(teacher === undefined ? {} : { teacher }),
    close: async (drainTimeoutMs) => {
      try {
        await cascade.close(drainTimeoutMs);
      } finally {
        await cache?.close();
      }
    },
  };
}

/**
 * Runs the worker until the lifecycle stops it or a dependency stays down; then stops shared learning, closes
 * the monitor, and drains and saves the cascade. Rejects with the first failure (a failed save included).
 */
export async function runKafkaService(options: KafkaServiceOptions): Promise<void> {
  const { logger } = options.context;
  // First: the encoder may take a download (first start); it is disposed after the cascade that embeds with it.
  const prepared = await prepareSentenceEncoder(options.context.config, logger, {
    ...(options.onEncoderFetch === undefined ? {} : { onFetchProgress: options.onEncoderFetch }),
  });
  const { config } = prepared;
  const { lifecycle, workerId } = options;
  let worker: StreamWorker | undefined;
  let pipeline: Pipeline | undefined;
  let sharedStatus: (() => unknown) | undefined;
  /** Set when shared learning stopped for good: the worker is stopped and the run fails with it. */
  let learningFailure: unknown;
  const monitor = createMonitor(
    monitorFor(config, logger, {
      health: async () => {
        if (learningFailure !== undefined) return { ok: false, reason: `shared learning stopped (${errorText(learningFailure)})` };
        // The LLM first: a worker waiting for it at start is not consuming either, and this says why.
        const llm = pipeline?.llmHealth() ?? { up: true };
        if (!llm.up) return { ok: false, reason: `LLM unavailable (${llm.reason ?? ''})${worker?.isPaused === true ? '; consumption paused' : ''}` };
        if (worker?.running !== true) return { ok: false, reason: 'not consuming (starting, stopping or failed)' };
        if (!(await worker.brokerReachable())) return { ok: false, reason: 'Kafka broker unreachable' };
        return { ok: true };
      },
      workerId,
      llmUp: () => pipeline?.llmHealth().up ?? true,
      workerStatus: () => (sharedStatus?.() as WorkerStatus | undefined) ?? { id: workerId, sharedLearning: false },
    }),
  );
  const kafka = createKafka(config.kafka, logger);
  let stopSignalledAt: number | undefined;
  lifecycle.onStop(() => {
    stopSignalledAt = Date.now();
    return worker?.stop().catch(() => undefined);
  });
  const codecs = await buildCodecs(config.kafka);
  const onFailure = (err: unknown): void => {
    learningFailure ??= err;
    void worker?.stop().catch(() => undefined);
  };
  const wiring: SharedWiring | undefined = config.sharedLearning.enabled
    ? { kafka, codecs, workerId, setStatus: (s) => (sharedStatus = s), observer: monitor.metrics, onFailure }
    : undefined;
  const flags = { llm: options.llm !== false, resetModels: options.resetModels === true, encoder: prepared.encoder };
  pipeline = await cascadePipeline(config, logger, monitor.observer, flags, wiring);
  const built = pipeline;
  worker = new StreamWorker({
    kafka,
    // The worker's in-flight bound: pipeline.maxInFlight, never above kafka.maxInFlight (kept working as before).
    config: { ...config.kafka, maxInFlight: Math.min(config.kafka.maxInFlight, config.pipeline.maxInFlight) },
    transactionalId: workerId,
    decoder: codecs.itemDecoder,
    annotationEncoder: codecs.annotationEncoder,
    deadLetterEncoder: codecs.deadLetterEncoder,
    process: pipeline.process,
    logger,
    observer: monitor.metrics,
    ...(pipeline.shared === undefined
      ? {}
      : { sideRecords: pipeline.shared.sideRecords, sideDelivery: config.sharedLearning.labelDelivery, onAssignment: pipeline.shared.onAssignment }),
  });
  const running = worker;
  // While the LLM is down nothing is consumed: items keep their place in the topic, committed work stays.
  built.cascade?.llmGate?.onChange((up) => (up ? running.resume() : running.pause()));
  let failed: unknown;
  try {
    const { url } = await monitor.start();
    if (url !== null) logger.info({ url }, 'dashboard and metrics served');
    if (built.teacher !== undefined) await checkLlm(built.teacher, config.llm, logger, lifecycle.signal);
    if (!lifecycle.stopping) await built.shared?.start();
    if (!lifecycle.stopping) {
      await running.start();
      // A signal that came while the worker was starting.
      if (lifecycle.stopping) void running.stop().catch(() => undefined);
      await running.done;
    }
  } catch (err: unknown) {
    failed = err;
  }
  failed ??= learningFailure;
  // After a signal, a snapshot still being published gets what is left before the watchdog, less the time the save needs.
  const sharedBudgetMs =
    stopSignalledAt === undefined
      ? undefined
      : Math.max(1_500, stopSignalledAt + config.kafka.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS - SAVE_RESERVE_MS - Date.now());
  await built.shared?.stop(sharedBudgetMs).catch((err: unknown) => logger.error({ err }, 'stopping shared learning failed'));
  await monitor.close();
  // Model state is saved on a crash too: what was learned from committed items is worth keeping. After a
  // signal the worker already gave in-flight items their grace period: what is still running is stopped.
  try {
    await built.close(lifecycle.stopping ? 1_000 : config.kafka.shutdownTimeoutMs);
  } catch (err: unknown) {
    logger.error({ err }, err instanceof ModelSaveError ? 'saving the model state failed' : 'closing the cascade failed');
    failed ??= err;
  }
  prepared.encoder?.dispose();
  if (built.cascade !== undefined) logger.info({ items: built.cascade.counters.items, llm: llmTotals(built.cascade.counters) }, 'worker stopped');
  if (failed !== undefined) throw failed;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
