/**
 * `npm run bench:service [-- --datasets isear,hatespeech --teachers gpt-3.5-turbo-1106,llama-2-70b-chat
 *   --seeds 1,2,3,4,5 --paths start,run1,run3 --arrivals backlog,paced --rate 200 --latencies 0,800:5000
 *   --encoder glove --out .bench/service.jsonl --dump .bench/annotations --json]`, or `-- --from .bench/service.jsonl` to summarize recorded runs
 *
 * The service as users run it (service-paths.ts): `spillway start` and `spillway run` with 1 and 3 workers
 * sharing learning, on the real broker, with the default configuration, on a seeded 50 % sample of each stream,
 * as a backlog and as a stream paced at `--rate`, the stand-in LLM (`spillway replay-llm`, recorded answers)
 * answering at once or at a lognormal p50/p99 latency. Beside each, the sequential walk on the same items and
 * budget (`spillway bench --mode sequential`), the reference the service should reach. Printed per setting, over
 * the seeds (mean ± 95 % t-interval): accuracy against gold, agreement with the LLM, the paired difference with
 * the sequential walk, the LLM share against the budget, the answers by `reason`, items/s and what bounds it.
 * Each run is also appended to `--out` as one JSON line as soon as it ends.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DEFAULTS, loadConfig } from '../../src/config.js';
import { ANNOTATION_REASONS } from '../../src/cascade/index.js';
import { defaultTaskPath } from '../../src/llm/index.js';
import { DATASETS_DIR, kafkaClient, spawnCli, waitFor } from '../harness/index.js';
import { runCascadeBench } from './cascade-bench.js';
import { meanInterval, pairedDifference } from './confidence-interval.js';
import { readLabelledStream, sampleStream, type LabelledItem } from './labelled-stream.js';
import { runStart, runWorkers, type PathOutcome, type PathSettings } from './service-paths.js';

const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'isear,hatespeech' },
    teachers: { type: 'string', default: 'gpt-3.5-turbo-1106,llama-2-70b-chat' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    paths: { type: 'string', default: 'start,run1,run3' },
    arrivals: { type: 'string', default: 'backlog,paced' },
    rate: { type: 'string', default: '200' },
    latencies: { type: 'string', default: '0,800:5000' },
    budgets: { type: 'string', default: 'isear=0.313,hatespeech=0.112' },
    encoder: { type: 'string' },
    // An experiment's configuration, merged over each run's: a JSON object of sections, e.g. '{"kafka":{"commitIntervalMs":250}}'.
    overrides: { type: 'string' },
    sample: { type: 'string', default: '0.5' },
    out: { type: 'string', default: '.bench/service.jsonl' },
    // A folder to write each run's annotations to (one JSONL per run), for a closer look at where accuracy goes.
    dump: { type: 'string' },
    json: { type: 'boolean', default: false },
    from: { type: 'string' },
  },
});
const list = (s: string): string[] => s.split(',').filter(Boolean);
const budgets = new Map(list(args.budgets).map((kv) => kv.split('=') as [string, string]));
const RATE = Number(args.rate);
const logger = pino({ level: 'warn' });
const kafka = kafkaClient('spillway-bench-service');

/** One measured run, as appended to `--out`. */
interface RunRecord {
  dataset: string;
  teacher: string;
  seed: number;
  budget: number;
  path: string;
  arrival: string;
  latency: string;
  encoder: string;
  items: number;
  accuracy: number;
  agreement: number;
  llm_share: number;
  reasons: Record<string, number>;
  /** Annotations published more than once for one id (exactly-once would make it 0); the first one is scored. */
  duplicates?: number;
  /** Items with no annotation at all (never expected: the run waits until every offset is committed). */
  missing?: number;
  /** LLM requests sent a second time (`llm.hedgeShare`), from each process's final log line: paid calls beyond `llm_share`. */
  hedged_requests?: number;
  seconds: number;
  items_per_s: number;
  /** The sequential walk on the same items (same budget and seed). */
  sequential_accuracy: number;
  sequential_llm_share: number;
}

/** `spillway replay-llm` on a free port, answering with `teacher`'s recorded answers of `file`. */
async function startStandIn(file: string, teacher: string, extra: readonly string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const cli = spawnCli(['replay-llm', '--dataset', file, '--teacher', teacher, '--port', '0', ...extra]);
  await waitFor('the replay LLM to listen', () => /^http:\/\/\S+/m.test(cli.stdout()), 60_000);
  const url = (/^(http:\/\/\S+)/m.exec(cli.stdout()) ?? [])[1] ?? '';
  return {
    url: url.endsWith('/v1') ? url : `${url}/v1`,
    stop: async () => {
      cli.child.kill('SIGTERM');
      await cli.exited;
    },
  };
}

function log(message: string): void {
  process.stderr.write(`bench:service ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

/** Accuracy, agreement with the teacher, own LLM calls and reasons of what a path published. */
function scoreOutcome(
  outcome: PathOutcome,
  stream: readonly LabelledItem[],
  teacher: string,
): Pick<RunRecord, 'items' | 'accuracy' | 'agreement' | 'llm_share' | 'reasons' | 'duplicates' | 'missing'> {
  const byId = new Map(stream.map((r) => [r.id, r]));
  const seen = new Set<string>();
  let duplicates = 0;
  let correct = 0;
  let agreed = 0;
  let recorded = 0;
  let calls = 0;
  const reasons: Record<string, number> = Object.fromEntries(ANNOTATION_REASONS.map((r) => [r, 0]));
  for (const a of outcome.annotations) {
    const row = byId.get(a.id);
    if (row === undefined) continue;
    // A duplicate is reported, not scored twice: the run's accuracy is that of the first answer per item.
    if (seen.has(a.id)) {
      duplicates++;
      continue;
    }
    seen.add(a.id);
    if (a.labelId === row.label) correct++;
    const llm = row.llm[teacher] ?? -1;
    if (llm >= 0) {
      recorded++;
      if (a.labelId === llm) agreed++;
    }
    if (a.llmCalled && a.reason !== 'shared') calls++;
    reasons[a.reason] = (reasons[a.reason] ?? 0) + 1;
  }
  const n = stream.length;
  const missing = n - seen.size;
  if (duplicates > 0 || missing > 0) log(`published ${outcome.annotations.length} annotations for ${n} items: ${duplicates} duplicates, ${missing} missing`);
  return { items: n, accuracy: correct / n, agreement: agreed / Math.max(1, recorded), llm_share: calls / n, reasons, duplicates, missing };
}

/** Requests sent twice, summed over the processes' final log lines ('stream done', 'worker stopped'). */
function hedgedRequests(logs: readonly string[]): number {
  let hedged = 0;
  for (const line of logs.flatMap((l) => l.split('\n'))) {
    if (!line.includes('"hedgedRequests"')) continue;
    try {
      hedged += Number((JSON.parse(line) as { llm?: { hedgedRequests?: number } }).llm?.hedgedRequests ?? 0);
    } catch {
      // not a log record
    }
  }
  return hedged;
}

/** The sequential walk on the same items, at the same budget and seed: the reference. */
async function sequentialReference(
  file: string,
  stream: LabelledItem[],
  teacher: string,
  budget: number,
  seed: number,
): Promise<{ accuracy: number; llm_share: number }> {
  const base = loadConfig({ flags: { logLevel: 'warn', cascade: { seed, ...(args.encoder === undefined ? {} : { sentenceEncoder: args.encoder }) } } });
  const report = await runCascadeBench({
    dataset: file,
    taskPath: defaultTaskPath(file),
    teacher,
    stream,
    sample: Number(args.sample),
    seed,
    budgets: [budget],
    strategies: ['learned'],
    modes: ['sequential'],
    config: base,
    logger,
  });
  const row = report.results[0];
  if (row === undefined) throw new Error('the sequential walk gave no row');
  return { accuracy: row.accuracy, llm_share: row.llm_share };
}

async function measure(): Promise<RunRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const records: RunRecord[] = [];
  mkdirSync(path.dirname(args.out), { recursive: true });
  try {
    for (const dataset of list(args.datasets)) {
      const file = path.join(DATASETS_DIR, `${dataset}.jsonl`);
      const all = readLabelledStream(file);
      const budget = Number(budgets.get(dataset) ?? 0.3);
      for (const teacher of list(args.teachers)) {
        for (const seed of list(args.seeds).map(Number)) {
          const stream = sampleStream(all, Number(args.sample), seed);
          log(`${dataset} ${teacher} seed ${seed}: the sequential walk`);
          const reference = await sequentialReference(file, stream, teacher, budget, seed);
          for (const latency of list(args.latencies)) {
            const [p50, p99] = latency.split(':');
            const llm = await startStandIn(file, teacher, p50 === '0' ? [] : ['--latency', `${p50},${p99 ?? p50}`]);
            try {
              for (const arrival of list(args.arrivals)) {
                const settings: PathSettings = {
                  taskPath: defaultTaskPath(file),
                  llmUrl: llm.url,
                  teacher,
                  budget,
                  seed,
                  ...(arrival === 'paced' ? { rate: RATE } : {}),
                  ...(args.encoder === undefined ? {} : { encoder: args.encoder }),
                  ...(args.overrides === undefined ? {} : { overrides: JSON.parse(args.overrides) as Record<string, Record<string, unknown>> }),
                };
                for (const p of list(args.paths)) {
                  log(`${dataset} ${teacher} seed ${seed} latency ${latency} ${arrival} ${p}`);
                  const outcome = p === 'start' ? await runStart(stream, settings) : await runWorkers(kafka, admin, stream, Number(p.slice(3)), settings);
                  const record: RunRecord = {
                    dataset,
                    teacher,
                    seed,
                    budget,
                    path: p,
                    arrival,
                    latency,
                    encoder: args.encoder ?? 'default',
                    ...scoreOutcome(outcome, stream, teacher),
                    hedged_requests: hedgedRequests(outcome.logs),
                    seconds: outcome.seconds,
                    items_per_s: stream.length / outcome.seconds,
                    sequential_accuracy: reference.accuracy,
                    sequential_llm_share: reference.llm_share,
                  };
                  appendFileSync(args.out, `${JSON.stringify(record)}\n`);
                  if (args.dump !== undefined) dumpAnnotations(args.dump, record, outcome);
                  records.push(record);
                }
              }
            } finally {
              await llm.stop();
            }
          }
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
  return records;
}

/** Writes a run's annotations as published, one JSON line each, named after the run's setting. */
function dumpAnnotations(dir: string, r: RunRecord, outcome: PathOutcome): void {
  mkdirSync(dir, { recursive: true });
  const name = [r.dataset, r.teacher, `seed${r.seed}`, r.latency.replace(':', '-'), r.arrival, r.path].join('.');
  writeFileSync(path.join(dir, `${name}.jsonl`), outcome.annotations.map((a) => JSON.stringify(a)).join('\n') + '\n');
  outcome.logs.forEach((log, i) => writeFileSync(path.join(dir, `${name}.process${i}.log`), log));
}

/** Mean of an LLM latency drawn lognormal from its p50 and p99 (the stand-in's), ms. */
function meanLatencyMs(latency: string): number {
  const [p50, p99] = latency.split(':').map(Number) as [number, number | undefined];
  const sigma = p99 === undefined || p99 <= p50 ? 0 : Math.log(p99 / p50) / 2.3263;
  return p50 * Math.exp((sigma * sigma) / 2);
}

/**
 * What bounds a backlog's drain: the path's own rate with an instant LLM (its CPU rate, measured on the same
 * items) and the LLM's capacity over the share it is given (`llm.maxConcurrency` calls in flight at the mean
 * latency). Each run is set against the instant run of its own seed when there is one (measured beside it: the
 * machine's pace moves from one day to another by more than the effect), else against the mean of the instant runs.
 * Undefined when no instant run was measured.
 */
function drainBound(
  rs: readonly RunRecord[],
  all: readonly RunRecord[],
): { bound: number; cpu: number; llm: number; shares: number[]; paired: boolean } | undefined {
  const head = rs[0] as RunRecord;
  if (head.arrival !== 'backlog' || head.latency === '0') return undefined;
  const instant = all.filter(
    (r) => r.dataset === head.dataset && r.teacher === head.teacher && r.path === head.path && r.arrival === 'backlog' && r.latency === '0',
  );
  if (instant.length === 0) return undefined;
  const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const sameSeed = (seed: number): number[] => instant.filter((r) => r.seed === seed).map((r) => r.items_per_s);
  const paired = rs.every((r) => sameSeed(r.seed).length > 0);
  const allSeeds = mean(instant.map((r) => r.items_per_s));
  const cpuOf = (r: RunRecord): number => (paired ? mean(sameSeed(r.seed)) : allSeeds);
  const llmOf = (r: RunRecord): number => (DEFAULTS.llm.maxConcurrency * 1000) / meanLatencyMs(r.latency) / r.llm_share;
  const shares = rs.map((r) => r.items_per_s / Math.min(cpuOf(r), llmOf(r)));
  const cpu = mean(rs.map(cpuOf));
  const llm = mean(rs.map(llmOf));
  return { bound: Math.min(cpu, llm), cpu, llm, shares, paired };
}

/** `82 % of 115 (115, 184)`; with same-seed bounds, the mean share, its interval and each seed's. */
function drainText(b: NonNullable<ReturnType<typeof drainBound>>): string {
  const pctOf = (x: number): string => (x * 100).toFixed(0);
  const m = meanInterval(b.shares);
  const spread = b.shares.length > 1 ? ` [${pctOf(m.low)}, ${pctOf(m.high)}]` : '';
  const seeds = b.paired && b.shares.length > 1 ? `; by seed ${b.shares.map(pctOf).join(', ')} %` : '';
  return `${pctOf(m.mean)} %${spread} of ${b.bound.toFixed(0)} (${b.cpu.toFixed(0)}, ${b.llm.toFixed(0)})${b.paired ? ' same seed' : ''}${seeds}`;
}

/** One line per setting, over the seeds. */
function summarize(records: readonly RunRecord[]): string {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = [r.dataset, r.teacher, r.path, r.arrival, r.latency].join(' ');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const pct = (m: { mean: number; low: number; high: number }): string => `${(m.mean * 100).toFixed(2)}±${((m.high - m.mean) * 100).toFixed(2)}`;
  const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;
  const lines = [
    'setting (dataset teacher path arrival latency)            seeds  acc%          agree%        svc−seq pts (95%)         share%  budget%  hedge%  cold%  items/s  drain (of bound: cpu, llm)',
  ];
  for (const [key, rs] of groups) {
    const diff = pairedDifference(
      rs.map((r) => r.accuracy),
      rs.map((r) => r.sequential_accuracy),
    );
    const share = rs.reduce((s, r) => s + r.llm_share, 0) / rs.length;
    const cold = rs.reduce((s, r) => s + (r.reasons.cold ?? 0) / r.items, 0) / rs.length;
    const hedged = rs.reduce((s, r) => s + (r.hedged_requests ?? 0) / r.items, 0) / rs.length;
    const rate = rs.reduce((s, r) => s + r.items_per_s, 0) / rs.length;
    const bound = drainBound(rs, records);
    lines.push(
      [
        key.padEnd(58),
        String(rs.length).padStart(5),
        pct(meanInterval(rs.map((r) => r.accuracy))).padStart(12),
        pct(meanInterval(rs.map((r) => r.agreement))).padStart(12),
        `${signed(diff.mean)} [${signed(diff.low)}, ${signed(diff.high)}]`.padStart(25),
        (share * 100).toFixed(2).padStart(7),
        ((rs[0]?.budget ?? 0) * 100).toFixed(2).padStart(8),
        (hedged * 100).toFixed(2).padStart(7),
        (cold * 100).toFixed(2).padStart(6),
        rate.toFixed(0).padStart(8),
        bound === undefined ? '' : `  ${drainText(bound)}`,
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

// `--from F`: summarize the runs recorded in F (e.g. a long run's `--out`), measuring nothing.
const records = args.from === undefined ? await measure() : readRecords(args.from);
process.stdout.write(args.json ? `${JSON.stringify(records)}\n` : summarize(records));

function readRecords(file: string): RunRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RunRecord);
}
