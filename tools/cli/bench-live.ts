/** `spillway bench-live`'s implementation (loaded when the command runs); flags in bench-live-command.ts. */
import { instantSetting, liveSettings, readLabelledStream, runLiveSetting, type LiveResult } from '../bench/index.js';
import { loadWordVectors, selectBackend } from '../../src/cascade/index.js';
import { createServiceContext } from '../../src/app/index.js';
import type { CascadeConfig } from '../../src/config.js';

import { defaultTaskPath, loadTask } from '../../src/llm/index.js';

/** The latency bound of the live benchmark's settings when the configuration sets none, ms. */
const LIVE_DEADLINE_MS = 30_000;

/** The flags of `spillway bench-live`. */
export interface BenchLiveFlags {
  dataset: string;
  task?: string;
  teacher: string;
  rate: number;
  duration: number;
  latency: { p50Ms: number; p99Ms: number };
  rpm?: number;
  tpm?: number;
  batch: number[];
  budget: number;
  deadline?: number;
  window?: number;
  stages?: string[];
  priceIn: number;
  priceOut: number;
  seed: number;
  baseline: boolean;
  instant: boolean;
  config?: string;
  /** The mid stage's sentence vectors, overriding `cascade.sentenceEncoder` (validated with the configuration). */
  encoder?: CascadeConfig['sentenceEncoder'];
  json?: boolean;
}

export async function runBenchLive(flags: BenchLiveFlags): Promise<void> {
  const { config, logger } = createServiceContext({
    file: flags.config,
    flags: {
      logLevel: 'warn',
      cascade: {
        seed: flags.seed,
        ...(flags.stages === undefined ? {} : { stages: flags.stages }),
        // Each setting's cascade loads its own encoder: a live service encodes every item, its cache cold.
        ...(flags.encoder === undefined ? {} : { sentenceEncoder: flags.encoder }),
      },
      ...(flags.deadline === undefined ? {} : { llm: { deadlineMs: flags.deadline } }),
      ...(flags.window === undefined ? {} : { pipeline: { maxInFlight: flags.window } }),
    },
  });
  const task = loadTask(flags.task ?? defaultTaskPath(flags.dataset));
  const stream = readLabelledStream(flags.dataset);
  const needsMid = config.cascade.stages.includes('mid');
  if (needsMid) await selectBackend(config.models.backend, logger);
  const vectors = needsMid && config.cascade.pretrainedVectors ? loadWordVectors(100_000, logger) : null;
  const options = {
    dataset: flags.dataset,
    task,
    teacher: flags.teacher,
    stream,
    config,
    logger,
    vectors,
    rate: flags.rate,
    durationS: flags.duration,
    seed: flags.seed,
    priceIn: flags.priceIn,
    priceOut: flags.priceOut,
  };
  const settings = liveSettings({
    batches: flags.batch,
    latency: flags.latency,
    ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }),
    ...(flags.tpm === undefined ? {} : { tpm: flags.tpm }),
    budget: flags.budget,
    // The live benchmark measures a latency-bound service: the configured bound, else 30 s.
    deadlineMs: config.llm.deadlineMs ?? LIVE_DEADLINE_MS,
    window: config.pipeline.maxInFlight,
  }).filter((s) => flags.baseline || s.name !== 'fifo-baseline');
  const results: LiveResult[] = [];
  for (const setting of settings) {
    process.stderr.write(`bench-live: ${setting.name} …\n`);
    const row = await runLiveSetting(options, setting);
    results.push(row);
    if (flags.instant && setting.name !== 'fifo-baseline') {
      // The accuracy reference of this setting: the same cascade, an instant LLM, the same LLM share.
      process.stderr.write(`bench-live: instant LLM at share ${row.llm_share.toFixed(3)} …\n`);
      const reference = await runLiveSetting(options, instantSetting(Math.max(0.001, row.llm_share), 64));
      results.push({ ...reference, setting: `instant@${setting.name}` });
    }
  }
  const report = {
    dataset: flags.dataset,
    rate: flags.rate,
    duration_s: flags.duration,
    latency: flags.latency,
    rpm: flags.rpm ?? null,
    tpm: flags.tpm ?? null,
    budget: flags.budget,
    deadline_ms: config.llm.deadlineMs ?? LIVE_DEADLINE_MS,
    stages: config.cascade.stages,
    price_per_million: { input: flags.priceIn, output: flags.priceOut },
    seed: flags.seed,
    results,
  };
  process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatLive(results));
}

/** A readable table of the results. */
export function formatLive(results: readonly LiveResult[]): string {
  const header = [
    'setting',
    'items',
    'items/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'past dl%',
    'dl%',
    'cold%',
    'acc%',
    'llm%',
    'reqs',
    '429s',
    'prompt tok/llm item',
    '$',
    'RSS MB',
    'max queue',
    'pDefer llm/small',
  ];
  const rows = results.map((r) => [
    r.setting,
    String(r.items),
    r.throughput_items_per_s.toFixed(1),
    r.latency_ms.p50.toFixed(0),
    r.latency_ms.p95.toFixed(0),
    r.latency_ms.p99.toFixed(0),
    (r.past_deadline_share * 100).toFixed(2),
    (r.instead_of_deadline_share * 100).toFixed(2),
    (((r.reasons.cold ?? 0) / Math.max(1, r.items)) * 100).toFixed(2),
    (r.accuracy * 100).toFixed(2),
    (r.llm_share * 100).toFixed(2),
    String(r.llm_requests),
    String(r.throttled_429),
    r.prompt_tokens_per_llm_item.toFixed(1),
    r.dollars.toFixed(4),
    r.peak_rss_mb.toFixed(0),
    String(r.max_queue),
    `${r.mean_pdefer_llm.toFixed(3)}/${r.mean_pdefer_small.toFixed(3)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
