/**
 * `npm run bench:ceiling`: how well can the small stages agree with the LLM at all, given
 * as many labels as a budget buys? The in-stream figure (`stageAgree2nd%` of `spillway bench`) is what the
 * cascade gets from the labels its deferral chose: the hard items. This gives the same stages, wired as the
 * service wires them, N labels drawn uniformly from the first half of each seed's stream (the easy items as
 * often as the hard ones), taught through `Cascade.learnFromLabel` `passes` times, then asks every small
 * stage for its answer on the second half, without deferral. Its figures bound what a better deferral
 * policy could get out of these features; they need no LLM and publish nothing.
 *
 *   npm run bench:ceiling [-- --dataset isear --labels 600,1200,all --passes 1,3 --seeds 1,2,3,4,5 --encoder use-lite]
 */
import { parseArgs } from 'node:util';
import { createServiceContext } from '../../src/app/index.js';
import { createCascade, loadSentenceEncoder, loadWordVectors, Rng, selectBackend } from '../../src/cascade/index.js';
import type { CascadeConfig } from '../../src/config.js';
import { loadTask } from '../../src/llm/index.js';
import { datasetFile } from '../harness/index.js';
import { meanInterval } from './confidence-interval.js';
import { readLabelledStream, sampleStream, type LabelledItem } from './labelled-stream.js';

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'isear' },
    teacher: { type: 'string', default: 'gpt-3.5-turbo-1106' },
    labels: { type: 'string', default: '600,1200,all' },
    passes: { type: 'string', default: '1,3' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    sample: { type: 'string', default: '0.5' },
    encoder: { type: 'string' },
  },
});

const dataset = datasetFile(`${args.dataset}.jsonl`);
const task = loadTask(datasetFile(`${args.dataset}.task.json`));
const items = readLabelledStream(dataset);
const seeds = args.seeds.split(',').map(Number);
const passesList = args.passes.split(',').map(Number);
const labelCounts = args.labels.split(',').map((s) => (s === 'all' ? Number.POSITIVE_INFINITY : Number(s)));
const teacher = args.teacher;
if (items[0]?.llm[teacher] === undefined) throw new Error(`${dataset} has no answers of ${teacher}`);

const { config, logger } = createServiceContext({
  flags: { logLevel: 'error', ...(args.encoder === undefined ? {} : { cascade: { sentenceEncoder: args.encoder as CascadeConfig['sentenceEncoder'] } }) },
});
const backend = await selectBackend(config.models.backend, logger);
const vectors = loadWordVectors(100_000, logger) ?? null;
// One encoder for every run, so each text is encoded once.
const encoder = await loadSentenceEncoder(
  config.cascade.sentenceEncoder,
  { cacheItems: items.length, cacheDir: config.models.cacheDir, repositoryUrl: config.models.mavenRepositoryUrl },
  logger,
);

/** Agreement with the teacher of each small stage over the second half, per (labels, passes). */
const results = new Map<string, Map<string, number[]>>();
const record = (key: string, stage: string, value: number): void => {
  const byStage = results.get(key) ?? new Map<string, number[]>();
  results.set(key, byStage);
  byStage.set(stage, [...(byStage.get(stage) ?? []), value]);
};

for (const seed of seeds) {
  const stream = sampleStream(items, Number(args.sample), seed);
  const half = Math.floor(stream.length / 2);
  const pool = stream.slice(0, half).filter((it) => (it.llm[teacher] ?? -1) >= 0); // unparseable answers teach nothing
  const test = stream.slice(half).filter((it) => (it.llm[teacher] ?? -1) >= 0);
  for (const wanted of labelCounts) {
    const labelled = uniformInOrder(pool, Math.min(wanted, pool.length), seed);
    for (const passes of passesList) {
      const cascade = await createCascade({
        config: { ...config, cascade: { ...config.cascade, seed } },
        logger,
        task,
        allowNoLlm: true,
        restore: false,
        vectors,
        ...(encoder === undefined ? {} : { encoder }),
      });
      for (let p = 0; p < passes; p++) for (const it of labelled) await cascade.learnFromLabel(it.text, it.llm[teacher] as number);
      const agreed = new Map<string, number>();
      for (const it of test) {
        for (const answer of await cascade.smallStageAnswers(it.text)) {
          agreed.set(answer.stage, (agreed.get(answer.stage) ?? 0) + (answer.labelId === it.llm[teacher] ? 1 : 0));
        }
      }
      const key = `${labelled.length === pool.length ? 'all' : labelled.length}\t${passes}`;
      for (const [stage, n] of agreed) record(key, stage, n / test.length);
      await cascade.drain();
      cascade.dispose();
      logger.info({ seed, labels: labelled.length, passes }, 'ceiling run done');
    }
  }
}
encoder?.dispose();

const stages = [...new Set([...results.values()].flatMap((m) => [...m.keys()]))];
const encoderName = config.cascade.sentenceEncoder;
console.log(
  `${task.name}: small stages taught N uniform ${teacher} labels from the first half of each seed's stream (sample ${args.sample}, seeds ${args.seeds}), ` +
    `agreement with it over the second half (mean ± 95% t-interval), tfjs backend ${backend.name}, mid stage on ${encoderName} vectors`,
);
console.log(['labels', 'passes', ...stages.map((s) => `${s} agree%`)].map((h) => h.padStart(14)).join(''));
for (const [key, byStage] of results) {
  const cells = stages.map((s) => {
    const m = meanInterval(byStage.get(s) ?? [0]);
    return `${(100 * m.mean).toFixed(2)}±${(100 * m.halfWidth).toFixed(2)}`;
  });
  console.log([...key.split('\t'), ...cells].map((c) => c.padStart(14)).join(''));
}

/** `n` items of `pool` drawn uniformly (seeded), kept in stream order. */
function uniformInOrder(pool: readonly LabelledItem[], n: number, seed: number): LabelledItem[] {
  const rng = new Rng(seed * 7919 + n);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(rng.int(pool.length));
  return pool.filter((_, i) => picked.has(i));
}
