/**
 * `npm run bench:micro`: the speed of the small stages on one core, on real texts.
 *  1. featurizer + LR prediction (the hot path; target ≥ 200,000 items/s);
 *  2. the whole cascade's inference path with the mid model (LR → policy → mid → policy), models trained
 *     first on LLM labels, no LLM call in the timed loop (target ≥ 30,000 items/s);
 *  3. the same cascade learning online (LLM answers from an in-process table, so no HTTP time counts;
 *     target ≥ 10,000 items/s).
 * The mid stage reads GloVe vectors here: the default encoder's (e5-small) cost is measured by `npm run bench:live`.
 * Each rate is items per second of wall time and, in brackets, per second of this process's CPU time: on a
 * machine other work shares, the second is the steadier figure. Prints a table, or one JSON object with --json.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { createCascade, Featurizer, LogisticRegressor, selectBackend } from '../../src/cascade/index.js';
import { parseConfig } from '../../src/config.js';
import { loadTask, type LlmAnswer, type Teacher } from '../../src/llm/index.js';
import { createMonitor } from '../../src/monitor/index.js';
import { datasetFile } from '../harness/index.js';

const dataset = datasetFile(process.argv.find((a) => a.endsWith('.jsonl')) ?? 'hatespeech');
const json = process.argv.includes('--json');
const rows = readFileSync(dataset, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { id: string; text: string; llm: Record<string, number> });
const task = loadTask(dataset.replace(/\.jsonl$/, '.task.json'));
const K = task.labels.length;
const TEACHER = 'gpt-3.5-turbo-1106';

/** Items per second of wall time and of this process's CPU time (user + system). */
interface Rate {
  wall: number;
  cpu: number;
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Times `run`, which handles `items` items. */
async function rateOf(items: number, run: () => void | Promise<void>): Promise<Rate> {
  const wall0 = performance.now();
  const cpu0 = cpuSeconds();
  await run();
  return { wall: items / ((performance.now() - wall0) / 1000), cpu: items / (cpuSeconds() - cpu0) };
}

async function timeIt(rounds: number, fn: () => void): Promise<Rate> {
  fn(); // warm the JIT
  return rateOf(rounds * rows.length, () => {
    for (let r = 0; r < rounds; r++) fn();
  });
}

const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 5000 });
const lr = new LogisticRegressor({ dim: 2 ** 18, classes: K });
for (const r of rows.slice(0, 2000)) lr.update(featurizer.featurize(r.text).sparse, Math.max(0, r.llm[TEACHER] ?? 0));
const out = new Float32Array(K);
const featurizeOnly = await timeIt(3, () => {
  for (const r of rows) featurizer.featurize(r.text);
});
const featurizeLr = await timeIt(3, () => {
  for (const r of rows) lr.predict(featurizer.featurize(r.text).sparse, out);
});

const backend = await selectBackend('auto');
const logger = pino({ level: 'silent' });
const answers = new Map(rows.map((r) => [r.text, r.llm[TEACHER] ?? -1]));
const tableTeacher: Teacher = {
  model: TEACHER,
  async classify(text: string): Promise<LlmAnswer> {
    const y = answers.get(text) ?? -1;
    return { labelId: y < 0 ? null : y, raw: '', model: TEACHER, latencyMs: 0, attempts: 1 };
  },
};
// The small stages' own speed: the mid stage on GloVe vectors. (e5-small, the default sentence encoder, costs
// ~8 ms of an encoder thread per item, batched: its rate is the live benchmark's, `npm run bench:live`.)
const config = parseConfig({ cascade: { llmBudget: 0.2, deferralCostWeight: 0, sentenceEncoder: 'glove' } });
const sections = { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 }, models: { ...config.models, saveEveryItems: 0, saveEveryMs: 0 } };
const base = { task, config: sections, logger, restore: false };

// 3. Online learning, LLM answers free: bare, with the monitor's observer, and with 5% audits too.
async function onlineRun(observe: boolean, auditRate: number): Promise<{ perSecond: Rate; cascade: Awaited<ReturnType<typeof createCascade>> }> {
  const monitor = observe ? createMonitor({ config: { httpPort: 0, httpHost: '127.0.0.1' }, logger, processMetrics: false }) : undefined;
  const cascade = await createCascade({
    ...base,
    config: { ...sections, cascade: { ...sections.cascade, auditRate } },
    teacher: tableTeacher,
    ...(monitor === undefined ? {} : { observer: monitor.observer }),
  });
  const perSecond = await rateOf(rows.length, async () => {
    for (const r of rows) await cascade.process({ id: r.id, text: r.text });
  });
  return { perSecond, cascade };
}
const bare = await onlineRun(false, 0);
const learning = bare.cascade;
const onlineLearning = bare.perSecond;
const withMonitor = (await onlineRun(true, 0)).perSecond;
const withAudits = (await onlineRun(true, 0.05)).perSecond;

// 2. Inference path of the trained cascade: no teacher, so nothing reaches an LLM and nothing is learned;
// earlyExitFactor 0 makes every item go through the mid model (the slow path, measured on purpose).
const inference = await createCascade({ ...base, config: { ...sections, cascade: { ...sections.cascade, earlyExitFactor: 0 } }, allowNoLlm: true });
Object.assign(inference.parts, { stages: learning.parts.stages, policies: learning.parts.policies, budget: learning.parts.budget });
const cascadeInference = await rateOf(2 * rows.length, async () => {
  for (let round = 0; round < 2; round++) for (const r of rows) await inference.process({ id: r.id, text: r.text });
});
const midShare = inference.counters.answeredBy.mid / inference.counters.items;

const figure = (rate: Rate): string => `${Math.round(rate.wall).toLocaleString('en')} items/s (${Math.round(rate.cpu).toLocaleString('en')} per CPU-second)`;
const report = {
  dataset,
  items: rows.length,
  backend: backend.name,
  featurize_items_per_s: Math.round(featurizeOnly.wall),
  featurize_lr_items_per_s: Math.round(featurizeLr.wall),
  featurize_lr_items_per_cpu_s: Math.round(featurizeLr.cpu),
  cascade_inference_items_per_s: Math.round(cascadeInference.wall),
  cascade_inference_items_per_cpu_s: Math.round(cascadeInference.cpu),
  cascade_inference_mid_share: Number(midShare.toFixed(3)),
  cascade_online_learning_items_per_s: Math.round(onlineLearning.wall),
  cascade_online_learning_items_per_cpu_s: Math.round(onlineLearning.cpu),
  cascade_online_with_monitor_items_per_s: Math.round(withMonitor.wall),
  cascade_online_with_monitor_and_5pct_audits_items_per_s: Math.round(withAudits.wall),
};
if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
else {
  console.log(`${rows.length} items of ${dataset}, tfjs backend ${backend.name}, one core`);
  console.log(`featurizer alone                             ${figure(featurizeOnly)}`);
  console.log(`featurizer + LR prediction                   ${figure(featurizeLr)}   (target ≥ 200,000)`);
  console.log(`cascade inference (LR → mid, ${(midShare * 100).toFixed(0)}% reach mid)  ${figure(cascadeInference)}   (target ≥ 30,000)`);
  console.log(`cascade learning online (LLM answers free)   ${figure(onlineLearning)}   (target ≥ 10,000)`);
  console.log(`  … with the monitor's metrics                ${figure(withMonitor)}`);
  console.log(`  … with metrics and 5% audits                ${figure(withAudits)}`);
}
