/**
 * Wires a Cascade from the configuration: the task file, the LLM client (when an endpoint is configured),
 * an optional cache and observer, and saved model state. Shared by `start`, `run` and the benchmarks, so a
 * benchmark measures the cascade the service builds (differences are passed as configuration, or below).
 */
import type { Logger } from 'pino';
import { normalizeText, type AnswerCache } from '../cache/index.js';
import {
  createCascade,
  type CascadeLlmOptions,
  type CascadeObserver,
  type Cascade,
  type LlmTier,
  type SentenceEncoder,
  type WordVectors,
} from '../cascade/index.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { loadTask, OpenAiTeacher, type SchedulerObserver, type Task, type Teacher } from '../llm/index.js';

export interface BuildCascadeOptions {
  cache?: AnswerCache;
  observer?: CascadeObserver;
  /** LLM tiers to use instead of `llm.tiers`, cheapest first (the benchmark's timed clients). */
  tiers?: LlmTier[];
  /** A teacher to use instead of the configured endpoint (the embedded demo's simulated one). */
  teacher?: Teacher;
  /** A task to use instead of `config.task`. */
  task?: Task;
  /** Restore saved state from `models.dir`. @defaultValue true */
  restore?: boolean;
  /** Receives the LLM scheduler's events (AIMD steps, throttles, deadline misses). */
  schedulerObserver?: SchedulerObserver;
  /** Shared pretrained vectors (null: none). */
  vectors?: WordVectors | null;
  /** A shared sentence encoder (`cascade.sentenceEncoder` other than glove); its owner disposes it. */
  encoder?: SentenceEncoder;
  /** Learn from LLM answers as they arrive (false: shared learning feeds the labels). @defaultValue true */
  learnInline?: boolean;
  /** Stored in the manifest of every save (shared learning: the label offset). */
  stateMeta?: () => Record<string, number>;
  /**
   * Accept a configuration without an LLM (`run --no-llm`, `start`): the small stages answer everything and
   * learn nothing. @defaultValue false: no LLM is a ConfigError naming SPILLWAY_LLM_BASE_URL
   */
  allowNoLlm?: boolean;
  /** Set unusable saved state aside and start fresh (`--reset-models`). @defaultValue false */
  resetModels?: boolean;
  /** Scheduler settings that are no configuration key (the live benchmark's FIFO baseline, fixed concurrency). */
  scheduling?: Pick<CascadeLlmOptions, 'order' | 'adaptive' | 'capacityAware'>;
}

export interface BuiltCascade {
  cascade: Cascade;
  task: Task;
  teacher?: Teacher;
}

/** Loads the task and the LLM client named by the configuration, then creates (or restores) the cascade. */
export async function buildCascade(config: Readonly<Config>, logger: Logger, options: BuildCascadeOptions = {}): Promise<BuiltCascade> {
  const task = options.task ?? loadConfiguredTask(config);
  const tiers = options.tiers ?? (options.teacher === undefined ? tierTeachers(task, config, logger) : undefined);
  const teacher = options.teacher ?? tiers?.[0]?.teacher ?? (config.llm.baseUrl === undefined ? undefined : OpenAiTeacher.fromConfig(task, config.llm, logger));
  if (teacher === undefined && options.allowNoLlm !== true) {
    throw new ConfigError([
      {
        key: 'llm.baseUrl',
        message:
          'no LLM endpoint: set SPILLWAY_LLM_BASE_URL (or llm.baseUrl in the config file); pass --no-llm to run with the small stages only, which then learn nothing',
      },
    ]);
  }
  // The monitor's observer takes the scheduler's events too.
  const schedulerObserver = options.schedulerObserver ?? (options.observer as (CascadeObserver & SchedulerObserver) | undefined);
  if (teacher === undefined) logger.warn('no LLM endpoint configured: the small stages answer everything and nothing is learned');
  const cascade = await createCascade({
    task,
    ...(teacher === undefined ? {} : { teacher }),
    config: config.cascade,
    llm: {
      concurrency: config.llm.concurrency,
      costUnits: tiers?.[0]?.costUnits ?? config.llm.costUnits,
      minConcurrency: config.llm.minConcurrency,
      maxConcurrency: config.llm.maxConcurrency,
      deadlineMs: config.llm.deadlineMs,
      coldWaitMs: config.llm.coldWaitMs,
      batchSize: config.llm.batchSize,
      maxRequestsPerMinute: config.llm.maxRequestsPerMinute,
      maxTokensPerMinute: config.llm.maxTokensPerMinute,
      // In-flight duplicates share one call: the same normalisation as the cache's keys.
      keyOf: normalizeText,
      ...(schedulerObserver === undefined ? {} : { observer: schedulerObserver }),
      ...options.scheduling,
    },
    ...(tiers === undefined ? {} : { escalation: tiers.slice(1) }),
    models: config.models,
    onUnavailable: config.llm.onUnavailable,
    multiplexer: config.cache.multiplexer,
    logger,
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...(options.observer === undefined ? {} : { observer: options.observer }),
    ...(options.restore === undefined ? {} : { restore: options.restore }),
    ...(options.vectors === undefined ? {} : { vectors: options.vectors }),
    ...(options.encoder === undefined ? {} : { encoder: options.encoder }),
    ...(options.learnInline === undefined ? {} : { learnInline: options.learnInline }),
    ...(options.stateMeta === undefined ? {} : { stateMeta: options.stateMeta }),
    ...(options.resetModels === true ? { resetModels: true } : {}),
  });
  // The start-up check probes every tier; the model name (shared learning's, the cache's) names them all.
  const built =
    tiers === undefined || teacher === undefined
      ? teacher
      : tieredFacade(
          teacher,
          tiers.map((t) => t.teacher),
        );
  return { cascade, task, ...(built === undefined ? {} : { teacher: built }) };
}

/** One teacher per `llm.tiers` entry, cheapest first, each with the `llm` keys it does not set; undefined without tiers. */
function tierTeachers(task: Task, config: Readonly<Config>, logger: Logger): LlmTier[] | undefined {
  return config.llm.tiers?.map((tier) => ({
    teacher: OpenAiTeacher.fromConfig(
      task,
      { ...config.llm, model: tier.model, baseUrl: tier.baseUrl ?? config.llm.baseUrl, apiKey: tier.apiKey ?? config.llm.apiKey },
      logger,
    ),
    costUnits: tier.costUnits,
  }));
}

/** Tier 0 as the caller sees the LLM, probing every tier; its model names the tiers joined by `>`. */
function tieredFacade(first: Teacher, all: readonly Teacher[]): Teacher {
  return {
    model: all.map((t) => t.model).join('>'),
    classify: (text, signal, hooks) => first.classify(text, signal, hooks),
    probe: async (signal) => {
      for (const t of all) await t.probe?.(signal);
    },
  };
}

function loadConfiguredTask(config: Readonly<Config>): Task {
  if (config.task === undefined)
    throw new ConfigError([{ key: 'task', message: 'no task file: pass --task F, set SPILLWAY_TASK, or `task:` in the config file' }]);
  return loadTask(config.task);
}
