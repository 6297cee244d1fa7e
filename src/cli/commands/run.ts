/**
 * `spillway run [--config F] [--task F]`: the Kafka service (src/app/kafka-service.ts). A consumer group on the
 * input topic feeds the cascade; annotations go to the output topic, bad records to the dead-letter topic;
 * exactly-once by default. SIGTERM/SIGINT stop it gracefully (in-flight items finish within
 * kafka.shutdownTimeoutMs, are committed, model state is saved) with exit code 0; a dependency that stays down
 * exits non-zero.
 */
import { hostname } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { createServiceContext, Lifecycle, runKafkaService } from '../../app/index.js';
import { terminalFetchProgress } from '../fetch-progress.js';
import { parseInteger, parseNumber, parseQualityFlag, parseShare, QUALITY_HELP } from './options.js';

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
  llmBudget?: number;
  quality?: string[];
  qualityDelta?: number;
}

function instance(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
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
    .option('--llm-budget <share>', 'target share of items sent to the LLM (with --quality: a cap)', parseNumber)
    .option('--quality <targets>', QUALITY_HELP, parseQualityFlag)
    .option('--quality-delta <d>', 'allowed probability of a window that misses a quality target (default 0.05)', parseShare)
    .option('--no-shared-learning', 'each worker learns only from its own LLM answers (no label or snapshot topics)')
    .action(async (flags: RunFlags) => {
      const context = createServiceContext({
        file: flags.config,
        flags: {
          task: flags.task,
          cascade: { llmBudget: flags.llmBudget },
          quality: { targets: flags.quality, delta: flags.qualityDelta },
          monitor: { httpPort: flags.httpPort },
          sharedLearning: { enabled: flags.sharedLearning ? undefined : false },
        },
      });
      const { config, logger } = context;
      const lifecycle = new Lifecycle({ logger, graceMs: config.kafka.shutdownTimeoutMs }).install();
      const workerId = config.kafka.transactionalId ?? `${config.kafka.groupId}-${hostname()}-${flags.instance}`;
      let failed: unknown;
      try {
        await runKafkaService({
          context,
          lifecycle,
          workerId,
          llm: flags.llm,
          resetModels: flags.resetModels === true,
          onEncoderFetch: terminalFetchProgress('the e5-small sentence encoder (once)'),
        });
      } catch (err: unknown) {
        failed = err;
      }
      await lifecycle.close();
      // Exit even if a library left a handle open; unref'd, so a clean exit is not delayed.
      setTimeout(() => process.exit(), 3_000).unref();
      if (failed !== undefined) throw failed;
    });
}
