/**
 * The embedded service (`spillway start`): the cascade with its monitor and cache, over a JSONL source, no
 * Kafka. Built from the configuration in one place; its parts are adopted by the lifecycle, so they close in
 * order on every path. The command adds only what a person at a terminal needs (header, live line).
 */
import { createReadStream } from 'node:fs';
import { createCache } from '../cache/index.js';
import { createCascade, type Cascade, type FetchProgress } from '../cascade/index.js';
import { DEMO_TASK, SimulatedTeacher } from '../demo/index.js';
import { llmEndpoints, type LlmHealthReport, type Teacher } from '../llm/index.js';
import { createMonitor, type HealthReport, type Monitor } from '../monitor/index.js';
import { DEFAULT_MAX_LINE_BYTES, IdMemory, readJsonlItems, rejectDuplicateIds, type JsonlEntry } from '../stream/index.js';
import { demoEntries, paced, runEmbedded, type EmbeddedOptions } from './embedded-pipeline.js';
import type { Lifecycle } from './lifecycle.js';
import { checkLlm } from './llm-check.js';
import { monitorFor } from './monitor-options.js';
import { endpointOptions } from './endpoint-options.js';
import { prepareSentenceEncoder } from './sentence-encoder.js';
import { configuredTask } from './task.js';
import type { ServiceContext } from './service-context.js';

export interface EmbeddedServiceOptions {
  context: ServiceContext;
  lifecycle: Lifecycle;
  /** The built-in demo stream and its simulated teacher (a keyword rule, not an LLM); nothing is restored. */
  demo?: boolean;
  /** Set unusable saved model state aside and start fresh. */
  resetModels?: boolean;
  /** Receives the download's progress when the sentence encoder's files are fetched (first start). */
  onEncoderFetch?: (progress: FetchProgress) => void;
}

/** Where items come from: a JSONL file, stdin, or the demo stream. */
export interface EmbeddedInput {
  /** A file path, or undefined / '-' for stdin; ignored for the demo. */
  file?: string | undefined;
  /** Items of the demo stream. */
  demoItems?: number;
  /** Longest line accepted, bytes. @defaultValue max(1 MiB, 8 × kafka.maxTextBytes) */
  maxLineBytes?: number | undefined;
  /** Items per second at most. @defaultValue as fast as possible */
  rate?: number | undefined;
}

export interface EmbeddedService {
  readonly cascade: Cascade;
  readonly teacher: Teacher | undefined;
  readonly monitor: Monitor;
  readonly demo: boolean;
  /** Serves /metrics, /status, /healthz and the dashboard; resolves with the base URL (null: disabled). */
  serve(): Promise<string | null>;
  /** Checks the LLM endpoint before any input is read (not the demo's simulated teacher). */
  checkLlm(): Promise<void>;
  /** The configured source of entries, stopping at the lifecycle's signal. */
  entries(input: EmbeddedInput): AsyncIterable<JsonlEntry>;
  /** Streams entries through the cascade to the output; stops reading when the lifecycle stops. */
  run(source: AsyncIterable<JsonlEntry>, options: Omit<EmbeddedOptions, 'signal' | 'window' | 'logger'>): Promise<{ items: number; rejected: number }>;
  /** Saves the learned state to `models.dir` (not for the demo). */
  save(): Promise<void>;
}

/** Builds the embedded service; the monitor and the cache are adopted by `lifecycle` (closed by its `close()`). */
export async function createEmbeddedService(options: EmbeddedServiceOptions): Promise<EmbeddedService> {
  const { logger } = options.context;
  const { lifecycle } = options;
  const demo = options.demo === true;
  // First: the encoder may take a download, and it closes last (after the cascade that embeds with it).
  const prepared = await prepareSentenceEncoder(options.context.config, logger, {
    ...(options.onEncoderFetch === undefined ? {} : { onFetchProgress: options.onEncoderFetch }),
  });
  const { config } = prepared;
  if (prepared.encoder !== undefined) lifecycle.adopt('sentence encoder', prepared.encoder, (e) => e.dispose());
  const task = demo ? DEMO_TASK : configuredTask(config);
  const endpoints = demo ? undefined : llmEndpoints(config.llm, task, logger);
  // /healthz and spillway_llm_up tell whether the LLM answers (a failing or stalled endpoint is not "ok"),
  // while waiting for it at start too.
  const llmHealth = (): LlmHealthReport => endpoints?.health() ?? { up: true };
  const health = (): HealthReport => {
    const llm = llmHealth();
    return llm.up ? { ok: true } : { ok: false, reason: `LLM unavailable (${llm.reason ?? ''})` };
  };
  const monitor = lifecycle.adopt('monitor', createMonitor(monitorFor(config, logger, { health, llmUp: () => llmHealth().up })), (m) => m.close());
  // cache.enabled applies here as in `run` (L1 in process; the Redis tier too unless cache.redisTier is false).
  const cache = config.cache.enabled ? lifecycle.adopt('cache', createCache(config, logger), (c) => c.close()) : undefined;
  const cascade = await createCascade({
    task,
    config,
    logger,
    observer: monitor.observer,
    ...(cache === undefined ? {} : { cache }),
    allowNoLlm: true,
    resetModels: options.resetModels === true,
    ...(prepared.encoder === undefined ? {} : { encoder: prepared.encoder }),
    ...(demo ? { teacher: new SimulatedTeacher(), restore: false } : endpointOptions(endpoints)),
  });
  // In-flight items get the grace period; then their LLM calls are aborted (the small stages answer, flagged).
  lifecycle.onGraceEnd(() => cascade.stop());
  if (demo) logger.info({ teacher: 'simulated keyword rule, not an LLM' }, 'no input given: running the built-in demo stream with a SIMULATED teacher');
  return {
    cascade,
    teacher: cascade.teacher,
    monitor,
    demo,
    serve: async () => {
      const { url } = await monitor.start();
      if (url !== null) logger.info({ url }, 'dashboard and metrics served');
      return url;
    },
    checkLlm: () => (demo ? Promise.resolve() : checkLlm(cascade.teacher, config.llm, logger, lifecycle.signal)),
    entries: (input) => {
      const lines = demo
        ? demoEntries(input.demoItems ?? 3000)
        : readJsonlItems(
            input.file === undefined || input.file === '-' ? process.stdin : createReadStream(input.file),
            { maxTextBytes: config.kafka.maxTextBytes, maxIdBytes: config.kafka.maxIdBytes },
            input.maxLineBytes ?? Math.max(DEFAULT_MAX_LINE_BYTES, 8 * config.kafka.maxTextBytes),
            lifecycle.signal,
          );
      const source = config.kafka.rememberIds > 0 ? rejectDuplicateIds(lines, new IdMemory(config.kafka.rememberIds)) : lines;
      return input.rate === undefined ? source : paced(source, input.rate, lifecycle.signal);
    },
    run: (source, runOptions) => runEmbedded(cascade, source, { ...runOptions, logger, signal: lifecycle.signal, window: config.pipeline.maxInFlight }),
    save: () => (demo ? Promise.resolve() : cascade.save()),
  };
}
