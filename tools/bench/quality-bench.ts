/**
 * `npm run bench:quality [-- --datasets isear,hatespeech --teachers gpt-3.5-turbo-1106,llama-2-70b-chat
 *   --orders given,shift,drift --seeds 1,2,3,4,5 --deltas 0.05 --targets 'isear=agreement>=0.9;hatespeech=recall:yes>=0.8'
 *   --baseline-orders shift --out .bench/quality.jsonl]`, or `-- --from .bench/quality.jsonl` to summarize.
 *
 * Quality targets through the service path (`spillway bench --quality … --json`, the LLM over HTTP): for each
 * dataset, teacher, order and δ, the adaptive controller over the seeds, and on `--baseline-orders` the
 * certify-once baseline (BARGAIN, LOTUS: thresholds fitted on the first window, then frozen). Printed per
 * setting, mean ± 95 % t-interval over the seeds: the violation rate (target: ≤ δ), the LLM share with audits,
 * the audit share, the hindsight share and the ratio of the two. Each run is appended to `--out` as it ends.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnCli } from '../harness/index.js';
import { meanInterval, type MeanInterval } from './confidence-interval.js';
import type { QualityReport } from './quality-windows.js';
import type { SeedSummaryReport } from './seed-summary.js';

const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'isear,hatespeech' },
    teachers: { type: 'string', default: 'gpt-3.5-turbo-1106,llama-2-70b-chat' },
    orders: { type: 'string', default: 'given,shift,drift' },
    'baseline-orders': { type: 'string', default: 'shift' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    deltas: { type: 'string', default: '0.05' },
    targets: { type: 'string', default: 'isear=agreement>=0.9;hatespeech=recall:yes>=0.8' },
    window: { type: 'string', default: '1000' },
    sample: { type: 'string', default: '0.5' },
    encoder: { type: 'string' },
    out: { type: 'string', default: '.bench/quality.jsonl' },
    from: { type: 'string' },
  },
});
const list = (s: string, sep = ','): string[] => s.split(sep).filter(Boolean);
const targets = new Map(list(args.targets, ';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));

/** One seed's run, as appended to `--out`. */
interface QualityRecord extends QualityReport {
  dataset: string;
  teacher: string;
  order: string;
  seed: number;
  baseline: boolean;
  accuracy: number;
}

function log(message: string): void {
  process.stderr.write(`bench:quality ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

async function runSetting(dataset: string, teacher: string, order: string, delta: string, baseline: boolean): Promise<QualityRecord[]> {
  const target = targets.get(dataset);
  if (target === undefined) throw new Error(`no --targets for ${dataset}`);
  const cli = spawnCli([
    'bench',
    ...['--dataset', dataset, '--teacher', teacher, '--sample', args.sample, '--seeds', args.seeds, '--order', order],
    ...['--quality', target, '--quality-delta', delta, '--quality-window', args.window, '--json'],
    ...(baseline ? ['--certify-once'] : []),
    ...(args.encoder === undefined ? [] : ['--encoder', args.encoder]),
  ]);
  const code = await cli.exited;
  if (code !== 0) throw new Error(`spillway bench exited ${code}:\n${cli.stderr().slice(-3_000)}`);
  const report = JSON.parse(cli.stdout()) as SeedSummaryReport;
  return report.runs.flatMap((run) =>
    run.results.flatMap((r) => (r.quality === undefined ? [] : [{ dataset, teacher, order, seed: run.seed, baseline, accuracy: r.accuracy, ...r.quality }])),
  );
}

async function measure(): Promise<QualityRecord[]> {
  mkdirSync(path.dirname(args.out), { recursive: true });
  const records: QualityRecord[] = [];
  const baselineOrders = new Set(list(args['baseline-orders']));
  for (const dataset of list(args.datasets)) {
    for (const teacher of list(args.teachers)) {
      for (const order of list(args.orders)) {
        for (const delta of list(args.deltas)) {
          for (const baseline of baselineOrders.has(order) ? [false, true] : [false]) {
            log(`${dataset} ${teacher} ${order} δ ${delta}${baseline ? ' certify-once' : ''}, seeds ${args.seeds}`);
            for (const record of await runSetting(dataset, teacher, order, delta, baseline)) {
              appendFileSync(args.out, `${JSON.stringify(record)}\n`);
              records.push(record);
            }
          }
        }
      }
    }
  }
  return records;
}

const fmt = (m: MeanInterval, scale = 100): string => `${(m.mean * scale).toFixed(1)}±${(((m.high - m.low) / 2) * scale).toFixed(1)}`;

function summarize(records: readonly QualityRecord[]): string {
  const groups = new Map<string, QualityRecord[]>();
  for (const r of records) {
    const key = `${r.dataset} ${r.teacher.slice(0, 9)} ${r.order} ${r.target} δ${r.delta}${r.baseline ? ' certify-once' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const lines = [
    `${'setting'.padEnd(66)} ${'seeds'.padStart(5)} ${'violated %'.padStart(11)} ${'LLM %'.padStart(10)} ${'audits %'.padStart(9)} ${'hindsight %'.padStart(12)} ${'× hindsight'.padStart(12)} ${'acc %'.padStart(10)}`,
  ];
  for (const [key, rs] of groups) {
    const ratio = meanInterval(rs.map((r) => (r.hindsight_share > 0 ? r.llm_share / r.hindsight_share : Number.NaN)).filter(Number.isFinite));
    lines.push(
      [
        key.padEnd(66),
        String(rs.length).padStart(5),
        fmt(meanInterval(rs.map((r) => r.violation_rate))).padStart(11),
        fmt(meanInterval(rs.map((r) => r.llm_share))).padStart(10),
        fmt(meanInterval(rs.map((r) => r.audit_share))).padStart(9),
        fmt(meanInterval(rs.map((r) => r.hindsight_share))).padStart(12),
        fmt(ratio, 1).padStart(12),
        fmt(meanInterval(rs.map((r) => r.accuracy))).padStart(10),
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

const records =
  args.from === undefined
    ? await measure()
    : readFileSync(args.from, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as QualityRecord);
process.stdout.write(summarize(records));
