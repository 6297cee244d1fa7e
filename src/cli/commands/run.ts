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
import { createMonitor, type CascadeObserver } from '../../monitor/index.js';
import { buildCodecs, createKafka, StreamWorker, type ItemProcessor } from '../../stream/index.js';
import { createRootLogger, type Logger } from '../logger.js';
import { parseInteger } from './options.js';

interface RunFlags {
  config?: string;
  task?: string;
  httpPort?: number;
  instance: number;
  processor?: string;
}

/** What `run` drives: the cascade, or (tests, benchmarks) a processor module given with the hidden --processor flag. */
interface Pipeline {
  process: ItemProcessor;
  close(): Promise<void>;
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

async function cascadePipeline(config: Readonly<Config>, logger: Logger, observer: CascadeObserver): Promise<Pipeline> {
  // Loaded lazily so `run --processor` (tests, benchmarks) does not pay for tfjs.
  const { buildCascade } = await import('../build-cascade.js');
  const cache = config.cache.enabled ? createCache(config, logger.child({ module: 'cache' })) : undefined;
  const { cascade } = await buildCascade(config, logger, { observer, ...(cache === undefined ? {} : { cache }) });
  return {
    process: (item) => cascade.process(item),
    close: async () => {
      await cascade.close();
      await cache?.close();
    },
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
    .action(async (flags: RunFlags) => {
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        flags: { task: flags.task, monitor: { httpPort: flags.httpPort } },
      });
      const logger = createRootLogger(config.logLevel);
      let worker: StreamWorker | undefined;
      const monitor = createMonitor({
        config: config.monitor,
        logger: logger.child({ module: 'monitor' }),
        llmCostUnits: config.llm.costUnits,
        health: () => worker?.running === true,
      });
      const pipeline = flags.processor === undefined ? await cascadePipeline(config, logger, monitor.observer) : await modulePipeline(flags.processor, config, logger);
      const codecs = await buildCodecs(config.kafka);
      worker = new StreamWorker({
        kafka: createKafka(config.kafka, logger),
        // The worker's in-flight bound: pipeline.maxInFlight, never above kafka.maxInFlight (kept working as before).
        config: { ...config.kafka, maxInFlight: Math.min(config.kafka.maxInFlight, config.pipeline.maxInFlight) },
        transactionalId: config.kafka.transactionalId ?? `${config.kafka.groupId}-${hostname()}-${flags.instance}`,
        decoder: codecs.itemDecoder,
        annotationEncoder: codecs.annotationEncoder,
        deadLetterEncoder: codecs.deadLetterEncoder,
        process: pipeline.process,
        logger,
        observer: monitor.metrics,
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
        await running.start();
        await running.done;
      } catch (err: unknown) {
        failed = err;
      }
      await monitor.close();
      // Model state is saved on a crash too: what was learned from committed items is worth keeping.
      await pipeline.close().catch((err: unknown) => logger.error({ err }, 'closing the cascade failed'));
      logger.flush();
      // Exit even if a library left a handle open; unref'd, so a clean exit is not delayed.
      setTimeout(() => process.exit(), 3_000).unref();
      if (failed !== undefined) throw failed;
    });
}
