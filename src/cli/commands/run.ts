/**
 * `spillway run [--config F] [--task F]`: the Kafka service. A consumer group on the input topic feeds the
 * cascade; annotations go to the output topic, bad records to the dead-letter topic; exactly-once by
 * default. SIGTERM/SIGINT stop it gracefully (in-flight items finish within kafka.shutdownTimeoutMs, are
 * committed, model state is saved) with exit code 0; a dependency that stays down exits non-zero.
 */
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { createCache } from '../../cache/index.js';
import { createMonitor, type CascadeObserver, type WorkerStatus } from '../../monitor/index.js';
import { buildCodecs, createKafka, StreamWorker, type ItemProcessor, type SideRecord, type StreamCodecs, type StreamItem, type ItemAnswer } from '../../stream/index.js';
import type { Kafka } from 'kafkajs';
import { createRootLogger, type Logger } from '../logger.js';
import { parseInteger } from './options.js';

interface RunFlags {
  config?: string;
  task?: string;
  httpPort?: number;
  instance: number;
  processor?: string;
  /** false with --no-shared-learning. */
  sharedLearning: boolean;
}

/** What `run` drives: the cascade, or (tests, benchmarks) a processor module given with the hidden --processor flag. */
interface Pipeline {
  process: ItemProcessor;
  close(): Promise<void>;
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

/** A --processor module exports `createProcessor(config, logger): Promise<Pipeline>`. */
interface ProcessorModule {
  createProcessor(config: Readonly<Config>, logger: Logger): Promise<Pipeline>;
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

async function cascadePipeline(config: Readonly<Config>, logger: Logger, observer: CascadeObserver, wiring?: SharedWiring): Promise<Pipeline> {
  // Loaded lazily so `run --processor` (tests, benchmarks) does not pay for tfjs.
  const { buildCascade } = await import('../build-cascade.js');
  const cache = config.cache.enabled ? createCache(config, logger.child({ module: 'cache' })) : undefined;
  if (wiring === undefined) {
    const { cascade } = await buildCascade(config, logger, { observer, ...(cache === undefined ? {} : { cache }) });
    return {
      process: (item) => cascade.process(item),
      close: async () => {
        await cascade.close();
        await cache?.close();
      },
    };
  }
  const { loadTask } = await import('../../llm/index.js');
  const { prepareSharedState, SharedLearning } = await import('../shared-learning.js');
  if (config.task === undefined) throw new ConfigError([{ key: 'task', message: 'no task file: pass --task F, set SPILLWAY_TASK, or `task:` in the config file' }]);
  const task = loadTask(config.task);
  const start = await prepareSharedState(wiring.kafka, config, wiring.codecs, task, logger);
  let shared: InstanceType<typeof SharedLearning> | undefined;
  // Saves happen at snapshots (between labels) and on close: a periodic save by item count could catch
  // the models in the middle of a label.
  const { cascade, teacher } = await buildCascade({ ...config, models: { ...config.models, saveEveryItems: 0 } }, logger, {
    observer,
    task,
    learnInline: false,
    stateMeta: () => shared?.stateMeta() ?? { labelOffset: Number(start.labelOffset), labels: start.labels },
    ...(cache === undefined ? {} : { cache }),
  });
  const sharing = new SharedLearning({ ...wiring, config, cascade, task, teacherModel: teacher?.model ?? config.llm.model, start, logger });
  shared = sharing;
  wiring.setStatus(() => sharing.status());
  return {
    process: (item) => cascade.process(item),
    close: async () => {
      await cascade.close();
      await cache?.close();
    },
    shared: { sideRecords: sharing.publisher.sideRecords, onAssignment: sharing.onAssignment, start: () => sharing.start(), stop: () => sharing.stop() },
  };
}

async function modulePipeline(file: string, config: Readonly<Config>, logger: Logger): Promise<Pipeline> {
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as Partial<ProcessorModule>;
  if (typeof mod.createProcessor !== 'function') throw new ConfigError([{ key: 'processor', message: `${file} exports no createProcessor()`, value: file }]);
  return mod.createProcessor(config, logger);
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run the Kafka service: input topic → cascade → output topic (exactly-once by default).')
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--task <file>', 'task file (labels + prompt)')
    .option('--http-port <port>', 'port of /metrics, /status, /healthz and the dashboard (0: off; default 9464)', parseInteger)
    .option('--instance <n>', 'worker number on this host; part of the transactional id, keep it stable across restarts', instance, 0)
    .addOption(new Option('--processor <module>', 'testing: a module exporting createProcessor() to use instead of the cascade').hideHelp())
    .option('--no-shared-learning', 'each worker learns only from its own LLM answers (no label or snapshot topics)')
    .action(async (flags: RunFlags) => {
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        flags: { task: flags.task, monitor: { httpPort: flags.httpPort }, sharedLearning: { enabled: flags.sharedLearning ? undefined : false } },
      });
      const logger = createRootLogger(config.logLevel);
      const workerId = config.kafka.transactionalId ?? `${config.kafka.groupId}-${hostname()}-${flags.instance}`;
      let worker: StreamWorker | undefined;
      let sharedStatus: (() => unknown) | undefined;
      const monitor = createMonitor({
        config: config.monitor,
        logger: logger.child({ module: 'monitor' }),
        llmCostUnits: config.llm.costUnits,
        health: () => worker?.running === true,
        workerId,
        workerStatus: () => (sharedStatus?.() as WorkerStatus | undefined) ?? { id: workerId, sharedLearning: false },
      });
      const kafka = createKafka(config.kafka, logger);
      const codecs = await buildCodecs(config.kafka);
      const wiring: SharedWiring | undefined = config.sharedLearning.enabled && flags.processor === undefined ? { kafka, codecs, workerId, setStatus: (s) => (sharedStatus = s) } : undefined;
      const pipeline = flags.processor === undefined ? await cascadePipeline(config, logger, monitor.observer, wiring) : await modulePipeline(flags.processor, config, logger);
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
      const onSignal = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'shutting down');
        void running.stop().catch(() => undefined);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let failed: unknown;
      try {
        const { url } = await monitor.start();
        if (url !== null) logger.info({ url }, 'dashboard and metrics served');
        await pipeline.shared?.start();
        await running.start();
        await running.done;
      } catch (err: unknown) {
        failed = err;
      }
      await pipeline.shared?.stop().catch((err: unknown) => logger.error({ err }, 'stopping shared learning failed'));
      await monitor.close();
      // Model state is saved on a crash too: what was learned from committed items is worth keeping.
      await pipeline.close().catch((err: unknown) => logger.error({ err }, 'closing the cascade failed'));
      logger.flush();
      // Exit even if a library left a handle open; unref'd, so a clean exit is not delayed.
      setTimeout(() => process.exit(), 3_000).unref();
      if (failed !== undefined) throw failed;
    });
}
