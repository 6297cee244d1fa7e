/**
 * `spillway bench`: the cascade against recorded LLM answers, at several budgets, with baselines.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { readLabelledStream, sampleStream } from '../../bench/labelled-stream.js';
import { runCascadeBench, type BenchReport, type Strategy, type StrategyResult } from '../../bench/cascade-bench.js';
import { selectBackend } from '../../cascade/index.js';
import { loadConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { defaultTaskPath } from '../../llm/index.js';
import { createRootLogger } from '../logger.js';
import { parseList, parseNumber } from './options.js';

interface BenchFlags {
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

const STRATEGIES: readonly Strategy[] = ['learned', 'threshold', 'llm-only'];

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark the cascade on a labelled stream with recorded LLM answers (via the replay LLM server)')
    .requiredOption('--dataset <file>', 'JSONL stream with gold labels and recorded LLM answers')
    .option('--task <file>', 'task file (default: <dataset>.task.json)')
    .option('--teacher <model>', 'recorded LLM whose answers teach the cascade', 'gpt-3.5-turbo-1106')
    .option('--sample <share>', 'share of the stream to use, drawn at random with --seed (1 = the whole file, in file order)', parseNumber, 1)
    .option('--seed <n>', 'seed of the sample and of the cascade', parseNumber, 42)
    .option('--budgets <list>', 'LLM budgets (share of items), comma-separated', (v) => parseList(v).map(Number), [0.1, 0.3, 0.5])
    .option('--strategies <list>', `strategies to run: ${STRATEGIES.join(', ')}`, parseList, [...STRATEGIES])
    .option('--mu <weight>', 'μ, the cost weight of deferring (0: the budget alone decides)', parseNumber, 0)
    .option('--config <file>', 'config file (YAML or JSON) for the cascade settings')
    .option('--json', 'print one JSON object on stdout instead of a table')
    .action(async (flags: BenchFlags) => {
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
    });
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
