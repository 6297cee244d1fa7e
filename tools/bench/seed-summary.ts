/**
 * Folds the reports of several paired seeds (same sample and cascade seed for every strategy within a
 * seed) into one: each row holds the mean over seeds and the 95 % interval of every scalar metric, and the
 * paired difference of each cascade strategy against the threshold baseline per budget.
 */
import type { BenchReport, StrategyResult } from './cascade-bench.js';
import { meanInterval, pairedDifference, type MeanInterval } from './confidence-interval.js';
import { BASELINE_STRATEGY, benchStrategy } from './strategies.js';

/** [low, high] of a 95 % Student-t interval over seeds. */
export type Interval = [number, number];

/** A row of the multi-seed report: today's fields (means over seeds) plus the intervals. */
export interface SummaryRow extends StrategyResult {
  /** 95 % interval over the seeds of every scalar metric of the row (zero width with one seed). */
  ci95: Record<string, Interval>;
}

/** A paired difference, strategy − baseline, at one budget, over the seeds. */
export interface PairedDifference {
  strategy: string;
  /** The path both rows were measured on; `baseline` 'sequential': the service row against the sequential walk. */
  mode?: string;
  baseline: string;
  budget: number;
  metric: string;
  mean: number;
  low: number;
  high: number;
  /** The difference at each seed, in the order of `seeds`. */
  per_seed: number[];
}

/** The multi-seed report (`--json`): today's fields, plus `seeds`, intervals, differences and the runs. */
export interface SeedSummaryReport extends Omit<BenchReport, 'results'> {
  seeds: number[];
  results: SummaryRow[];
  differences: PairedDifference[];
  /** Each seed's own report rows. */
  runs: Array<{ seed: number; items: number; results: StrategyResult[] }>;
}

/** The metrics the paired differences are taken on, when the rows have them. */
const DIFFERENCE_METRICS = ['accuracy', 'llm_share', 'macro_f1', 'objective', 'positive_recall', 'stage_agreement_late'] as const;

const round = (x: number, d = 4): number => Number(x.toFixed(d));

/** Folds per-seed reports (same dataset, task, teacher, budgets and strategies) into one summary. */
export function summarizeSeeds(reports: readonly BenchReport[]): SeedSummaryReport {
  const first = reports[0];
  if (first === undefined) throw new RangeError('a summary needs at least one seed');
  const key = (r: StrategyResult): string => `${r.mode ?? 'sequential'}:${r.strategy}@${r.budget}`;
  const results: SummaryRow[] = first.results.map((row) => {
    const rows = reports.map((rep) => {
      const match = rep.results.find((r) => key(r) === key(row));
      if (match === undefined) throw new RangeError(`seed ${rep.seed} has no row for ${key(row)}`);
      return match;
    });
    return summarizeRow(rows);
  });
  const differences: PairedDifference[] = [];
  const budgets = [...new Set(first.results.map((r) => r.budget))];
  for (const budget of budgets) {
    for (const row of first.results) {
      const mode = row.mode ?? 'sequential';
      const sameMode = (r: StrategyResult): boolean => (r.mode ?? 'sequential') === mode;
      // The service against the sequential walk of the same strategy: what running as a service costs.
      if (mode === 'service' && row.budget === budget) {
        const walk = (rep: BenchReport): StrategyResult | undefined =>
          rep.results.find((r) => r.mode === 'sequential' && r.strategy === row.strategy && r.budget === budget);
        if (walk(first) !== undefined) differences.push(...paired(reports, row, walk, 'sequential', budget, mode, ['accuracy', 'llm_share', 'agreement']));
      }
      // Each strategy against its own baseline (the tiered LLM against the one-teacher cascade it extends).
      const baseline = benchStrategy(row.strategy)?.baseline ?? BASELINE_STRATEGY;
      const base = (rep: BenchReport): StrategyResult | undefined => rep.results.find((r) => r.strategy === baseline && r.budget === budget && sameMode(r));
      if (row.budget !== budget || row.strategy === baseline || row.strategy === 'llm-only' || base(first) === undefined) continue;
      const metrics = baseline === BASELINE_STRATEGY ? DIFFERENCE_METRICS : [...DIFFERENCE_METRICS, 'cost_units' as const];
      differences.push(...paired(reports, row, base, baseline, budget, row.mode, metrics));
    }
  }
  const { results: _rows, ...meta } = first;
  return {
    ...meta,
    items: round(mean(reports.map((r) => r.items)), 1),
    seeds: reports.map((r) => r.seed),
    results,
    differences,
    runs: reports.map((r) => ({ seed: r.seed, items: r.items, results: r.results })),
  };
}

/** The paired differences of `row` (found by its key in every seed's report) against `base`'s row, per metric. */
function paired(
  reports: readonly BenchReport[],
  row: StrategyResult,
  base: (rep: BenchReport) => StrategyResult | undefined,
  baseline: string,
  budget: number,
  mode: string | undefined,
  metrics: readonly string[],
): PairedDifference[] {
  const key = (r: StrategyResult): string => `${r.mode ?? 'sequential'}:${r.strategy}@${r.budget}`;
  const out: PairedDifference[] = [];
  for (const metric of metrics) {
    if (typeof (row as unknown as Record<string, unknown>)[metric] !== 'number') continue;
    const a = reports.map((rep) =>
      metricOf(
        rep.results.find((r) => key(r) === key(row)),
        metric,
      ),
    );
    const b = reports.map((rep) => metricOf(base(rep), metric));
    const d = pairedDifference(a, b);
    out.push({
      strategy: row.strategy,
      ...(mode === undefined ? {} : { mode }),
      baseline,
      budget,
      metric,
      mean: round(d.mean),
      low: round(d.low),
      high: round(d.high),
      per_seed: a.map((x, i) => round(x - (b[i] as number))),
    });
  }
  return out;
}

function metricOf(row: StrategyResult | undefined, metric: string): number {
  const v = row === undefined ? undefined : (row as unknown as Record<string, unknown>)[metric];
  if (typeof v !== 'number') throw new RangeError(`a seed lacks ${metric}`);
  return v;
}

/** Means of every numeric field (element-wise for arrays) and the interval of every scalar one. */
function summarizeRow(rows: readonly StrategyResult[]): SummaryRow {
  const head = rows[0] as StrategyResult;
  const out: Record<string, unknown> = { ...head };
  const ci95: Record<string, Interval> = {};
  for (const [field, value] of Object.entries(head)) {
    if (field === 'budget' || field === 'mode' || field.startsWith('paper_')) continue;
    const values = rows.map((r) => (r as unknown as Record<string, unknown>)[field]);
    if (typeof value === 'number') {
      const xs = values.map((v) => (typeof v === 'number' ? v : Number.NaN));
      const m: MeanInterval = meanInterval(xs);
      const digits = Number.isInteger(value) && Math.abs(value) > 1 ? 1 : 4;
      out[field] = round(m.mean, digits);
      ci95[field] = [round(m.low, digits), round(m.high, digits)];
    } else if (Array.isArray(value)) {
      out[field] = value.map((_, k) => round(mean(values.map((v) => ((v as number[])[k] ?? Number.NaN) as number))));
    } else if (field === 'quality' && typeof value === 'object' && value !== null) {
      // The quality report's figures, averaged over the seeds (its target, δ and window are the same in each).
      const reports = values as Array<Record<string, unknown>>;
      out[field] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, typeof v === 'number' ? round(mean(reports.map((r) => r[k] as number)), 4) : v]),
      );
    }
  }
  return { ...(out as unknown as StrategyResult), ci95 };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
