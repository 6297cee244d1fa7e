/**
 * `npm run bench:micro`: the speed of the small stages on one core, on real texts.
 *  1. featurizer + LR prediction (the hot path; target ≥ 100,000 items/s);
 *  2. the whole cascade's inference path with the mid model (LR → policy → mid → policy), models trained
 *     first on LLM labels, no LLM call in the timed loop (target ≥ 5,000 items/s);
 *  3. the same cascade learning online (LLM answers from an in-process table, so no HTTP time counts).
 * Prints a table, or one JSON object with --json.
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

function timeIt(rounds: number, fn: () => void): number {
  fn(); // warm the JIT
  const started = performance.now();
  for (let r = 0; r < rounds; r++) fn();
  return (rounds * rows.length) / ((performance.now() - started) / 1000);
}

const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 5000 });
const lr = new LogisticRegressor({ dim: 2 ** 18, classes: K });
for (const r of rows.slice(0, 2000)) lr.update(featurizer.featurize(r.text).sparse, Math.max(0, r.llm[TEACHER] ?? 0));
const out = new Float32Array(K);
const featurizeOnly = timeIt(3, () => {
  for (const r of rows) featurizer.featurize(r.text);
});
const featurizeLr = timeIt(3, () => {
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
const config = parseConfig({ cascade: { llmBudget: 0.2, deferralCostWeight: 0 } });
const sections = { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 }, models: { ...config.models, saveEveryItems: 0, saveEveryMs: 0 } };
const base = { task, config: sections, logger, restore: false };

// 3. Online learning, LLM answers free: bare, with the monitor's observer, and with 5% audits too.
async function onlineRun(observe: boolean, auditRate: number): Promise<{ perSecond: number; cascade: Awaited<ReturnType<typeof createCascade>> }> {
  const monitor = observe ? createMonitor({ config: { httpPort: 0, httpHost: '127.0.0.1' }, logger, processMetrics: false }) : undefined;
  const cascade = await createCascade({
    ...base,
    config: { ...sections, cascade: { ...sections.cascade, auditRate } },
    teacher: tableTeacher,
    ...(monitor === undefined ? {} : { observer: monitor.observer }),
  });
  const t0 = performance.now();
  for (const r of rows) await cascade.process({ id: r.id, text: r.text });
  return { perSecond: rows.length / ((performance.now() - t0) / 1000), cascade };
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
const started = performance.now();
for (let round = 0; round < 2; round++) for (const r of rows) await inference.process({ id: r.id, text: r.text });
const cascadeInference = (2 * rows.length) / ((performance.now() - started) / 1000);
const midShare = inference.counters.answeredBy.mid / inference.counters.items;

const report = {
  dataset,
  items: rows.length,
  backend: backend.name,
  featurize_items_per_s: Math.round(featurizeOnly),
  featurize_lr_items_per_s: Math.round(featurizeLr),
  cascade_inference_items_per_s: Math.round(cascadeInference),
  cascade_inference_mid_share: Number(midShare.toFixed(3)),
  cascade_online_learning_items_per_s: Math.round(onlineLearning),
  cascade_online_with_monitor_items_per_s: Math.round(withMonitor),
  cascade_online_with_monitor_and_5pct_audits_items_per_s: Math.round(withAudits),
};
if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
else {
  console.log(`${rows.length} items of ${dataset}, tfjs backend ${backend.name}, one core`);
  console.log(`featurizer alone                          ${report.featurize_items_per_s.toLocaleString('en')} items/s`);
  console.log(`featurizer + LR prediction                ${report.featurize_lr_items_per_s.toLocaleString('en')} items/s   (target ≥ 100,000)`);
  console.log(
    `cascade inference (LR → mid, ${(midShare * 100).toFixed(0)}% reach mid)  ${report.cascade_inference_items_per_s.toLocaleString('en')} items/s   (target ≥ 5,000)`,
  );
  console.log(`cascade learning online (LLM answers free) ${report.cascade_online_learning_items_per_s.toLocaleString('en')} items/s`);
  console.log(`  … with the monitor's metrics             ${report.cascade_online_with_monitor_items_per_s.toLocaleString('en')} items/s`);
  console.log(`  … with metrics and 5% audits             ${report.cascade_online_with_monitor_and_5pct_audits_items_per_s.toLocaleString('en')} items/s`);
}
