/**
 * `npm run bench:signal`: can any deferral signal do better than the stage's own confidence?
 * Runs the learned strategy as `spillway bench` does (unknown horizon, seeded samples, the recorded teacher
 * behind the replay server) and, over the second half of each seed's stream, among the items that reached
 * the deepest small stage, asks how well three scores rank the items on which that stage disagrees with
 * the LLM:
 *  - confidence: 1 − the stage's probability for its answer (what the threshold strategy defers on);
 *  - learned: the deferral policy's P(defer), as it was when the item was walked;
 *  - hindsight: a logistic fitted on every first-half item with the LLM's answer known (far more labels
 *    than the service gets), over the features the annotations carry: an upper bound for a linear
 *    deferral policy on them.
 * For each: the ROC AUC, and the stage's agreement with the LLM once as many items are deferred by that
 * score as the run deferred (beside an oracle that knows the disagreements and a random choice). On a
 * binary task with a positive label, also the best accuracy any cut on the stage's P(positive) reaches at
 * the objective's recall floor with the budget's LLM calls placed in hindsight (deferral-signal.ts).
 *
 *   npm run bench:signal -- [--dataset isear] [--teacher gpt-3.5-turbo-1106] [--budgets 0.313] [--seeds 1,2,3,4,5]
 *                           [--encoder e5-small] [--objective 'recall:yes>=0.8'] [--config spillway.yaml]
 */
import { parseArgs } from 'node:util';
import { createServiceContext } from '../../src/app/index.js';
import { loadSentenceEncoder, selectBackend, type Annotation, type StageTrace } from '../../src/cascade/index.js';
import type { CascadeConfig } from '../../src/config.js';
import { DEFAULT_RECALL_FLOOR, loadTask, parseObjective } from '../../src/llm/index.js';
import { datasetFile } from '../harness/index.js';
import { runCascadeBench } from './cascade-bench.js';
import { meanInterval } from './confidence-interval.js';
import { agreementAfterDeferring, fitLogistic, recallFrontier, rocAuc } from './deferral-signal.js';
import { readLabelledStream, sampleStream, type LabelledItem } from './labelled-stream.js';

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'isear' },
    teacher: { type: 'string', default: 'gpt-3.5-turbo-1106' },
    budgets: { type: 'string', default: '0.313' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    sample: { type: 'string', default: '0.5' },
    encoder: { type: 'string' },
    objective: { type: 'string' },
    config: { type: 'string' },
  },
});

const datasetPath = datasetFile(`${args.dataset}.jsonl`);
const taskPath = datasetFile(`${args.dataset}.task.json`);
const task = loadTask(taskPath);
const objective = args.objective === undefined ? undefined : parseObjective(args.objective, task.labels, task.positiveLabel);
if (typeof objective === 'string') throw new RangeError(`--objective: ${objective}`);
const items = readLabelledStream(datasetPath);
const teacher = args.teacher;
if (items[0]?.llm[teacher] === undefined) throw new RangeError(`${datasetPath} has no answers of ${teacher}`);
const seeds = args.seeds.split(',').map(Number);
const budgets = args.budgets.split(',').map(Number);
const K = task.labels.length;
const positive = objective?.kind === 'recall' ? objective.label : task.positiveLabel;
const floor = objective?.kind === 'recall' ? objective.floor : DEFAULT_RECALL_FLOOR;

const { config, logger } = createServiceContext({
  ...(args.config === undefined ? {} : { file: args.config }),
  flags: { logLevel: 'warn', ...(args.encoder === undefined ? {} : { cascade: { sentenceEncoder: args.encoder as CascadeConfig['sentenceEncoder'] } }) },
});
const backend = await selectBackend(config.models.backend, logger);
const encoder = await loadSentenceEncoder(
  config.cascade.sentenceEncoder,
  { cacheItems: items.length, cacheDir: config.models.cacheDir, repositoryUrl: config.models.mavenRepositoryUrl },
  logger,
);
const deepest = config.cascade.stages[config.cascade.stages.length - 1] as string;

/** One item that reached the deepest small stage, with what the scores and the fit need. */
interface Reached {
  index: number;
  features: number[];
  confidence: number;
  pDefer: number;
  pPositive: number;
  disagrees: boolean;
  deferred: boolean;
  teacher: number;
  gold: number;
}

/** The small stages' traces when the item reached the deepest one (undefined when an earlier stage answered). */
function smallTraces(a: Annotation): { last: StageTrace; prev: StageTrace | undefined } | undefined {
  const small = a.stages.filter((t) => t.stage !== 'llm');
  const last = small[small.length - 1];
  return last === undefined || last.stage !== deepest ? undefined : { last, prev: small[small.length - 2] };
}

/** The features of the deepest stage's trace and the one before it, as the annotation carries them. */
function traceFeatures(last: StageTrace, prev: StageTrace | undefined, item: LabelledItem): number[] {
  const c = Math.min(Math.max(last.confidence, 1e-4), 1 - 1e-4);
  const oneHot = Array.from({ length: K }, (_, k) => (k === last.labelId ? 1 : 0));
  const words = item.text.split(/\s+/).filter(Boolean).length;
  return [Math.log((1 - c) / c), c, ...oneHot, prev?.confidence ?? 0, prev === undefined ? 0 : prev.labelId === last.labelId ? 1 : 0, Math.log1p(words) / 5];
}

const metrics = new Map<string, number[]>();
const record = (budget: number, name: string, value: number): void => {
  const key = `${budget}\t${name}`;
  metrics.set(key, [...(metrics.get(key) ?? []), value]);
};

for (const seed of seeds) {
  const stream = sampleStream(items, Number(args.sample), seed);
  const runs = new Map<number, Reached[]>();
  await runCascadeBench({
    dataset: datasetPath,
    taskPath,
    teacher,
    ...(objective === undefined ? {} : { objective }),
    stream,
    sample: Number(args.sample),
    seed,
    budgets,
    strategies: ['learned'],
    config: { ...config, cascade: { ...config.cascade, seed } },
    logger,
    ...(encoder === undefined ? {} : { encoder }),
    onAnnotation: (a, item, index, run) => {
      const answer = item.llm[teacher] ?? -1;
      const traces = smallTraces(a);
      // Unparseable teacher answers judge nothing; items an earlier stage answered are that stage's.
      if (answer < 0 || traces === undefined) return;
      const { last, prev } = traces;
      const features = traceFeatures(last, prev, item);
      const list = runs.get(run.budget) ?? [];
      runs.set(run.budget, list);
      list.push({
        index,
        features,
        confidence: last.confidence,
        pDefer: last.pDefer,
        pPositive: positive === undefined ? 0 : last.labelId === positive ? last.confidence : 1 - last.confidence,
        disagrees: last.labelId !== answer,
        deferred: a.llmCalled,
        teacher: answer,
        gold: item.label,
      });
    },
  });
  for (const [budget, reached] of runs) {
    const half = Math.floor(stream.length / 2);
    const train = reached.filter((r) => r.index < half);
    const test = reached.filter((r) => r.index >= half);
    const dis = test.map((r) => r.disagrees);
    const fitted = fitLogistic(
      train.map((r) => r.features),
      train.map((r) => r.disagrees),
    );
    const scores = {
      confidence: test.map((r) => 1 - r.confidence),
      learned: test.map((r) => r.pDefer),
      hindsight: test.map((r) => fitted(r.features)),
    };
    const k = test.filter((r) => r.deferred).length;
    record(budget, 'items reaching the stage', test.length);
    record(budget, 'deferred to the LLM %', (100 * k) / test.length);
    record(budget, 'stage disagrees with the LLM %', (100 * dis.filter(Boolean).length) / test.length);
    for (const [name, s] of Object.entries(scores)) record(budget, `AUC ${name} ×100`, 100 * rocAuc(s, dis));
    for (const [name, s] of Object.entries(scores)) record(budget, `agreement deferring by ${name} %`, 100 * agreementAfterDeferring(s, dis, k));
    record(budget, 'agreement deferring by an oracle %', 100 * agreementAfterDeferring(dis.map(Number), dis, k));
    record(budget, 'agreement deferring at random %', 100 * (1 - (dis.filter(Boolean).length / test.length) * (1 - k / test.length)));
    if (positive !== undefined && K === 2) {
      const frontier = recallFrontier(
        test.map((r) => r.pPositive),
        test.map((r) => r.gold),
        test.map((r) => r.teacher),
        positive,
        k / test.length,
        floor,
      );
      record(budget, `hindsight best accuracy at ${task.labels[positive]} recall ≥ ${floor} %`, 100 * (frontier.best?.accuracy ?? Number.NaN));
      record(budget, `hindsight highest ${task.labels[positive]} recall %`, 100 * frontier.maxRecall);
    }
  }
  logger.info({ seed }, 'signal run done');
}
encoder?.dispose();

console.log(
  `${task.name}: deferral signals of the deepest small stage (${deepest}) over the second half of each seed's stream, learned strategy, ` +
    `teacher ${teacher}, sample ${args.sample}, seeds ${args.seeds}, horizon unknown, tfjs backend ${backend.name}, mid stage on ${config.cascade.sentenceEncoder} vectors ` +
    `(mean ± 95% t-interval)`,
);
for (const budget of budgets) {
  console.log(`budget ${budget}`);
  for (const [key, values] of metrics) {
    const [b, name] = key.split('\t') as [string, string];
    if (Number(b) !== budget) continue;
    const m = meanInterval(values);
    console.log(`  ${name.padEnd(52)} ${m.mean.toFixed(2).padStart(8)} ± ${m.halfWidth.toFixed(2)}`);
  }
}
