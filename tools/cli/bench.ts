/**
 * `spillway bench`'s implementation (loaded when the command runs): the cascade against recorded LLM answers, at several budgets, with baselines.
 */
import cliProgress from 'cli-progress';
import { readLabelledStream, runCascadeBench, sampleStream, type BenchReport, type Strategy, type StrategyResult } from '../bench/index.js';
import { selectBackend } from '../../src/cascade/index.js';
import { createRootLogger } from '../../src/cli/index.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { defaultTaskPath } from '../../src/llm/index.js';
import { STRATEGIES } from './bench-command.js';

/** The flags of `spillway bench` (see tools/cli/bench-command.ts). */
export interface BenchFlags {
  dataset: string;
  task?: string;
  teacher: string;
  sample: number;
  seed: number;
  budgets: number[];
  strategies: string[];
  mu: number;
  json?: boolean;
  config?: string;
}

/** Runs `spillway bench` with parsed flags: the report goes to stdout, progress to stderr. */
export async function runBench(flags: BenchFlags): Promise<void> {
  const unknown = flags.strategies.filter((s) => !STRATEGIES.includes(s as Strategy));
  if (unknown.length > 0) throw new ConfigError([{ key: 'strategies', message: `unknown ${unknown.join(', ')}; expected some of ${STRATEGIES.join(', ')}` }]);
  const bad = flags.budgets.filter((b) => !(b > 0 && b <= 1));
  if (bad.length > 0) throw new ConfigError([{ key: 'budgets', message: `each budget must be in (0, 1], got ${bad.join(', ')}` }]);
  const config = loadConfig({ file: flags.config, flags: { logLevel: 'warn', cascade: { seed: flags.seed, deferralCostWeight: flags.mu } } });
  const logger = createRootLogger(config.logLevel);
  const stream = sampleStream(readLabelledStream(flags.dataset), flags.sample, flags.seed);
  const backend = await selectBackend(config.models.backend, logger);
  const runs = flags.budgets.length * flags.strategies.length + (flags.strategies.includes('llm-only') ? 1 : 0);
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'bench {bar} {percentage}% | {value}/{total} items | {eta}s left', hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(runs * stream.length, 0);
  let done = 0;
  const report = await runCascadeBench({
    dataset: flags.dataset,
    taskPath: flags.task ?? defaultTaskPath(flags.dataset),
    teacher: flags.teacher,
    stream,
    sample: flags.sample,
    seed: flags.seed,
    budgets: flags.budgets,
    strategies: flags.strategies as Strategy[],
    config,
    logger,
    // Redraw every 200 items: a bar update per item would cost more than the cascade's own work.
    onItem: () => (++done % 200 === 0 ? bar.update(done) : undefined),
  });
  bar.update(done);
  bar.stop();
  report.backend = backend.name;
  process.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatReport(report));
}

const pct = (x: number | undefined): string => (x === undefined ? '' : (x * 100).toFixed(2));

/** A readable table of a report. */
export function formatReport(report: BenchReport): string {
  const positive = report.results.some((r) => r.positive_recall !== undefined);
  const header = ['strategy', 'budget', 'LLM calls', 'share%', 'acc%', 'macroF1%', 'balAcc%', ...(positive ? ['posR%', 'posP%', 'posF1%'] : []), 'agree%', 'lr/mid/llm %', 'items/s', 'paper acc%', 'gap pts'];
  const rows = report.results.map((r: StrategyResult) => [
    r.strategy,
    r.budget.toFixed(3),
    String(r.llm_calls),
    pct(r.llm_share),
    pct(r.accuracy),
    pct(r.macro_f1),
    pct(r.balanced_accuracy),
    ...(positive ? [pct(r.positive_recall), pct(r.positive_precision), pct(r.positive_f1)] : []),
    pct(r.agreement),
    r.stage_share.map((s) => (s * 100).toFixed(0)).join('/'),
    String(r.items_per_s),
    pct(r.paper_accuracy),
    r.paper_accuracy === undefined ? '' : ((r.accuracy - r.paper_accuracy) * 100).toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  const title = `${report.task}: ${report.items} items (sample ${report.sample}, seed ${report.seed}), teacher ${report.teacher}, tfjs backend ${report.backend ?? '?'}`;
  return [title, line(header), ...rows.map(line), ''].join('\n');
}
