/**
 * `spillway run [--config F] [--task F]`: the Kafka service. A consumer group on the input topic feeds the
 * cascade; annotations go to the output topic, bad records to the dead-letter topic; exactly-once by
 * default. SIGTERM/SIGINT stop it gracefully (in-flight items finish within kafka.shutdownTimeoutMs, are
 * committed, model state is saved) with exit code 0; a dependency that stays down exits non-zero.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { ConfigError, ModelSaveError } from '../../errors.js';
import { createCache } from '../../cache/index.js';
import type { CascadeObserver } from '../../cascade/index.js';
import { createMonitor, type WorkerStatus } from '../../monitor/index.js';
import {
  buildCodecs,
  createKafka,
  StreamWorker,
  type ItemProcessor,
  type SideRecord,
  type StreamCodecs,
  type StreamItem,
  type ItemAnswer,
} from '../../stream/index.js';
import type { Kafka } from 'kafkajs';
import type { Cascade } from '../../cascade/index.js';
import type { Teacher } from '../../llm/index.js';
import { checkLlm } from '../llm-check.js';
import { createRootLogger, type Logger } from '../logger.js';
import { parseInteger } from './options.js';

interface RunFlags {
  config?: string;
  task?: string;
  httpPort?: number;
  instance: number;
  /** false with --no-shared-learning. */
  sharedLearning: boolean;
  /** false with --no-llm. */
  llm: boolean;
  resetModels?: boolean;
}

/** Time allowed after kafka.shutdownTimeoutMs to leave the group, disconnect and save, before a forced exit. */
export const SHUTDOWN_MARGIN_MS = 5_000;

/** What `run` drives: the cascade. (No flag swaps in other code: tests drive StreamWorker directly.) */
interface Pipeline {
  process: ItemProcessor;
  /** Drains (at most `drainTimeoutMs`) and saves; rejects with ModelSaveError when the save fails. */
  close(drainTimeoutMs?: number): Promise<void>;
  /** The cascade behind it, when it is one (LLM check, pause, health). */
  cascade?: Cascade;
  teacher?: Teacher;
  /** Shared learning's hooks into the worker, when it is on. */
  shared?: {
    sideRecords: (item: StreamItem, answer: ItemAnswer) => SideRecord[];
    onAssignment: (partitions: number[]) => void;
    /** Before the worker takes items: the label replay. */
    start(): Promise<void>;
    /** After the worker stopped, before close(). */
    stop(): Promise<void>;
  };
}

function instance(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
}

/** The pieces shared learning needs from `run`; absent: each worker learns on its own (--no-shared-learning). */
interface SharedWiring {
  kafka: Kafka;
  codecs: StreamCodecs;
  workerId: string;
  /** Receives the worker's /status part. */
  setStatus: (status: () => unknown) => void;
}

async function cascadePipeline(config: Readonly<Config>, logger: Logger, observer: CascadeObserver, flags: RunFlags, wiring?: SharedWiring): Promise<Pipeline> {
  // Loaded lazily: a configuration error is reported before tfjs is loaded.
  const { buildCascade } = await import('../build-cascade.js');
  const cache = config.cache.enabled ? createCache(config, logger) : undefined;
  if (wiring === undefined) {
    const { cascade, teacher } = await buildCascade(config, logger, {
      observer,
      allowNoLlm: !flags.llm,
      resetModels: flags.resetModels === true,
      ...(cache === undefined ? {} : { cache }),
    });
    return {
      process: (item) => cascade.process(item),
      cascade,
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
  const { loadTask } = await import('../../llm/index.js');
  const { prepareSharedState, SharedLearning } = await import('../shared-learning.js');
  if (config.task === undefined)
    throw new ConfigError([{ key: 'task', message: 'no task file: pass --task F, set SPILLWAY_TASK, or `task:` in the config file' }]);
  const task = loadTask(config.task);
  const start = await prepareSharedState(wiring.kafka, config, wiring.codecs, task, logger);
  let shared: InstanceType<typeof SharedLearning> | undefined;
  // Saves happen at snapshots (between labels) and on close: a periodic save by item count could catch
  // the models in the middle of a label.
  const { cascade, teacher } = await buildCascade({ ...config, models: { ...config.models, saveEveryItems: 0, saveEveryMs: 0 } }, logger, {
    observer,
    task,
    learnInline: false,
    allowNoLlm: !flags.llm,
    resetModels: flags.resetModels === true,
    stateMeta: () => shared?.stateMeta() ?? { labelOffset: Number(start.labelOffset), labels: start.labels },
    ...(cache === undefined ? {} : { cache }),
  });
  const sharing = new SharedLearning({ ...wiring, config, cascade, task, teacherModel: teacher?.model ?? config.llm.model, start, logger });
  shared = sharing;
  wiring.setStatus(() => sharing.status());
  return {
    process: (item) => cascade.process(item),
    cascade,
    ...(teacher === undefined ? {} : { teacher }),
    close: async (drainTimeoutMs) => {
      try {
        await cascade.close(drainTimeoutMs);
      } finally {
        await cache?.close();
      }
    },
    shared: { sideRecords: sharing.publisher.sideRecords, onAssignment: sharing.onAssignment, start: () => sharing.start(), stop: () => sharing.stop() },
  };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run the Kafka service: input topic → cascade → output topic (exactly-once by default).')
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--task <file>', 'task file (labels + prompt)')
    .option('--http-port <port>', 'port of /metrics, /status, /healthz and the dashboard (0: off; default 9464)', parseInteger)
    .option('--instance <n>', 'worker number on this host; part of the transactional id, keep it stable across restarts', instance, 0)
    .option('--no-llm', 'run without an LLM: the small stages answer everything and learn nothing')
    .option('--reset-models', 'set corrupt or unusable saved model state aside (renamed) and start fresh')
    .option('--no-shared-learning', 'each worker learns only from its own LLM answers (no label or snapshot topics)')
    .action(async (flags: RunFlags) => {
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        flags: { task: flags.task, monitor: { httpPort: flags.httpPort }, sharedLearning: { enabled: flags.sharedLearning ? undefined : false } },
      });
      const logger = createRootLogger(config.logLevel, { secrets: [config.llm.apiKey] });
      const workerId = config.kafka.transactionalId ?? `${config.kafka.groupId}-${hostname()}-${flags.instance}`;
      let worker: StreamWorker | undefined;
      let pipeline: Pipeline | undefined;
      let sharedStatus: (() => unknown) | undefined;
      const monitor = createMonitor({
        config: config.monitor,
        logger,
        llmCostUnits: config.llm.costUnits,
        pricePerMillionInputTokens: config.llm.pricePerMillionInputTokens,
        pricePerMillionOutputTokens: config.llm.pricePerMillionOutputTokens,
        health: async () => {
          if (worker?.running !== true) return { ok: false, reason: 'not consuming (starting, stopping or failed)' };
          const gate = pipeline?.cascade?.llmGate;
          if (gate !== undefined && !gate.up) return { ok: false, reason: `LLM unavailable (${errorText(gate.lastError)}); consumption paused` };
          if (!(await worker.brokerReachable())) return { ok: false, reason: 'Kafka broker unreachable' };
          return { ok: true };
        },
        workerId,
        workerStatus: () => (sharedStatus?.() as WorkerStatus | undefined) ?? { id: workerId, sharedLearning: false },
      });
      const kafka = createKafka(config.kafka, logger);
      const stopping = new AbortController();
      let forced: NodeJS.Timeout | undefined;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping.signal.aborted) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(130);
        }
        logger.info({ signal }, 'shutting down');
        stopping.abort();
        // However stuck a dependency is, the process ends: the last resort after the graceful path.
        forced = setTimeout(() => {
          logger.error({ shutdownTimeoutMs: config.kafka.shutdownTimeoutMs }, 'shutdown did not finish in time; exiting');
          logger.flush();
          process.exit(1);
        }, config.kafka.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS);
        forced.unref();
        void worker?.stop().catch(() => undefined);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const codecs = await buildCodecs(config.kafka);
      const wiring: SharedWiring | undefined = config.sharedLearning.enabled ? { kafka, codecs, workerId, setStatus: (s) => (sharedStatus = s) } : undefined;
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
        ...(pipeline.shared === undefined ? {} : { sideRecords: pipeline.shared.sideRecords, onAssignment: pipeline.shared.onAssignment }),
      });
      const running = worker;
      // While the LLM is down nothing is consumed: items keep their place in the topic, committed work stays.
      built.cascade?.llmGate?.onChange((up) => (up ? running.resume() : running.pause()));
      let failed: unknown;
      try {
        const { url } = await monitor.start();
        if (url !== null) logger.info({ url }, 'dashboard and metrics served');
        if (built.teacher !== undefined) await checkLlm(built.teacher, config.llm, logger, stopping.signal);
        if (!stopping.signal.aborted) await built.shared?.start();
        if (!stopping.signal.aborted) {
          await running.start();
          // A signal that came while the worker was starting.
          if (stopping.signal.aborted) void running.stop().catch(() => undefined);
          await running.done;
        }
      } catch (err: unknown) {
        failed = err;
      }
      await built.shared?.stop().catch((err: unknown) => logger.error({ err }, 'stopping shared learning failed'));
      await monitor.close();
      // Model state is saved on a crash too: what was learned from committed items is worth keeping. After a
      // signal the worker already gave in-flight items their grace period: what is still running is stopped.
      try {
        await built.close(stopping.signal.aborted ? 1_000 : config.kafka.shutdownTimeoutMs);
      } catch (err: unknown) {
        logger.error({ err }, err instanceof ModelSaveError ? 'saving the model state failed' : 'closing the cascade failed');
        failed ??= err;
      }
      logger.flush();
      clearTimeout(forced);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Exit even if a library left a handle open; unref'd, so a clean exit is not delayed.
      setTimeout(() => process.exit(), 3_000).unref();
      if (failed !== undefined) throw failed;
    });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
